import { model, Schema } from 'mongoose';

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
  factIds: string[];
}

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
