import type { CommandStartedEvent, CommandSucceededEvent } from 'mongodb';
import mongoose from 'mongoose';
import { ANALYTICS_FACTS, applyFactToAnalytics } from '../../src/analytics/analytics-projection.service';
import { MetricBucketModel, SubscriptionMrrModel } from '../../src/analytics/analytics.model';
import { BoxKpiBucketModel, BoxKpiOrderModel, FirstBoxModel, FirstBoxWaitsModel } from '../../src/analytics/box-kpis.model';
import { applyFactToBoxKpis, BOX_KPI_FACTS } from '../../src/analytics/box-kpis.service';
import { applyFactToRetention, RETENTION_FACTS } from '../../src/analytics/retention-projection.service';
import { CohortBucketModel, RetentionBucketModel, RetentionSubscriptionModel, SaveBucketModel } from '../../src/analytics/retention.model';
import { factsInOrder } from '../../src/events/fact-replay';

/** Every analytics projection's model (what a rebuild drops and writes), typed alike: each is only read and dropped by merchant. */
const PROJECTIONS: Record<string, typeof SubscriptionMrrModel> = {
  subscriptions: SubscriptionMrrModel,
  daily: MetricBucketModel,
  retentionSubscriptions: RetentionSubscriptionModel,
  retentionDaily: RetentionBucketModel,
  retentionCohorts: CohortBucketModel,
  retentionSaves: SaveBucketModel,
  boxDaily: BoxKpiBucketModel,
  boxOrders: BoxKpiOrderModel,
  firstBoxes: FirstBoxModel,
  firstBoxWaits: FirstBoxWaitsModel,
} as unknown as Record<string, typeof SubscriptionMrrModel>;

/**
 * A store's analytics documents, every projection's, comparable with `toEqual`: sorted by `_id`, and each
 * `factIds` sorted (a fact is listed once whatever the order it was applied in).
 */
export async function projectionDocuments(merchantId: string): Promise<Record<string, unknown[]>> {
  const documents: Record<string, unknown[]> = {};
  for (const [name, model] of Object.entries(PROJECTIONS)) {
    const docs = (await model.find({ merchantId }).lean()) as unknown as Array<Record<string, unknown> & { _id: string }>;
    documents[name] = docs
      .sort((a, b) => a._id.localeCompare(b._id))
      .map((doc) => (Array.isArray(doc.factIds) ? { ...doc, factIds: [...(doc.factIds as string[])].sort() } : doc));
  }
  return documents;
}

/** Drops a store's analytics and follows its facts again, one at a time in their order, through the listeners' own updates. */
export async function projectThroughListeners(merchantId: string): Promise<void> {
  for (const model of Object.values(PROJECTIONS)) await model.deleteMany({ merchantId });
  const types = [...new Set([...ANALYTICS_FACTS, ...RETENTION_FACTS, ...BOX_KPI_FACTS])];
  for await (const fact of factsInOrder(merchantId, types)) {
    await applyFactToAnalytics(fact);
    await applyFactToRetention(fact);
    await applyFactToBoxKpis(fact);
  }
}

/** The reads (`find`, `aggregate`) sent to each collection while `run` runs, as `collection: count` (the test database's client monitors commands). */
export async function readsWhile(run: () => Promise<unknown>): Promise<Record<string, number>> {
  const reads: Record<string, number> = {};
  const client = mongoose.connection.getClient();
  const count = (event: CommandStartedEvent): void => {
    for (const name of ['find', 'aggregate'])
      if (typeof event.command[name] === 'string') {
        const collection = event.command[name];
        reads[collection] = (reads[collection] ?? 0) + 1;
      }
  };
  client.on('commandStarted', count);
  try {
    await run();
  } finally {
    client.off('commandStarted', count);
  }
  return reads;
}

/**
 * The documents the reads (`find`, `aggregate`, and their `getMore`s) sent while `run` runs brought back, as
 * `collection: count`: what a report reads, not how many commands it took.
 */
export async function documentsReadWhile(run: () => Promise<unknown>): Promise<Record<string, number>> {
  const documents: Record<string, number> = {};
  const collectionOf = new Map<number, string>();
  const client = mongoose.connection.getClient();
  const started = (event: CommandStartedEvent): void => {
    for (const name of ['find', 'aggregate']) if (typeof event.command[name] === 'string') collectionOf.set(event.requestId, event.command[name]);
    if (event.commandName === 'getMore' && typeof event.command.collection === 'string') collectionOf.set(event.requestId, event.command.collection);
  };
  const succeeded = (event: CommandSucceededEvent): void => {
    const collection = collectionOf.get(event.requestId);
    const cursor = (event.reply as { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] } }).cursor;
    if (collection === undefined || !cursor) return;
    documents[collection] = (documents[collection] ?? 0) + (cursor.firstBatch ?? cursor.nextBatch ?? []).length;
  };
  client.on('commandStarted', started);
  client.on('commandSucceeded', succeeded);
  try {
    await run();
  } finally {
    client.off('commandStarted', started);
    client.off('commandSucceeded', succeeded);
  }
  return documents;
}
