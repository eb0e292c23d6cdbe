import mongoose from 'mongoose';
import { FACT_TYPES, type FactType } from '../events/fact-types';
import { importHistoricalFacts } from '../events/relay.service';
import type { Clock } from '../shared/time';
import { SubscriptionModel } from './subscription.model';

/** Names the history collection used before facts for what is now a fact of the subscription. */
const LEGACY_TYPES: Record<string, FactType> = {
  'subscription.canceled': 'subscription.cancelled',
  'subscription.status_changed': 'subscription.status_synced',
};

/**
 * Brings stored subscriptions to today's shape, at start, before anything is served. Idempotent; several
 * processes may run it at once.
 * - The status `canceled` (Stripe's spelling, used before 2026-12) is `cancelled`, our one spelling.
 * - A subscription made before domain facts has its history in `subscription_events`: those become its
 *   first facts (already followed: no listener runs for them), and it counts them, so its next fact follows
 *   them. Entries about its boxes (`subscription.box_paid`, `subscription.cancelled_box_charged`) are left
 *   out: a box's facts are its own, and its order keeps its status history.
 */
export async function migrateStoredSubscriptions(clock: Clock): Promise<void> {
  await SubscriptionModel.collection.updateMany({ status: 'canceled' }, { $set: { status: 'cancelled' } });
  const db = mongoose.connection.db;
  if (!db) return;
  const legacy = db.collection<{ subscriptionId: string; revision: number; type: string; at: Date; data: Record<string, unknown> }>('subscription_events');
  // A whole-collection read at each start (allowed, with its reason, in test/helpers/query-shape-recorder.ts):
  // an index on `factCount` would serve this migration alone. Each subscription it finds reads its history by
  // `{ subscriptionId, revision }`, made here on the legacy collection before the first read.
  const cursor = SubscriptionModel.collection.find({ factCount: { $exists: false } }, { projection: { _id: 1, merchantId: 1, customerId: 1 } });
  let legacyIndexed = false;
  for await (const subscription of cursor) {
    const id = subscription._id as unknown as string;
    if (!legacyIndexed) {
      await legacy.createIndex({ subscriptionId: 1, revision: 1 });
      legacyIndexed = true;
    }
    const history = await legacy.find({ subscriptionId: id }).sort({ revision: 1 }).toArray();
    const facts = history
      .map((entry) => ({ type: LEGACY_TYPES[entry.type] ?? entry.type, at: entry.at, data: entry.data ?? {} }))
      .filter((entry): entry is { type: FactType; at: Date; data: Record<string, unknown> } => (FACT_TYPES as readonly string[]).includes(entry.type));
    await importHistoricalFacts(
      {
        subjectType: 'subscription',
        subjectId: id,
        merchantId: subscription.merchantId as string,
        customerId: subscription.customerId as string,
        subscriptionId: id,
      },
      facts,
      clock.now(),
    );
    await SubscriptionModel.collection.updateOne({ _id: subscription._id, factCount: { $exists: false } }, { $set: { factCount: facts.length, outbox: [] } });
  }
}
