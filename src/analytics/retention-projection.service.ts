import type { Fact } from '../events/fact.model';
import type { FactType } from '../events/fact-types';
import { merchantProfile } from '../merchants/merchant.queries';
import { localDateOf } from '../shared/calendar';
import { upsertOnce } from './upsert-once';
import { RetentionBucketModel, RetentionSubscriptionModel, type RetentionSubscription } from './retention.model';

/**
 * The retention projections (docs/analytics.md, "Cohorts, LTV, why they leave, dunning"), kept from facts:
 * per subscription, what it paid per local month, when it ended and when it was saved
 * (analytics_retention_subscriptions); per local day, currency and plan, cancellations by reason, save offers
 * and dunning outcomes (analytics_retention_daily). Each write is one single-document update guarded on the
 * fact's id, the day's bucket first and the subscription last (a crash in between is finished by the retry).
 * A box's payment only adds to its month, so the order in which a box's and its subscription's facts are
 * followed does not matter; a subscription's own facts come in their order.
 */
export const RETENTION_FACTS = [
  'subscription.created',
  'subscription.swapped',
  'subscription.cadence_changed',
  'subscription.cancelled',
  'subscription.save_offer_shown',
  'subscription.save_offer_accepted',
  'subscription.skipped',
  'subscription.paused',
  'subscription.payment_failed',
  'subscription.recovered',
  'subscription.dunning_ended',
  'box.paid',
] as const satisfies readonly FactType[];

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** A reason code as a field name: the merchant's codes are lower_snake_case; anything else is `other`. */
export function reasonKey(reason: unknown): string {
  return typeof reason === 'string' && /^[a-z][a-z0-9_]{0,40}$/.test(reason) ? reason : 'other';
}

/** Adds a fact's counts to one day's bucket, once (guarded on the fact's absence, like the MRR buckets). */
async function addToBucket(fact: Fact, day: string, currency: string, planId: string, inc: Record<string, number>): Promise<void> {
  const _id = `${fact.merchantId}:${day}:${currency}:${planId}`;
  await upsertOnce(() =>
    RetentionBucketModel.updateOne(
      { _id, factIds: { $ne: fact._id } },
      { $inc: inc, $push: { factIds: fact._id }, $setOnInsert: { merchantId: fact.merchantId, day, month: day.slice(0, 7), currency, planId } },
      { upsert: true },
    ),
  );
}

/** Applies an update to the subscription's document, once per fact. */
async function updateSubscription(fact: Fact, subscriptionId: string, update: Record<string, unknown>): Promise<void> {
  const push = { factIds: fact._id };
  const withFact = { ...update, $push: push, $setOnInsert: { merchantId: fact.merchantId, ...((update.$setOnInsert as object) ?? {}) } };
  await upsertOnce(() => RetentionSubscriptionModel.updateOne({ _id: subscriptionId, factIds: { $ne: fact._id } }, withFact, { upsert: true }));
}

