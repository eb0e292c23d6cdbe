import type { Fact } from '../events/fact.model';
import type { FactType } from '../events/fact-types';
import { merchantProfile } from '../merchants/merchant.queries';
import { addLocalDays, localDateOf } from '../shared/calendar';
import { changesBetween, contribute, MAX_REV_ATTEMPTS, updateAtRev, writePending, type Contributions } from './pending-buckets';
import { applyUpdate, BucketBatch, defined, StateBatch, type FoldedProjection } from './rebuild-batch.service';
import { upsertOnce } from './upsert-once';
import {
  CohortBucketModel,
  RetentionBucketModel,
  RetentionSubscriptionModel,
  SaveBucketModel,
  type BucketChange,
  type PendingBucketChanges,
  type RetentionSubscription,
} from './retention.model';

/**
 * The retention projections (docs/analytics.md, "Cohorts, LTV, why they leave, dunning"), kept from facts:
 * per subscription, what it paid per local month, when it ended and when it was saved
 * (analytics_retention_subscriptions); per local day, currency and plan, cancellations by reason, save offers
 * and dunning outcomes (analytics_retention_daily); per cohort, plan and month of activity, subscribers, paying,
 * revenue, boxes and cancellations (analytics_retention_cohorts); per month of save and plan, the saves and those
 * cancelled within SAVED_DAYS, by day (analytics_retention_saves). The reports read the last three, as many
 * documents as months and plans, never one per subscription.
 *
 * Each write is one single-document update guarded on the fact's id. The day's bucket is written first and the
 * subscription next, with the cohort and save changes the fact makes in `pending`; those buckets last (a crash
 * anywhere is finished by the retry: see `applyFactToRetention`). The cohort and save changes are the difference
 * between the subscription's contribution (`contributionsOf`) after and before the fact, so the order in which a
 * box's and its subscription's facts are followed does not matter either: a box paid before the first one
 * known moves the subscription to the earlier cohort. A subscription's own facts come in their order.
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

/** A saved subscriber is still active if not cancelled this many days after the save. */
export const SAVED_DAYS = 90;
/** The cohort buckets' plan for subscriptions whose creation was never followed (in no plan's report). */
const NO_PLAN = '';

type Held = Omit<RetentionSubscription, 'factIds'>;

/** A subscription's cohort: the local month of its first paid box (none: not in a cohort). */
function cohortOf(s: Pick<RetentionSubscription, 'paid'>): string | undefined {
  return Object.keys(s.paid ?? {})
    .filter((m) => (s.paid[m]?.boxes ?? 0) > 0)
    .sort()[0];
}

/**
 * What a subscription, as its document is, adds to the cohort and save buckets (src/analytics/retention.model.ts):
 * a pure function of the document, so that a fact changes the buckets by the difference between the
 * subscription's contribution after it and before it. A box paid in an earlier month than its first one moves
 * the whole contribution (size, every month's revenue, the cancellation) to the earlier cohort; a swap moves
 * its save to the new plan; a cancellation adds to the month it happened and, within SAVED_DAYS of the save,
 * to the save day's `cancelledWithin`.
 */
function contributionsOf(s: Held | undefined): Contributions<BucketChange['kind']> {
  const out: Contributions<BucketChange['kind']> = new Map();
  if (!s?.currency) return out;
  const { merchantId, currency } = s;
  const add = (kind: BucketChange['kind'], _id: string, fields: Record<string, string>, path: string, amount: number): void =>
    contribute(out, kind, _id, fields, path, amount);
  const cohort = cohortOf(s);
  if (cohort) {
    const planId = s.firstPlanId ?? NO_PLAN;
    const inMonth = (month: string, path: string, amount: number): void =>
      add('cohort', `${merchantId}:${currency}:${cohort}:${planId}:${month}`, { merchantId, currency, cohort, planId, month }, path, amount);
    inMonth(cohort, 'subscribers', 1);
    for (const [month, p] of Object.entries(s.paid ?? {})) {
      inMonth(month, 'paying', (p?.boxes ?? 0) > 0 ? 1 : 0);
      inMonth(month, 'revenueMinor', p?.revenueMinor ?? 0);
      inMonth(month, 'boxes', p?.boxes ?? 0);
    }
    if (s.cancelledOn) inMonth(s.cancelledOn.slice(0, 7), 'cancelled', 1);
  }
  if (s.savedOn && s.planId) {
    const month = s.savedOn.slice(0, 7);
    const day = s.savedOn.slice(8, 10);
    const fields = { merchantId, currency, planId: s.planId, month };
    const _id = `${merchantId}:${currency}:${s.planId}:${month}`;
    add('save', _id, fields, `days.${day}.saved`, 1);
    if (s.cancelledOn && s.cancelledOn <= addLocalDays(s.savedOn, SAVED_DAYS)) add('save', _id, fields, `days.${day}.cancelledWithin`, 1);
  }
  return out;
}

/**
 * The rules: what one fact adds to its day's bucket, the update it makes to its subscription's document
 * (without the fact's id, which the caller pushes), the document after it, and what it changes in the cohort
 * and save buckets, given the subscription before it. Undefined when it changes nothing. Both the listener
 * and the rebuild apply facts through this.
 */
