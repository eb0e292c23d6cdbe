import { applyStripeSubscriptionEvent } from './subscription-stripe-events.service';
import { SubscriptionModel } from './subscription.model';
import type { SubscriptionSyncDeps } from './subscription.service';

/**
 * The subscriptions.reconcile-with-stripe job: compares each live subscription with Stripe's current state
 * (a throttled read each) and applies what Stripe says as if an event had said it now: a cancellation or a
 * payment status we missed. Applying the same truth twice changes nothing. Walks the subscriptions in id
 * order, a batch per run, and starts over when it reaches the end. Returns how many it compared.
 */
export async function reconcileSubscriptionsWithStripe(deps: SubscriptionSyncDeps, options: { afterId?: string; batchSize?: number } = {}) {
  const batch = await SubscriptionModel.find(
    { status: { $in: ['trialing', 'active', 'past_due', 'paused'] }, 'stripe.subscriptionId': { $exists: true }, ...(options.afterId ? { _id: { $gt: options.afterId } } : {}) },
    { _id: 1, status: 1, stripe: 1 },
  )
    .sort({ _id: 1 })
    .limit(options.batchSize ?? 200)
    .lean();
  let changed = 0;
  for (const subscription of batch) {
    const truth = await deps.stripe.retrieveSubscription(subscription.stripe.subscriptionId!);
    const before = subscription.status;
    await applyStripeSubscriptionEvent(deps, deps.clock.now(), { id: truth.id, status: truth.status });
    const after = await SubscriptionModel.findById(subscription._id, { status: 1 }).lean();
    if (after && after.status !== before) changed += 1;
  }
  return { compared: batch.length, changed, lastId: batch.at(-1)?._id };
}
