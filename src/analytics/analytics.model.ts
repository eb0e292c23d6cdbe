import { model, Schema } from 'mongoose';
import type { CountedStatus } from './mrr-rules';

/**
 * What one subscription contributes now, kept by the analytics listener from the subscription's facts (one
 * document per subscription, written only by src/analytics/). `lastSeq` is the place of the last fact
 * applied in the subscription's sequence: a fact at or before it changes nothing (replays, retries).
 */
export interface SubscriptionMrr {
  _id: string;
  merchantId: string;
  customerId: string;
  lastSeq: number;
  planId: string;
  priceId: string;
  currency: string;
  status: CountedStatus;
  /** The box's price per 30 days after a lasting discount, whatever the status. */
  monthlyMinor: number;
  /** What it counts in MRR now (0 unless billed). */
  mrrMinor: number;
  /** A `forever` promo code's discount on every box. */
  lastingDiscount?: { percentOff: number } | { amountOffMinor: number };
  /** It has counted in MRR at least once. */
  billedBefore: boolean;
  /** It has counted as a subscriber (trialing, active, past due or paused) at least once. */
  subscriberSince?: string;
  /** The local day it ended (cancelled). */
  cancelledOn?: string;
  cancelledAt?: Date;
}

const SubscriptionMrrSchema = new Schema<SubscriptionMrr>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String, required: true },
    lastSeq: { type: Number, required: true },
    planId: { type: String, required: true },
    priceId: { type: String, required: true },
    currency: { type: String, required: true },
    status: { type: String, required: true },
    monthlyMinor: { type: Number, required: true },
    mrrMinor: { type: Number, required: true },
    lastingDiscount: { type: Schema.Types.Mixed },
    billedBefore: { type: Boolean, required: true },
    subscriberSince: { type: String },
    cancelledOn: { type: String },
    cancelledAt: { type: Date },
  },
  { collection: 'analytics_subscriptions', versionKey: false, minimize: false },
);
// The current subscribers of a store by status; a shopper's earlier subscriptions (reactivation).
SubscriptionMrrSchema.index({ merchantId: 1, status: 1, currency: 1, planId: 1 });
// …of one plan (in whatever currency).
SubscriptionMrrSchema.index({ merchantId: 1, planId: 1, status: 1 });
SubscriptionMrrSchema.index({ merchantId: 1, customerId: 1 });

export const SubscriptionMrrModel = model<SubscriptionMrr>('AnalyticsSubscriptionMrr', SubscriptionMrrSchema);

/** MRR moved per kind on one day (positive amounts; contraction, churn and paused take away). */
export interface BucketMovements {
  new: number;
  expansion: number;
  contraction: number;
  churn: number;
  reactivation: number;
  paused: number;
  resumed: number;
  /** A subscription moved to this plan or currency (in) or away from it (out), with the MRR it had. */
  transferIn: number;
  transferOut: number;
}

export interface BucketCounts {
  /** Subscriptions that became subscribers (first trialing, active, past due or paused). */
  new: number;
  /** …of which by a shopper who had cancelled one before. */
  reactivated: number;
  cancelled: number;
  voluntary: number;
  involuntary: number;
  /** Cancelled in the same local month they became subscribers. */
  cancelledSameMonth: number;
  transferIn: number;
  transferOut: number;
}

/**
 * One local day of one store, in one currency and plan: what moved. `factIds` are the facts applied to it:
 * a fact is applied once per bucket (the update is guarded on its absence), however often it is replayed.
 */
export interface MetricBucket {
  _id: string;
  merchantId: string;
  day: string;
  month: string;
  currency: string;
  planId: string;
  mrr: BucketMovements;
  counts: BucketCounts;
  /** Churned MRR by cause, and the part of subscriptions that started the same month. */
  churnMrr: { voluntary: number; involuntary: number; sameMonth: number };
  /**
   * Subscriptions that came into (+) or left (−) each live status that day, in this currency and plan: added
   * up over every day, the subscriptions in each status now (what the subscribers report shows as current).
   */
  inStatus: { active: number; trialing: number; pastDue: number; paused: number };
  factIds: string[];
}

const num = { type: Number, default: 0 };
const MetricBucketSchema = new Schema<MetricBucket>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    day: { type: String, required: true },
    month: { type: String, required: true },
    currency: { type: String, required: true },
    planId: { type: String, required: true },
    mrr: {
      new: num,
      expansion: num,
      contraction: num,
      churn: num,
      reactivation: num,
      paused: num,
      resumed: num,
      transferIn: num,
      transferOut: num,
    },
    counts: {
      new: num,
      reactivated: num,
      cancelled: num,
      voluntary: num,
      involuntary: num,
      cancelledSameMonth: num,
      transferIn: num,
      transferOut: num,
    },
    churnMrr: { voluntary: num, involuntary: num, sameMonth: num },
    inStatus: { active: num, trialing: num, pastDue: num, paused: num },
    factIds: { type: [String], default: [] },
  },
  { collection: 'analytics_daily', versionKey: false, minimize: false },
);
MetricBucketSchema.index({ merchantId: 1, day: 1 });
// The reports narrowed to a currency (and a plan), or to a plan in every currency.
MetricBucketSchema.index({ merchantId: 1, currency: 1, planId: 1, day: 1 });
MetricBucketSchema.index({ merchantId: 1, planId: 1, day: 1 });
// A month's movements in one currency, day by day and plan by plan (the Analytics page's month).
MetricBucketSchema.index({ merchantId: 1, currency: 1, day: 1, planId: 1 });

export const MetricBucketModel = model<MetricBucket>('AnalyticsMetricBucket', MetricBucketSchema);
