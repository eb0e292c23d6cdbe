import type { Subscription } from './subscription.model';
import { SubscriptionModel } from './subscription.model';
import { setBookkeeping } from './subscription-store';

/**
 * When the renewal job must next look at a subscription (`renewalDueAt`): every change of the subscription
 * re-arms it (a hook on the revision bump unsets it, src/subscriptions/subscription.model.ts), and the job
 * sets it to the next cut-off after each look.
 */

/**
 * Subscriptions whose next box's cut-off has come (or that changed since the last look), a batch at a time,
 * read whole: the job works from these (one read a batch, not one a subscription). One that changes after this
 * read has its revision bumped and its check re-armed, so the job's last write (`armRenewalCheck`) does not
 * apply and the next run looks at it again.
 */
export async function subscriptionsDueForRenewal(now: Date, batchSize: number): Promise<Subscription[]> {
  return SubscriptionModel.find({ $or: [{ renewalDueAt: { $lte: now } }, { renewalDueAt: null }] })
    .limit(batchSize)
    .lean();
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
