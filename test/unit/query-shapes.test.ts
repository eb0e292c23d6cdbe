import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/local/project-paths';
import { allowanceFor, ALLOWED_SHAPES, originOf } from '../helpers/query-shape-recorder';
import { mergeRecords } from '../helpers/query-shape-report';
import { declaredIndexes, shapeKey, shapesOfCommand, verdictFor, type DeclaredIndex } from '../helpers/query-shapes';

const indexes = (...specs: Array<[Record<string, 1 | -1>, Record<string, unknown>?]>): DeclaredIndex[] =>
  declaredIndexes(specs.map(([fields, options]) => [fields, options ?? {}]));

const keyOf = (command: Record<string, unknown>): string[] => shapesOfCommand(command).map(shapeKey);

describe('query shapes', () => {
  it('when a find is recorded, then its fields keep their operators and lose their values, and the driver’s Map sort is kept in order', () => {
    const command = {
      find: 'orders',
      filter: {
        merchantId: 'mer_1',
        status: { $in: ['paid', 'packed'] },
        paidAt: { $gt: new Date(0), $lte: new Date(1) },
        stripeInvoiceId: { $exists: false },
        cancelledAt: { $ne: null },
        tag: { $in: ['only'] },
      },
      sort: new Map<string, 1 | -1>([
        ['createdAt', -1],
        ['_id', -1],
      ]),
    };
    expect(keyOf(command)).toEqual([
      'orders find {cancelledAt:ne, merchantId:eq, paidAt:range, status:in, stripeInvoiceId:missing, tag:eq} sort {createdAt:-1, _id:-1}',
    ]);
  });

  it('when a filter nests $and, $or and $elemMatch, then $and merges, each $or keeps its branches and $elemMatch names the subfields', () => {
    const command = {
      update: 'stock_items',
      updates: [
        { q: { $and: [{ merchantId: 'm' }, { sku: 'a' }], holds: { $elemMatch: { id: 'h', qty: { $gte: 1 } } } }, u: { $set: { x: 1 } } },
        { q: { _id: 'x', $or: [{ claimedAt: { $exists: false } }, { claimedAt: { $lt: new Date(0) } }] }, u: { $set: { y: 1 } } },
      ],
    };
    expect(keyOf(command)).toEqual([
      'stock_items update {holds.id:eq, holds.qty:range, merchantId:eq, sku:eq}',
      'stock_items update {_id:eq} or[{claimedAt:missing} | {claimedAt:range}]',
    ]);
  });

  it('when an aggregate is recorded, then its leading $match and the $sort after it are the shape, and each $lookup reads its own collection', () => {
    const command = {
      aggregate: 'orders',
      pipeline: [
        { $match: { merchantId: 'm' } },
        { $match: { status: 'paid' } },
        { $sort: { paidAt: -1 } },
        { $lookup: { from: 'customers', localField: 'customerId', foreignField: '_id', as: 'customer' } },
        { $group: { _id: '$customerId' } },
      ],
    };
    expect(keyOf(command)).toEqual(['orders aggregate {merchantId:eq, status:eq} sort {paidAt:-1}', 'customers aggregate {_id:eq}']);
  });

  it('when a command only writes new documents or reads more of a cursor, then it has no shape', () => {
    expect(keyOf({ insert: 'orders', documents: [{ _id: 'o' }] })).toEqual([]);
    expect(keyOf({ getMore: 1, collection: 'orders' })).toEqual([]);
  });
});

