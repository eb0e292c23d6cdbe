import type { Fact } from '../events/fact.model';
import type { FactType } from '../events/fact-types';
import { merchantProfile } from '../merchants/merchant.queries';
import { localDateOf } from '../shared/calendar';
import { applyUpdate, BucketBatch, defined, StateBatch, type FoldedProjection } from './rebuild-batch.service';
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
function effectOf(fact: Fact, before: Omit<RetentionSubscription, 'factIds'>): { inc: Record<string, number>; update: Record<string, unknown> } | undefined {
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

/** The subject a retention fact is about: its subscription (a box's payment names it). */
function subscriptionOf(fact: Fact): string | undefined {
  return fact.subjectType === 'subscription' ? fact.subjectId : fact.subscriptionId;
}

/**
 * The rules: what one fact adds to its day's bucket and the update it makes to its subscription's document
 * (without the fact's id, which the caller pushes), given the subscription before it. Undefined when it
 * changes nothing. Both the listener and the rebuild apply facts through this.
 */
function foldRetentionFact(
  fact: Fact,
  day: string,
  before: Omit<RetentionSubscription, 'factIds'> | undefined,
): { bucket?: { currency: string; planId: string; inc: Record<string, number> }; update: Record<string, unknown> } | undefined {
  const month = day.slice(0, 7);
  if (fact.type === 'box.paid') {
    const amount = typeof fact.data.amountPaidMinor === 'number' && Number.isSafeInteger(fact.data.amountPaidMinor) ? fact.data.amountPaidMinor : 0;
    const currency = str(fact.data.currency);
    return { update: { $inc: { [`paid.${month}.boxes`]: 1, [`paid.${month}.revenueMinor`]: amount }, ...(currency ? { $setOnInsert: { currency } } : {}) } };
  }
  if (fact.type === 'subscription.created') {
    const planId = str(fact.data.planId);
    return {
      update: { $set: { ...(str(fact.data.currency) ? { currency: str(fact.data.currency) } : {}), ...(planId ? { planId, firstPlanId: planId } : {}) } },
    };
  }
  // A subscription whose creation was never followed (made before facts existed) is not counted.
  if (!before?.currency || !before.planId) return undefined;
  const effect = effectOf(fact, before);
  if (!effect) return undefined;
  const update = { ...effect.update };
  if (fact.type === 'subscription.cancelled') update.$set = { cancelledOn: day, cancelledAt: fact.at };
  // The first save counts: $min keeps the earliest whatever the order.
  if (fact.type !== 'subscription.save_offer_shown' && effect.inc['saveOffers.accepted']) update.$min = { savedAt: fact.at, savedOn: day };
  return { ...(Object.keys(effect.inc).length > 0 ? { bucket: { currency: before.currency, planId: before.planId, inc: effect.inc } } : {}), update };
}

/** Applies one fact to the retention projections, once. */
export async function applyFactToRetention(fact: Fact): Promise<void> {
  if (!(RETENTION_FACTS as readonly string[]).includes(fact.type)) return;
  const subscriptionId = subscriptionOf(fact);
  if (!subscriptionId) return;
  const merchant = await merchantProfile(fact.merchantId);
  const day = localDateOf(fact.at, merchant?.timezone ?? 'UTC');
  let before: RetentionSubscription | undefined;
  if (fact.type !== 'box.paid' && fact.type !== 'subscription.created') {
    before = (await RetentionSubscriptionModel.findById(subscriptionId).lean()) ?? undefined;
    if (before?.factIds.includes(fact._id)) return;
  }
  const folded = foldRetentionFact(fact, day, before);
  if (!folded) return;
  if (folded.bucket) await addToBucket(fact, day, folded.bucket.currency, folded.bucket.planId, folded.bucket.inc);
  await updateSubscription(fact, subscriptionId, folded.update);
}

const OPTIONAL_FIELDS = ['currency', 'firstPlanId', 'planId', 'cancelledOn', 'cancelledAt', 'savedAt', 'savedOn', 'lastFailedAttempt'] as const;

/** The retention projections of one store, folded in memory by a rebuild and written in bulk. */
export function retentionRebuild(merchantId: string, timezone: string): FoldedProjection {
  type Held = Omit<RetentionSubscription, 'factIds'>;
  const states = new StateBatch<Held>(RetentionSubscriptionModel, (state, newFactIds) => {
    const { _id, ...fields } = state;
    const absent = OPTIONAL_FIELDS.filter((f) => fields[f] === undefined);
    return {
      updateOne: {
        filter: { _id },
        update: {
          $set: defined(fields),
          ...(absent.length > 0 ? { $unset: Object.fromEntries(absent.map((f) => [f, 1])) } : {}),
          $push: { factIds: { $each: newFactIds } },
        },
        upsert: true,
      },
    };
  });
  const buckets = new BucketBatch(RetentionBucketModel);
  return {
    load: (facts) => states.load(facts.map(subscriptionOf).filter((id): id is string => id !== undefined)),
    apply(fact) {
      const subscriptionId = subscriptionOf(fact);
      if (!subscriptionId) return Promise.resolve();
      const day = localDateOf(fact.at, timezone);
      const before = states.get(subscriptionId);
      const folded = foldRetentionFact(fact, day, before);
      if (!folded) return Promise.resolve();
      const { bucket } = folded;
      if (bucket) {
        buckets.add(
          `${merchantId}:${day}:${bucket.currency}:${bucket.planId}`,
          { merchantId, day, month: day.slice(0, 7), currency: bucket.currency, planId: bucket.planId },
          bucket.inc,
          fact._id,
        );
      }
      // As updateSubscription writes it: the merchant on insert, and `paid` by the schema's default.
      const update = { ...folded.update, $setOnInsert: { merchantId, ...((folded.update.$setOnInsert as object) ?? {}) } };
      states.set(applyUpdate<Held>(before ?? { _id: subscriptionId, merchantId, paid: {} }, update, before === undefined), fact._id);
      return Promise.resolve();
    },
    flush: () => Promise.all([buckets.flush(), states.flush()]),
  };
}

/** Drops a store's retention projections (before a replay). */
export async function dropRetentionProjections(merchantId: string): Promise<void> {
  await RetentionSubscriptionModel.deleteMany({ merchantId });
  await RetentionBucketModel.deleteMany({ merchantId });
}
