import { model, Schema } from 'mongoose';
import type { BucketChange as AnyBucketChange, PendingBucketChanges as AnyPendingBucketChanges } from './pending-buckets';

/**
 * The retention projections (cohorts, LTV, reasons for leaving, save offers, dunning), kept by the retention
 * listener from facts and written only by src/analytics/. Every update is a single-document update guarded on
 * the fact's absence from `factIds`, so a replayed or retried fact changes nothing, whatever the workers.
 */

/** What one subscription paid in one local month. */
export interface PaidMonth {
  boxes: number;
  revenueMinor: number;
}

/** One subscription, as the retention metrics need it. */
export interface RetentionSubscription {
  _id: string;
  merchantId: string;
  /** From `subscription.created` (a box's payment sets it too, when it is followed first). */
  currency?: string;
  /** The plan it was created with (cohorts are filtered by it) and the plan it is on now (monthly buckets). */
  firstPlanId?: string;
  planId?: string;
  /** Per local month `YYYY-MM`: boxes paid and what was paid. Its first month is the subscription's cohort. */
  paid: Record<string, PaidMonth>;
  cancelledOn?: string;
  cancelledAt?: Date;
  /** The first save offer accepted. */
  savedAt?: Date;
  savedOn?: string;
  /** Stripe's attempt count of the last failed payment of the dunning in progress. */
  lastFailedAttempt?: number;
  /** How many facts changed it: a listener's update is conditional on the count it read (see `pending`). */
  rev?: number;
  /**
   * The changes to the cohort and save buckets of facts applied here whose buckets may not be written yet:
   * pushed with the fact's update, pulled once written (src/analytics/retention-projection.service.ts).
   */
  pending: PendingBucketChanges[];
  factIds: string[];
}

/** What one fact changes in one cohort or save bucket (src/analytics/pending-buckets.ts). */
export type BucketChange = AnyBucketChange<'cohort' | 'save'>;
export type PendingBucketChanges = AnyPendingBucketChanges<'cohort' | 'save'>;

const RetentionSubscriptionSchema = new Schema<RetentionSubscription>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    currency: { type: String },
    firstPlanId: { type: String },
    planId: { type: String },
    paid: { type: Schema.Types.Mixed, default: {} },
    cancelledOn: { type: String },
    cancelledAt: { type: Date },
    savedAt: { type: Date },
    savedOn: { type: String },
    lastFailedAttempt: { type: Number },
    rev: { type: Number },
    pending: { type: Schema.Types.Mixed, default: () => [] },
    factIds: { type: [String], default: [] },
  },
  { collection: 'analytics_retention_subscriptions', versionKey: false, minimize: false },
);
RetentionSubscriptionSchema.index({ merchantId: 1, currency: 1 });
// A report for one plan: cohorts by the first box's plan, saves by the plan now.
RetentionSubscriptionSchema.index({ merchantId: 1, firstPlanId: 1, currency: 1 });
RetentionSubscriptionSchema.index({ merchantId: 1, planId: 1, currency: 1 });

export const RetentionSubscriptionModel = model<RetentionSubscription>('AnalyticsRetentionSubscription', RetentionSubscriptionSchema);

/**
 * One local day of one store, in one currency and plan: cancellations and their reasons, save offers, and
 * dunning outcomes. Counts only (`$inc`); `reasons` and the per-attempt counts are keyed by a reason code
 * (lower_snake_case) and an attempt number.
 */
export interface RetentionBucket {
  _id: string;
  merchantId: string;
  day: string;
  month: string;
  currency: string;
  planId: string;
  cancellations: { total: number; voluntary: number; involuntary: number };
  reasons: Record<string, number>;
  saveOffers: { shown: number; accepted: number };
  dunning: { started: number; failedAttempts: number; recovered: number; endedUnpaid: number };
  recoveredByAttempt: Record<string, number>;
  factIds: string[];
}