function foldRetentionFact(
  fact: Fact,
  subscriptionId: string,
  day: string,
  before: Held | undefined,
):
  | { bucket?: { currency: string; planId: string; inc: Record<string, number> }; update: Record<string, unknown>; after: Held; changes: BucketChange[] }
  | undefined {
  const rule = ruleOf(fact, day, before);
  if (!rule) return undefined;
  // Every applied fact counts in `rev`, which the listener's update is conditional on; the merchant on insert.
  const inc = { ...((rule.update.$inc as Record<string, number> | undefined) ?? {}), rev: 1 };
  const update = { ...rule.update, $inc: inc, $setOnInsert: { merchantId: fact.merchantId, ...((rule.update.$setOnInsert as object) ?? {}) } };
  // As the database applies it: `paid` and `pending` by the schema's defaults when the document is new.
  const after = applyUpdate<Held>(before ?? { _id: subscriptionId, merchantId: fact.merchantId, paid: {}, pending: [] }, update, before === undefined);
  return { ...rule, update, after, changes: changesBetween(contributionsOf(before), contributionsOf(after)) };
}

/** What one fact adds to its day's bucket and the update it makes to its subscription's document. */
function ruleOf(
  fact: Fact,
  day: string,
  before: Held | undefined,
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

/** The model of a cohort's or a save's bucket. */
const bucketsOf = (kind: BucketChange['kind']) => (kind === 'cohort' ? CohortBucketModel : SaveBucketModel);

/**
 * Applies one fact to the retention projections, once. The cohort and save buckets change by the difference
 * between the subscription's contribution before and after the fact, so the subscription's update must be the
 * one the difference was computed from: it is conditional on the document's `rev` (a box's payment and a
 * subscription fact of one subscription can be followed at once; the one that finds the document changed reads
 * it again), and carries the bucket changes in `pending`, in the same single-document update. The changes are
 * then written (each bucket guarded on the fact's id) and pulled; a worker that dies in between leaves them in
 * `pending`, and the fact's retry, finding the fact applied, writes them. The day's bucket is written first, as
 * before (its counts do not depend on what a concurrent box payment changes).
 */
export async function applyFactToRetention(fact: Fact): Promise<void> {
  if (!(RETENTION_FACTS as readonly string[]).includes(fact.type)) return;
  const subscriptionId = subscriptionOf(fact);
  if (!subscriptionId) return;
  const merchant = await merchantProfile(fact.merchantId);
  const day = localDateOf(fact.at, merchant?.timezone ?? 'UTC');
  for (let attempt = 0; attempt < MAX_REV_ATTEMPTS; attempt += 1) {
    const before = (await RetentionSubscriptionModel.findById(subscriptionId).lean()) ?? undefined;
    if (before?.factIds.includes(fact._id)) return writePending(RetentionSubscriptionModel, subscriptionId, before.pending ?? [], bucketsOf);
    const folded = foldRetentionFact(fact, subscriptionId, day, before);
    if (!folded) return;
    if (folded.bucket) await addToBucket(fact, day, folded.bucket.currency, folded.bucket.planId, folded.bucket.inc);
    const entry: PendingBucketChanges | undefined = folded.changes.length > 0 ? { factId: fact._id, changes: folded.changes } : undefined;
    const update = { ...folded.update, $push: { factIds: fact._id, ...(entry ? { pending: entry } : {}) } };
    if (!(await updateAtRev(RetentionSubscriptionModel, subscriptionId, before?.rev, update, { factIds: { $ne: fact._id } }))) continue;
    if (entry) await writePending(RetentionSubscriptionModel, subscriptionId, [entry], bucketsOf);
    return;
  }
  throw new Error(`analytics: the retention document of ${subscriptionId} kept changing while ${fact._id} was applied`);
}

const OPTIONAL_FIELDS = ['currency', 'firstPlanId', 'planId', 'cancelledOn', 'cancelledAt', 'savedAt', 'savedOn', 'lastFailedAttempt'] as const;

/** The retention projections of one store, folded in memory by a rebuild and written in bulk. */
export function retentionRebuild(merchantId: string, timezone: string): FoldedProjection {
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
  const cohorts = new BucketBatch(CohortBucketModel);
  const saves = new BucketBatch(SaveBucketModel);
  return {
    load: (facts) => states.load(facts.map(subscriptionOf).filter((id): id is string => id !== undefined)),
    apply(fact) {
      const subscriptionId = subscriptionOf(fact);
      if (!subscriptionId) return Promise.resolve();
      const day = localDateOf(fact.at, timezone);
      const before = states.get(subscriptionId);
      const folded = foldRetentionFact(fact, subscriptionId, day, before);
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
      for (const change of folded.changes)
        (change.kind === 'cohort' ? cohorts : saves).add(change._id, change.fields, Object.fromEntries(change.inc), fact._id);
      states.set(folded.after, fact._id);
      return Promise.resolve();
    },
    flush: () => Promise.all([buckets.flush(), cohorts.flush(), saves.flush(), states.flush()]),
  };
}

/** Drops a store's retention projections (before a replay). */
export async function dropRetentionProjections(merchantId: string): Promise<void> {
  await RetentionSubscriptionModel.deleteMany({ merchantId });
  await RetentionBucketModel.deleteMany({ merchantId });
  await CohortBucketModel.deleteMany({ merchantId });
  await SaveBucketModel.deleteMany({ merchantId });
}
