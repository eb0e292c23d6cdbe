import type { Subscription } from './subscription.model';
import { SubscriptionModel } from './subscription.model';
import { setBookkeeping } from './subscription-store';

/**
 * When the renewal job must next look at a subscription (`renewalDueAt`): every change of the subscription
 * re-arms it (a hook on the revision bump unsets it, src/subscriptions/subscription.model.ts), and the job
 * sets it to the next cut-off after each look.
 */

/** Subscriptions whose next box's cut-off has come (or that changed since the last look), a batch at a time. */
export async function subscriptionsDueForRenewal(now: Date, batchSize: number): Promise<string[]> {
  const due = await SubscriptionModel.find({ $or: [{ renewalDueAt: { $lte: now } }, { renewalDueAt: null }] }, { _id: 1 })
    .limit(batchSize)
    .lean();
  return due.map((s) => s._id);
}

export async function findForRenewal(subscriptionId: string): Promise<Subscription | null> {
  return SubscriptionModel.findById(subscriptionId).lean();
}

/** The next look at this subscription, unless it changed since it was read (then the next run looks again). */
export async function armRenewalCheck(subscription: Pick<Subscription, '_id' | 'revision'>, dueAt: Date): Promise<void> {
  await setBookkeeping(subscription, { renewalDueAt: dueAt });
}

/** A look that failed: the next one comes after `dueAt`, whatever the revision. */
export async function retryRenewalCheckAt(subscriptionId: string, dueAt: Date): Promise<void> {
  await SubscriptionModel.updateOne({ _id: subscriptionId }, { $set: { renewalDueAt: dueAt } });
}