const num = { type: Number, default: 0 };
const RetentionBucketSchema = new Schema<RetentionBucket>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    day: { type: String, required: true },
    month: { type: String, required: true },
    currency: { type: String, required: true },
    planId: { type: String, required: true },
    cancellations: { total: num, voluntary: num, involuntary: num },
    reasons: { type: Schema.Types.Mixed, default: {} },
    saveOffers: { shown: num, accepted: num },
    dunning: { started: num, failedAttempts: num, recovered: num, endedUnpaid: num },
    recoveredByAttempt: { type: Schema.Types.Mixed, default: {} },
    factIds: { type: [String], default: [] },
  },
  { collection: 'analytics_retention_daily', versionKey: false, minimize: false },
);
RetentionBucketSchema.index({ merchantId: 1, day: 1 });
// The reports read a range of months, in every currency or one.
RetentionBucketSchema.index({ merchantId: 1, month: 1 });
RetentionBucketSchema.index({ merchantId: 1, currency: 1, month: 1 });
// …or one plan's (in its currency, or every one).
RetentionBucketSchema.index({ merchantId: 1, planId: 1, month: 1, currency: 1 });

export const RetentionBucketModel = model<RetentionBucket>('AnalyticsRetentionBucket', RetentionBucketSchema);

/**
 * One cohort's figures in one local month, for one currency and plan: `_id` = merchant:currency:cohort:plan:month.
 * The cohort is the month of its subscriptions' first paid box; the plan the one they were created with ('' when
 * their creation was never followed: counted in every plan's total, in no plan's report). Each subscription adds:
 * `subscribers` 1 in its cohort's own month; `paying` 1, its `revenueMinor` and `boxes` in each month it paid;
 * `cancelled` 1 in the month it was cancelled. The cohorts report and realised LTV add these up: active at a month
 * = subscribers − cancelled up to that month. As many documents as cohorts × months × plans, whatever the
 * number of subscribers. Kept by the retention listener from each subscription's figures (a late first box moves
 * its whole contribution to the earlier cohort), guarded on `factIds`.
 */
export interface CohortBucket {
  _id: string;
  merchantId: string;
  currency: string;
  cohort: string;
  planId: string;
  month: string;
  subscribers: number;
  paying: number;
  revenueMinor: number;
  boxes: number;
  cancelled: number;
  factIds: string[];
}

const CohortBucketSchema = new Schema<CohortBucket>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    currency: { type: String, required: true },
    cohort: { type: String, required: true },
    planId: { type: String, default: '' },
    month: { type: String, required: true },
    subscribers: num,
    paying: num,
    revenueMinor: num,
    boxes: num,
    cancelled: num,
    factIds: { type: [String], default: [] },
  },
  { collection: 'analytics_retention_cohorts', versionKey: false, minimize: false },
);
// The cohorts begun in a range of months, in every currency or one, for every plan or one.
CohortBucketSchema.index({ merchantId: 1, cohort: 1 });
CohortBucketSchema.index({ merchantId: 1, currency: 1, cohort: 1 });
CohortBucketSchema.index({ merchantId: 1, planId: 1, cohort: 1, currency: 1 });

export const CohortBucketModel = model<CohortBucket>('AnalyticsRetentionCohort', CohortBucketSchema);

/**
 * The saves of one local month (the day a subscription first accepted a save offer), in one currency and plan
 * (the plan it is on now): `_id` = merchant:currency:plan:month; `days` by day of the month (`'05'`): `saved`,
 * and `cancelledWithin`, those of them cancelled on or before the SAVED_DAYS-th day after their save. That is
 * fixed the day the cancellation happens (a cancellation later than that never counts), so the report needs no
 * subscription: of a day's saves whose SAVED_DAYS-th day has come, `saved − cancelledWithin` were still active.
 */
export interface SaveBucket {
  _id: string;
  merchantId: string;
  currency: string;
  planId: string;
  month: string;
  days: Record<string, { saved?: number; cancelledWithin?: number }>;
  factIds: string[];
}

const SaveBucketSchema = new Schema<SaveBucket>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    currency: { type: String, required: true },
    planId: { type: String, required: true },
    month: { type: String, required: true },
    days: { type: Schema.Types.Mixed, default: {} },
    factIds: { type: [String], default: [] },
  },
  { collection: 'analytics_retention_saves', versionKey: false, minimize: false },
);
SaveBucketSchema.index({ merchantId: 1, month: 1 });
SaveBucketSchema.index({ merchantId: 1, currency: 1, month: 1 });
SaveBucketSchema.index({ merchantId: 1, planId: 1, month: 1, currency: 1 });

export const SaveBucketModel = model<SaveBucket>('AnalyticsRetentionSave', SaveBucketSchema);
