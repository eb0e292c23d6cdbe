import { actors } from '../events/fact-types';
import type { SubscriptionSyncDeps } from './subscription-deps';
import { applyStripeSubscriptionEvent } from './subscription-payments.service';
import { LIVE_STATUSES } from './subscription-states';
import { SubscriptionModel } from './subscription.model';

/**
 * The subscriptions.reconcile-with-stripe job: compares each live subscription with Stripe's current state
 * (a throttled read each) and applies what Stripe says as if an event had said it at the read: a cancellation
 * or a payment status we missed. Applying the same truth twice changes nothing. One batch in id order after
 * `afterId`; the job walks every batch. Returns how many it compared and changed, and where to go on.
 */
export async function reconcileSubscriptionsWithStripe(base: SubscriptionSyncDeps, options: { afterId?: string; batchSize?: number } = {}) {
  const deps = { ...base, actor: actors.job('subscriptions.reconcile-with-stripe') };
  const batch = await SubscriptionModel.find(
    { status: { $in: LIVE_STATUSES }, 'stripe.subscriptionId': { $exists: true }, ...(options.afterId ? { _id: { $gt: options.afterId } } : {}) },
    { _id: 1, status: 1, stripe: 1 },
  )
    .sort({ _id: 1 })
    .limit(options.batchSize ?? 200)
    .lean();
  let changed = 0;
  for (const subscription of batch) {
    try {
      const readAt = deps.clock.now();
      const truth = await deps.stripe.retrieveSubscription(subscription.stripe.subscriptionId!);
      await applyStripeSubscriptionEvent(deps, readAt, { id: truth.id, status: truth.status });
      const after = await SubscriptionModel.findById(subscription._id, { status: 1 }).lean();
      if (after && after.status !== subscription.status) changed += 1;
    } catch (error) {
      // One subscription Stripe cannot show (or that changed meanwhile) does not stop the others: the next run tries it again.
      deps.logger.warn({ err: error, subscriptionId: subscription._id }, 'subscription not reconciled with Stripe');
    }
  }
  return { compared: batch.length, changed, lastId: batch.at(-1)?._id };
}
