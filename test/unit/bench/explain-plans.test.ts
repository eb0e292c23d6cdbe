import { BSON } from 'mongodb';
import { noiseCopies, summarisePlan } from '../../../bench/explain-plans';

// Shapes of MongoDB 7's `explain` output at executionStats verbosity (trimmed to what is read).
const classicIndexed = {
  explainVersion: '1',
  queryPlanner: {
    namespace: 'boxcycle.orders',
    winningPlan: { stage: 'FETCH', inputStage: { stage: 'IXSCAN', keyPattern: { merchantId: 1, shipOn: 1 }, indexName: 'merchantId_1_shipOn_1' } },
    rejectedPlans: [],
  },
  executionStats: { executionSuccess: true, nReturned: 3, totalKeysExamined: 3, totalDocsExamined: 3 },
  ok: 1,
};

const slotBasedWithSort = {
  explainVersion: '2',
  queryPlanner: {
    winningPlan: {
      queryPlan: { stage: 'SORT', inputStage: { stage: 'FETCH', inputStage: { stage: 'IXSCAN', indexName: 'merchantId_1_status_1' } } },
      slotBasedPlan: { slots: '…', stages: '…' },
    },
  },
  executionStats: { nReturned: 10, totalKeysExamined: 40, totalDocsExamined: 40 },
};

const aggregationScan = {
  explainVersion: '1',
  stages: [
    {
      $cursor: {
        queryPlanner: { winningPlan: { stage: 'PROJECTION_SIMPLE', inputStage: { stage: 'COLLSCAN', direction: 'forward' } } },
        executionStats: { nReturned: 1, totalKeysExamined: 0, totalDocsExamined: 1001 },
      },
    },
    { $group: { _id: '$status', n: { $sum: { $const: 1 } } } },
  ],
};

describe('summarisePlan', () => {
  test('when a find is served by an index, then its stages, index and examined counts are read and the verdict is "index"', () => {
    expect(summarisePlan(classicIndexed)).toEqual({
      stages: ['FETCH', 'IXSCAN'],
      indexes: ['merchantId_1_shipOn_1'],
      keysExamined: 3,
      docsExamined: 3,
      returned: 3,
      verdict: 'index',
    });
  });

  test('when the slot-based engine answers with a SORT stage above the index, then the plan is read from queryPlan and the sort in memory is named', () => {
    const plan = summarisePlan(slotBasedWithSort);
    expect(plan.stages).toEqual(['SORT', 'FETCH', 'IXSCAN']);
    expect(plan.verdict).toBe('index, sorts in memory');
  });

  test('when an aggregation scans the collection, then the plan is found under its $cursor stage and called a collection scan', () => {
    expect(summarisePlan(aggregationScan)).toMatchObject({ stages: ['PROJECTION_SIMPLE', 'COLLSCAN'], docsExamined: 1001, verdict: 'collection scan' });
  });

  test('when an OR has branches, then every branch is walked', () => {
    const or = {
      queryPlanner: {
        winningPlan: { stage: 'SUBPLAN', inputStage: { stage: 'OR', inputStages: [{ stage: 'IXSCAN', indexName: 'a_1' }, { stage: 'COLLSCAN' }] } },
      },
    };
    expect(summarisePlan(or)).toMatchObject({ indexes: ['a_1'], verdict: 'collection scan' });
  });

  test('when the answer has no query planner, then there is no plan', () => {
    expect(summarisePlan({ ok: 1 })).toMatchObject({ stages: [], verdict: 'no plan', docsExamined: undefined });
  });
});

describe('noiseCopies', () => {
  test("when a store's document is copied, then each copy has its own id and another store, and the rest is kept", () => {
    const sample = BSON.EJSON.stringify({ _id: 'ord_1', merchantId: 'mer_a', shipOn: '2031-01-05', at: new Date('2031-01-01T00:00:00Z') }, { relaxed: false });
    const copies = noiseCopies(sample, 2);
    expect(copies.map((c) => c._id)).toEqual(['ord_1~noise0', 'ord_1~noise1']);
    expect(new Set(copies.map((c) => c.merchantId)).size).toBe(2);
    expect(copies.every((c) => c.merchantId !== 'mer_a' && c.shipOn === '2031-01-05' && c.at instanceof Date)).toBe(true);
  });

  test('when the id is an ObjectId and there is no store, then each copy gets a new ObjectId', () => {
    const id = new BSON.ObjectId();
    const copies = noiseCopies(BSON.EJSON.stringify({ _id: id, name: 'x' }, { relaxed: false }), 2);
    expect(copies.every((c) => c._id instanceof BSON.ObjectId && !c._id.equals(id))).toBe(true);
    expect(copies[0]!.merchantId).toBeUndefined();
  });
});