describe('whether a declared index serves a shape', () => {
  const shape = (command: Record<string, unknown>) => shapesOfCommand(command)[0]!;

  it('when no index starts with a field the filter bounds, then the shape is not served (a full scan)', () => {
    const verdict = verdictFor(shape({ find: 'plans', filter: { 'stripe.state': 'pending' } }), indexes([{ merchantId: 1, slug: 1 }]));
    expect(verdict).toEqual({ served: false, reason: expect.stringContaining('reads the whole collection') });
  });

  it('when the filter bounds only part of an index on a collection that grows with shoppers, then the scan is not confined', () => {
    const declared = indexes([{ merchantId: 1, createdAt: -1 }]);
    expect(verdictFor(shape({ find: 'orders', filter: { merchantId: 'm', planId: 'p' } }), declared).reason).toMatch(/^not confined/);
    // The same query on a catalog-sized collection reads one store's few documents: served.
    expect(verdictFor(shape({ find: 'plans', filter: { merchantId: 'm', status: 'active' } }), declared).served).toBe(true);
  });

  it('when the prefix names one subject or pins one document, then the rest of the filter and an in-memory sort are fine', () => {
    const declared = indexes([{ subscriptionId: 1, cycleKey: 1 }, { unique: true }]);
    const bySubscription = shape({ find: 'orders', filter: { merchantId: 'm', subscriptionId: 's', status: { $in: ['paid'] } }, sort: { createdAt: -1 } });
    expect(verdictFor(bySubscription, declared)).toEqual({ served: true, reason: 'prefix [subscriptionId] of orders.subscriptionId_1_cycleKey_1' });
  });

  it('when the index bounds the filter but does not give the sort, then the matches are sorted in memory: not served', () => {
    const sorted = shape({
      find: 'orders',
      filter: { merchantId: 'm' },
      sort: new Map([
        ['createdAt', -1],
        ['_id', -1],
      ]),
    });
    expect(verdictFor(sorted, indexes([{ merchantId: 1, createdAt: -1 }])).reason).toMatch(/^sorted in memory/);
    expect(verdictFor(sorted, indexes([{ merchantId: 1, createdAt: -1, _id: -1 }])).served).toBe(true);
    // Read backwards, the same index gives the reverse order.
    expect(
      verdictFor(shape({ find: 'orders', filter: { merchantId: 'm' }, sort: { createdAt: 1, _id: 1 } }), indexes([{ merchantId: 1, createdAt: -1, _id: -1 }]))
        .served,
    ).toBe(true);
  });

  it('when an $in before the sort names a few values, then the index scans each and merges them in order (SORT_MERGE); a range there does not', () => {
    const declared = indexes([{ merchantId: 1, status: 1, createdAt: -1, _id: -1 }]);
    const sort = new Map([
      ['createdAt', 1],
      ['_id', 1],
    ]);
    expect(verdictFor(shape({ find: 'subscriptions', filter: { merchantId: 'm', status: { $in: ['active', 'paused'] } }, sort }), declared).served).toBe(true);
    expect(verdictFor(shape({ find: 'subscriptions', filter: { merchantId: 'm', status: { $gte: 'active' } }, sort }), declared).reason).toMatch(
      /^sorted in memory/,
    );
  });

  it('when equalities, a range and the sort follow an index in order, then it is served; a range outside the prefix is not', () => {
    const declared = indexes([{ state: 1, nextAttemptAt: 1 }]);
    expect(
      verdictFor(shape({ find: 'events', filter: { state: 'failed', nextAttemptAt: { $lte: new Date(0) } }, sort: { nextAttemptAt: 1 } }), declared).served,
    ).toBe(true);
    expect(verdictFor(shape({ update: 'events', updates: [{ q: { state: 'processing', claimedAt: { $lt: new Date(0) } }, u: {} }] }), declared).served).toBe(
      false,
    );
  });

  it('when the only bounded fields are in $or branches, then it is served when every branch is', () => {
    const command = {
      find: 'webhook_events',
      filter: {
        $or: [
          { state: 'pending', receivedAt: { $lte: new Date(0) } },
          { state: 'failed', nextAttemptAt: { $lte: new Date(0) } },
        ],
      },
    };
    expect(verdictFor(shape(command), indexes([{ state: 1, nextAttemptAt: 1 }])).served).toBe(false);
    expect(verdictFor(shape(command), indexes([{ state: 1, nextAttemptAt: 1 }], [{ state: 1, receivedAt: 1 }])).served).toBe(true);
  });

  it('when a count has no filter, then it reads metadata; a find with no filter reads everything', () => {
    expect(verdictFor(shape({ count: 'orders' }), indexes()).served).toBe(true);
    expect(verdictFor(shape({ find: 'orders', filter: {} }), indexes()).served).toBe(false);
  });

  it('when a sparse index is the only one on a field tested for being missing, then it cannot serve that test', () => {
    const filter = { find: 'merchants', filter: { handle: { $exists: false } } };
    expect(verdictFor(shape(filter), indexes([{ handle: 1 }, { unique: true, sparse: true }])).served).toBe(false);
    expect(verdictFor(shape(filter), indexes([{ handle: 1 }])).served).toBe(true);
  });
});

describe('the recorder', () => {
  it('when an allowed shape is sent by the file it is allowed for, then it passes; the same shape from another file, or another shape, does not', () => {
    const key = 'subscriptions find {factCount:missing}';
    const from = 'src/subscriptions/subscription-migrations.service.ts';
    expect(allowanceFor({ key, origins: [`${from}:28`] })?.reason).toMatch(/migration/);
    expect(allowanceFor({ key, origins: [`${from}:28`, 'src/subscriptions/subscription.service.ts:10'] })).toBeUndefined();
    expect(allowanceFor({ key: 'subscriptions find {factCount:eq}', origins: [`${from}:28`] })).toBeUndefined();
    // Every allowance names a real file and says why.
    for (const allowance of ALLOWED_SHAPES) {
      expect(existsSync(path.join(projectRoot, allowance.from))).toBe(true);
      expect(allowance.reason.length).toBeGreaterThan(20);
    }
  });

  it('when a stack is read, then the innermost frame of this project outside node_modules is the origin', () => {
    const stack = [
      'Error',
      `    at MongoClient.emit (${path.join(projectRoot, 'node_modules/mongodb/lib/x.js')}:1:1)`,
      `    at async listOrders (${path.join(projectRoot, 'src/orders/order.service.ts')}:98:18)`,
      `    at async Object.<anonymous> (${path.join(projectRoot, 'test/integration/x.test.ts')}:5:3)`,
    ].join('\n');
    expect(originOf(stack)).toEqual({ file: path.join('src', 'orders', 'order.service.ts'), line: '98' });
  });

  it('when several test files recorded the same shape, then the run counts it once with every origin and is judged with the declared indexes', () => {
    const shape = shapesOfCommand({ find: 'orders', filter: { merchantId: 'm', planId: 'p' } })[0]!;
    const record = (origin: string) => ({
      testFile: 'x',
      shapes: [{ key: shapeKey(shape), shape, count: 2, origins: [origin], sample: '' }],
      excluded: { 'sent by test code': 1 },
      documents: {},
      indexes: { orders: indexes([{ merchantId: 1, planId: 1 }]) },
    });
    const report = mergeRecords([record('src/a.ts:1'), record('src/b.ts:2')]);
    expect(report.shapes).toEqual([expect.objectContaining({ count: 4, origins: ['src/a.ts:1', 'src/b.ts:2'], served: true })]);
    expect(report.excluded).toEqual({ 'sent by test code': 2 });
  });
});