/** The bucket counts a subscription fact adds, and what it changes on the subscription. */
function effectOf(fact: Fact, before: RetentionSubscription): { inc: Record<string, number>; update: Record<string, unknown> } | undefined {
  const data = fact.data;
  switch (fact.type) {
    case 'subscription.swapped': {
      const planId = str((data.to as Record<string, unknown> | undefined)?.planId);
      return planId ? { inc: {}, update: { $set: { planId } } } : undefined;
    }
    case 'subscription.cadence_changed': {
      const planId = str(data.planId);
      return planId ? { inc: {}, update: { $set: { planId } } } : undefined;
    }
    case 'subscription.cancelled': {
      // An abandoned Checkout (never a subscriber) is not someone leaving.
      if (data.from === 'incomplete' || before.cancelledOn) return undefined;
      const involuntary = data.involuntary === true;
      return {
        inc: {
          'cancellations.total': 1,
          [involuntary ? 'cancellations.involuntary' : 'cancellations.voluntary']: 1,
          [`reasons.${reasonKey(data.reason)}`]: 1,
        },
        update: {},
      };
    }
    case 'subscription.save_offer_shown':
      return { inc: { 'saveOffers.shown': 1 }, update: {} };
    case 'subscription.save_offer_accepted':
      return { inc: { 'saveOffers.accepted': 1 }, update: {} };
    case 'subscription.skipped':
    case 'subscription.paused':
      // A skip or a pause taken as a save offer is an offer accepted; any other is not about leaving.
      return typeof data.saveOffer === 'string' ? { inc: { 'saveOffers.accepted': 1 }, update: {} } : undefined;
    case 'subscription.payment_failed': {
      const attempt = positiveInt(data.attempt);
      const inc: Record<string, number> = { 'dunning.failedAttempts': 1 };
      if (data.startsDunning === true) inc['dunning.started'] = 1;
      // A retry of an older invoice failing again is not the dunning in progress.
      return { inc, update: attempt && data.olderInvoice !== true ? { $set: { lastFailedAttempt: attempt } } : {} };
    }
    case 'subscription.recovered': {
      const attempt = positiveInt(data.attempts) ?? before.lastFailedAttempt;
      return {
        inc: { 'dunning.recovered': 1, [`recoveredByAttempt.${attempt ?? 'unknown'}`]: 1 },
        update: { $unset: { lastFailedAttempt: 1 } },
      };
    }
    case 'subscription.dunning_ended':
      return { inc: { 'dunning.endedUnpaid': 1 }, update: { $unset: { lastFailedAttempt: 1 } } };
    default:
      return undefined;
  }
}

/** Applies one fact to the retention projections, once. */
export async function applyFactToRetention(fact: Fact): Promise<void> {
  if (!(RETENTION_FACTS as readonly string[]).includes(fact.type)) return;
  const subscriptionId = fact.subjectType === 'subscription' ? fact.subjectId : fact.subscriptionId;
  if (!subscriptionId) return;
  const merchant = await merchantProfile(fact.merchantId);
  const day = localDateOf(fact.at, merchant?.timezone ?? 'UTC');
  const month = day.slice(0, 7);

  if (fact.type === 'box.paid') {
    const amount = typeof fact.data.amountPaidMinor === 'number' && Number.isSafeInteger(fact.data.amountPaidMinor) ? fact.data.amountPaidMinor : 0;
    const currency = str(fact.data.currency);
    await updateSubscription(fact, subscriptionId, {
      $inc: { [`paid.${month}.boxes`]: 1, [`paid.${month}.revenueMinor`]: amount },
      ...(currency ? { $setOnInsert: { currency } } : {}),
    });
    return;
  }
  if (fact.type === 'subscription.created') {
    const planId = str(fact.data.planId);
    await updateSubscription(fact, subscriptionId, {
      $set: { ...(str(fact.data.currency) ? { currency: str(fact.data.currency) } : {}), ...(planId ? { planId, firstPlanId: planId } : {}) },
    });
    return;
  }

  const before = await RetentionSubscriptionModel.findById(subscriptionId).lean();
  // A subscription whose creation was never followed (made before facts existed) is not counted.
  if (!before?.currency || !before.planId || before.factIds.includes(fact._id)) return;
  const effect = effectOf(fact, before);
  if (!effect) return;
  if (Object.keys(effect.inc).length > 0) await addToBucket(fact, day, before.currency, before.planId, effect.inc);
  const update = { ...effect.update };
  if (fact.type === 'subscription.cancelled') update.$set = { cancelledOn: day, cancelledAt: fact.at };
  // The first save counts: $min keeps the earliest whatever the order.
  if (fact.type !== 'subscription.save_offer_shown' && effect.inc['saveOffers.accepted']) update.$min = { savedAt: fact.at, savedOn: day };
  await updateSubscription(fact, subscriptionId, update);
}

/** Drops a store's retention projections (before a replay). */
export async function dropRetentionProjections(merchantId: string): Promise<void> {
  await RetentionSubscriptionModel.deleteMany({ merchantId });
  await RetentionBucketModel.deleteMany({ merchantId });
}
