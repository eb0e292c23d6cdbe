/**
 * What this product relies on from its database, checked against whichever server the run uses
 * (LOCAL_DB / MONGODB_URI). The README's "Database" section records the results for each candidate.
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda } from 'agenda';
import { MongoClient, type Db } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../helpers/test-env';

jest.setTimeout(60_000);

let client: MongoClient;
let db: Db;
const dbName = uniqueDbName('compat');

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUri());
  db = client.db(dbName);
});

afterAll(async () => {
  await db.dropDatabase().catch(() => undefined);
  await client.close();
});

describe('database compatibility', () => {
  test('when documents are inserted, read, updated and deleted, then each step is visible', async () => {
    const things = db.collection<{ _id: string; name: string; qty: number }>('crud');
    await things.insertMany([
      { _id: 'a', name: 'coffee', qty: 1 },
      { _id: 'b', name: 'tea', qty: 2 },
    ]);
    expect(await things.findOne({ _id: 'a' })).toEqual({ _id: 'a', name: 'coffee', qty: 1 });
    expect(await things.countDocuments({ qty: { $gte: 2 } })).toBe(1);

    const updated = await things.updateOne({ _id: 'a', qty: 1 }, { $set: { name: 'espresso' }, $inc: { qty: 4 } });
    expect(updated.matchedCount).toBe(1);
    const missed = await things.updateOne({ _id: 'a', qty: 1 }, { $set: { name: 'never' } });
    expect(missed.matchedCount).toBe(0);
    expect(await things.findOne({ _id: 'a' })).toEqual({ _id: 'a', name: 'espresso', qty: 5 });

    const after = await things.findOneAndUpdate({ _id: 'b' }, { $inc: { qty: 1 } }, { returnDocument: 'after' });
    expect(after?.qty).toBe(3);

    expect((await things.deleteOne({ _id: 'b' })).deletedCount).toBe(1);
    expect(await things.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 'a', name: 'espresso', qty: 5 }]);
  });

  test('when a compound unique index exists, then a duplicate insert fails with E11000 and a different key passes', async () => {
    const orders = db.collection('orders_unique');
    await orders.createIndex({ subscriptionId: 1, cycleKey: 1 }, { unique: true });
    await orders.insertOne({ subscriptionId: 's1', cycleKey: '2026-01' });
    await orders.insertOne({ subscriptionId: 's1', cycleKey: '2026-02' });
    await orders.insertOne({ subscriptionId: 's2', cycleKey: '2026-01' });
    await expect(orders.insertOne({ subscriptionId: 's1', cycleKey: '2026-01' })).rejects.toMatchObject({ code: 11000 });
    expect(await orders.countDocuments()).toBe(3);
  });

  test('when an upsert uses $setOnInsert, then the first call inserts and the second changes nothing', async () => {
    const ledger = db.collection('ledger_upsert');
    const first = await ledger.updateOne(
      { sourceType: 'invoice', sourceId: 'in_1' },
      { $setOnInsert: { points: 120, createdAt: new Date('2026-01-01T00:00:00Z') } },
      { upsert: true },
    );
    expect(first.upsertedCount).toBe(1);
    const second = await ledger.updateOne(
      { sourceType: 'invoice', sourceId: 'in_1' },
      { $setOnInsert: { points: 999, createdAt: new Date('2027-01-01T00:00:00Z') } },
      { upsert: true },
    );
    expect(second.upsertedCount).toBe(0);
    expect(second.modifiedCount).toBe(0);
    const doc = await ledger.findOne({ sourceType: 'invoice', sourceId: 'in_1' }, { projection: { _id: 0 } });
    expect(doc).toEqual({ sourceType: 'invoice', sourceId: 'in_1', points: 120, createdAt: new Date('2026-01-01T00:00:00Z') });
  });

  test('when 200 guarded decrements race on a stock of 50, then exactly 50 succeed and 0 remain', async () => {
    const stock = db.collection<{ _id: string; remaining: number }>('stock_race');
    await stock.insertOne({ _id: 'gift', remaining: 50 });
    const results = await Promise.all(Array.from({ length: 200 }, () => stock.updateOne({ _id: 'gift', remaining: { $gte: 1 } }, { $inc: { remaining: -1 } })));
    expect(results.filter((result) => result.modifiedCount === 1)).toHaveLength(50);
    expect((await stock.findOne({ _id: 'gift' }))?.remaining).toBe(0);
  });

  test('when 200 upserts of one natural key race, then exactly one document exists', async () => {
    const gifts = db.collection('gift_grants_race');
    await gifts.createIndex({ campaignId: 1, subscriptionId: 1, cycleKey: 1 }, { unique: true });
    const settled = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        gifts.updateOne({ campaignId: 'c1', subscriptionId: 's1', cycleKey: '2026-03' }, { $setOnInsert: { attempt: i } }, { upsert: true }),
      ),
    );
    // A racing upsert may lose with E11000 (MongoDB retries some of these itself); never with anything else.
    for (const outcome of settled) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 11000 });
    }
    expect(await gifts.countDocuments({ campaignId: 'c1', subscriptionId: 's1', cycleKey: '2026-03' })).toBe(1);
  });

  describe('aggregation stages the product uses', () => {
    beforeAll(async () => {
      await db.collection('agg_orders').insertMany([
        {
          _id: 'o1' as never,
          merchantId: 'm1',
          customerId: 'c1',
          planId: 'p1',
          status: 'paid',
          totalMinor: 2400,
          lines: [
            { sku: 'A', qty: 2 },
            { sku: 'B', qty: 1 },
          ],
        },
        { _id: 'o2' as never, merchantId: 'm1', customerId: 'c1', planId: 'p1', status: 'paid', totalMinor: 2600, lines: [{ sku: 'A', qty: 1 }] },
        { _id: 'o3' as never, merchantId: 'm1', customerId: 'c2', planId: 'p2', status: 'paid', totalMinor: 3900, lines: [{ sku: 'C', qty: 1 }] },
        { _id: 'o4' as never, merchantId: 'm1', customerId: 'c2', planId: 'p2', status: 'held', totalMinor: 3900, lines: [{ sku: 'C', qty: 1 }] },
        { _id: 'o5' as never, merchantId: 'm2', customerId: 'c9', planId: 'p9', status: 'paid', totalMinor: 100, lines: [{ sku: 'Z', qty: 9 }] },
      ]);
      await db.collection('agg_customers').insertMany([
        { _id: 'c1' as never, merchantId: 'm1', email: 'ana@example.com' },
        { _id: 'c2' as never, merchantId: 'm1', email: 'bo@example.com' },
      ]);
    });

    test('when spend is grouped per customer ($match, $group with $sum/$avg/$max/$push, $sort, $limit), then totals are exact', async () => {
      const rows = await db
        .collection('agg_orders')
        .aggregate([
          { $match: { merchantId: 'm1', status: 'paid' } },
          {
            $group: {
              _id: '$customerId',
              spendMinor: { $sum: '$totalMinor' },
              boxes: { $sum: 1 },
              avgMinor: { $avg: '$totalMinor' },
              maxMinor: { $max: '$totalMinor' },
              orders: { $push: '$_id' },
            },
          },
          { $sort: { spendMinor: -1 } },
          { $limit: 5 },
        ])
        .toArray();
      expect(rows).toEqual([
        { _id: 'c1', spendMinor: 5000, boxes: 2, avgMinor: 2500, maxMinor: 2600, orders: ['o1', 'o2'] },
        { _id: 'c2', spendMinor: 3900, boxes: 1, avgMinor: 3900, maxMinor: 3900, orders: ['o3'] },
      ]);
    });

    test('when a pick list is built ($unwind, $group by SKU, $project, $addFields), then SKU totals are exact', async () => {
      const rows = await db
        .collection('agg_orders')
        .aggregate([
          { $match: { merchantId: 'm1', status: 'paid' } },
          { $unwind: '$lines' },
          { $group: { _id: '$lines.sku', quantity: { $sum: '$lines.qty' } } },
          { $addFields: { sku: '$_id' } },
          { $project: { _id: 0, sku: 1, quantity: 1 } },
          { $sort: { sku: 1 } },
        ])
        .toArray();
      expect(rows).toEqual([
        { sku: 'A', quantity: 3 },
        { sku: 'B', quantity: 1 },
        { sku: 'C', quantity: 1 },
      ]);
    });

    test('when orders are joined to customers ($lookup), then each order carries its customer', async () => {
      const rows = await db
        .collection('agg_orders')
        .aggregate([
          { $match: { merchantId: 'm1', status: 'paid' } },
          { $lookup: { from: 'agg_customers', localField: 'customerId', foreignField: '_id', as: 'customer' } },
          { $unwind: '$customer' },
          { $project: { _id: 1, email: '$customer.email' } },
          { $sort: { _id: 1 } },
        ])
        .toArray();
      expect(rows).toEqual([
        { _id: 'o1', email: 'ana@example.com' },
        { _id: 'o2', email: 'ana@example.com' },
        { _id: 'o3', email: 'bo@example.com' },
      ]);
    });

    test('when a list page needs items and a total at once ($facet, $count, $skip), then both come back', async () => {
      const [row] = await db
        .collection('agg_orders')
        .aggregate([
          { $match: { merchantId: 'm1' } },
          { $sort: { _id: 1 } },
          { $facet: { items: [{ $skip: 1 }, { $limit: 2 }, { $project: { _id: 1 } }], total: [{ $count: 'count' }] } },
        ])
        .toArray();
      expect(row).toEqual({ items: [{ _id: 'o2' }, { _id: 'o3' }], total: [{ count: 4 }] });
    });
  });

  test('when two Agenda instances process 100 jobs, then every job runs exactly once', async () => {
    const clients = await Promise.all([MongoClient.connect(testMongoUri()), MongoClient.connect(testMongoUri())]);
    // `workers` names who ran each job, so a failure shows which instances ran it twice.
    const runs = db.collection<{ _id: string; count: number; workers: string[] }>('agenda_runs');
    const agendas = clients.map(
      (c, i) =>
        new Agenda({
          name: `compat-${i}`,
          backend: new MongoBackend({ mongo: c.db(dbName), collection: 'compat_jobs' }),
          processEvery: 50,
          maxConcurrency: 10,
          defaultConcurrency: 10,
          lockLimit: 10,
          defaultLockLifetime: 2_000, // short: Agenda keeps a timer of half this after stop()
        }),
    );
    try {
      agendas.forEach((agenda, i) =>
        agenda.define<{ key: string }>('compat.count', async (job) => {
          await runs.updateOne({ _id: job.attrs.data.key }, { $inc: { count: 1 }, $push: { workers: `w${i}` } }, { upsert: true });
        }),
      );
      await Promise.all(agendas.map((agenda) => agenda.ready));
      for (let i = 0; i < 100; i += 1) await agendas[i % 2]!.now('compat.count', { key: `job-${i}` });
      await Promise.all(agendas.map((agenda) => agenda.start()));

      const deadline = Date.now() + 45_000;
      while ((await runs.countDocuments()) < 100 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Give a duplicate run, if the server let one happen, the time to show itself.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const all = await runs.find().toArray();
      expect(all).toHaveLength(100);
      expect(all.filter((run) => run.count !== 1).map((run) => run._id)).toEqual([]);
    } finally {
      await Promise.all(agendas.map((agenda) => agenda.stop(false)));
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
