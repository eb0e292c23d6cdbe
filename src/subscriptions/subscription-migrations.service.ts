import { SubscriptionModel } from './subscription.model';

/**
 * Brings stored subscriptions to today's shape, at start, before anything is served. Idempotent; several
 * processes may run it at once.
 * - The status `canceled` (Stripe's spelling, used before 2026-12) is `cancelled`, our one spelling.
 */
export async function migrateStoredSubscriptions(): Promise<void> {
  await SubscriptionModel.collection.updateMany({ status: 'canceled' }, { $set: { status: 'cancelled' } });
}
