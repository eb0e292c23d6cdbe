import { fact, recordFacts, type PendingFact } from '../events/fact-source';
import type { FactType } from '../events/fact-types';
import { ConflictError, NotFoundError } from '../shared/errors';
import { actorOf, type SubscriptionSyncDeps } from './subscription-deps';
import { SubscriptionModel, type Subscription } from './subscription.model';

/**
 * The only writer of subscription documents. Every change is a single-document update guarded by the revision
 * read (a concurrent change makes it fail rather than be overwritten), bumps the revision (which re-arms the
 * renewal check), and records its fact in the same write.
 */

type Update = {
  $set?: Record<string, unknown>;
  $unset?: Record<string, 1>;
  $addToSet?: Record<string, unknown>;
  $pull?: Record<string, unknown>;
  $push?: Record<string, unknown>;
};

export async function findSubscription(merchantId: string, subscriptionId: string): Promise<Subscription> {
  const subscription = await SubscriptionModel.findOne({ _id: subscriptionId, merchantId }).lean();
  if (!subscription) throw new NotFoundError('No subscription with this id.');
  return subscription;
}

export function subscriptionFact(deps: SubscriptionSyncDeps, type: FactType, data: Record<string, unknown> = {}): PendingFact {
  return fact(type, actorOf(deps), deps.clock.now(), data);
}

/**
 * Writes a change if the subscription is still at the revision read, with its facts; null when it moved on.
 * `extra` adds filter conditions (a status the change requires). Stripe is due a push after every change.
 */
export async function writeIfUnchanged(
  deps: SubscriptionSyncDeps,
  subscription: Pick<Subscription, '_id' | 'merchantId' | 'revision'>,
  update: Update,
  facts: PendingFact[],
  options: { extra?: Record<string, unknown>; pushToStripe?: boolean } = {},
): Promise<Subscription | null> {
  const now = deps.clock.now();
  return SubscriptionModel.findOneAndUpdate(
    { _id: subscription._id, merchantId: subscription.merchantId, revision: subscription.revision, ...(options.extra ?? {}) },
    recordFacts(
      {
        ...update,
        $set: { ...(update.$set ?? {}), updatedAt: now, ...(options.pushToStripe === false ? {} : { stripeSyncDueAt: now }) },
        $inc: { revision: 1 },
      },
      ...facts,
    ),
    { returnDocument: 'after', lean: true },
  );
}

/** A change asked for by a person: a concurrent change makes it a 409 for them to retry. */
export async function applyChange(
  deps: SubscriptionSyncDeps,
  subscription: Subscription,
  update: Update,
  type: FactType,
  data: Record<string, unknown>,
): Promise<Subscription> {
  const result = await writeIfUnchanged(deps, subscription, update, [subscriptionFact(deps, type, data)]);
  if (!result) throw new ConflictError('The subscription was changed by another request meanwhile. Read it again and retry.');
  return result;
}

/**
 * A change driven by Stripe or a job: read, decide, write; when the subscription moved on meanwhile, read
 * again and decide again (a few times). `decide` returns null when nothing is to change.
 */
export async function changeWithRetry(
  deps: SubscriptionSyncDeps,
  subscriptionId: string,
  decide: (current: Subscription) => { update: Update; facts: PendingFact[]; pushToStripe?: boolean } | null,
): Promise<Subscription | null> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const current = await SubscriptionModel.findById(subscriptionId).lean();
    if (!current) return null;
    const change = decide(current);
    if (!change) return current;
    const updated = await writeIfUnchanged(
      deps,
      current,
      change.update,
      change.facts,
      change.pushToStripe === undefined ? {} : { pushToStripe: change.pushToStripe },
    );
    if (updated) return updated;
  }
  throw new Error(`subscription ${subscriptionId} kept changing; retrying later`);
}

/** Bookkeeping that is not a change of the subscription (no revision, no fact): Stripe sync state, the renewal check. */
export async function setBookkeeping(
  subscription: Pick<Subscription, '_id' | 'revision'>,
  set: Record<string, unknown>,
  unset: Record<string, 1> = {},
): Promise<void> {
  await SubscriptionModel.updateOne(
    { _id: subscription._id, revision: subscription.revision },
    { $set: set, ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}) },
  );
}
