import { BSON } from 'mongodb';

/**
 * The pure half of `npm run bench:explain`: what a real MongoDB's `explain()` says about one recorded query
 * shape, and the copies of a stored document that make a collection scan show in the figures.
 */

export interface PlanSummary {
  /** The stages of the winning plan, from the root down (`FETCH`, `IXSCAN`…). */
  stages: string[];
  /** The indexes the winning plan reads. */
  indexes: string[];
  keysExamined: number | undefined;
  docsExamined: number | undefined;
  returned: number | undefined;
  verdict: 'index' | 'index, sorts in memory' | 'collection scan' | 'no plan';
}

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The first object in an explain document that has a query planner's answer (a find's is at the top; an aggregation's may sit in `stages[0].$cursor`). */
function plannerOf(explain: unknown): Node | undefined {
  if (!isNode(explain)) return undefined;
  if (isNode(explain.queryPlanner)) return explain;
  for (const value of Object.values(explain)) {
    const children = Array.isArray(value) ? value : [value];
    for (const child of children) {
      const found = plannerOf(child);
      if (found) return found;
    }
  }
  return undefined;
}

function walk(node: unknown, visit: (node: Node) => void): void {
  if (!isNode(node)) return;
  visit(node);
  walk(node.inputStage, visit);
  if (Array.isArray(node.inputStages)) for (const child of node.inputStages) walk(child, visit);
  // A $lookup or an OR's branches keep their children under other names in some versions.
  walk(node.outerStage, visit);
  walk(node.innerStage, visit);
}

const numberOf = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** Reads MongoDB 6–8's `explain` output at `executionStats` verbosity, classic or slot-based (`queryPlan`). */
export function summarisePlan(explain: unknown): PlanSummary {
  const found = plannerOf(explain);
  const planner = found && isNode(found.queryPlanner) ? found.queryPlanner : undefined;
  const winning = planner && isNode(planner.winningPlan) ? planner.winningPlan : undefined;
  const root = winning && isNode(winning.queryPlan) ? winning.queryPlan : winning;
  const stages: string[] = [];
  const indexes: string[] = [];
  walk(root, (node) => {
    if (typeof node.stage === 'string') stages.push(node.stage);
    if (typeof node.indexName === 'string' && !indexes.includes(node.indexName)) indexes.push(node.indexName);
  });
  const stats = found && isNode(found.executionStats) ? found.executionStats : undefined;
  let verdict: PlanSummary['verdict'] = 'no plan';
  if (stages.includes('COLLSCAN')) verdict = 'collection scan';
  else if (stages.length > 0) verdict = stages.includes('SORT') ? 'index, sorts in memory' : 'index';
  return {
    stages,
    indexes,
    keysExamined: numberOf(stats?.totalKeysExamined),
    docsExamined: numberOf(stats?.totalDocsExamined),
    returned: numberOf(stats?.nReturned),
    verdict,
  };
}

/**
 * `count` copies of a stored document (Extended JSON) that belong to other stores: a new `_id` and, where it
 * has one, another `merchantId`. A query scoped by the sample's store matches none of them, so an index
 * examines none while a collection scan examines them all. Copies that still collide with a unique index
 * are refused by the database and left out.
 */
export function noiseCopies(sample: string, count: number): Record<string, unknown>[] {
  const copies: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i += 1) {
    const doc = BSON.EJSON.parse(sample, { relaxed: false }) as Record<string, unknown>;
    const id = doc._id;
    doc._id = typeof id === 'string' ? `${id}~noise${i}` : new BSON.ObjectId();
    if (typeof doc.merchantId === 'string') doc.merchantId = `mer_noise${String(i).padStart(15, '0')}`;
    copies.push(doc);
  }
  return copies;
}
