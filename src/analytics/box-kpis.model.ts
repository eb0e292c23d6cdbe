import { model, Schema } from 'mongoose';
import type { PendingBucketChanges } from './pending-buckets';

/**
 * The box-service KPIs' projections (docs/analytics.md, "Box service"), kept by src/analytics/box-kpis.service.ts
 * from the boxes', subscriptions' and gifts' facts, and rebuilt from them. Written only by src/analytics/.
 */

/** What a bucket counts: the shipping, one SKU's units, the ratings of boxes delivered that day, or one gift campaign. */
export const BOX_KPI_FAMILIES = ['shipping', 'sku', 'rating', 'gift'] as const;
export type BoxKpiFamily = (typeof BOX_KPI_FAMILIES)[number];

/**
 * One local day of one store, for one family and key (`all`, a SKU, a campaign id) and currency (gifts only;
 * `''` otherwise): counters by name (`shipped`, `onTime`, `requestedUnits`, `scoreSum`…). `factIds` are the
 * facts applied to it: the update that adds a fact is guarded on its absence, so each counts once.
 */
export interface BoxKpiBucket {
  _id: string;
  merchantId: string;
  day: string;
  month: string;
  family: BoxKpiFamily;
  key: string;
  currency: string;
  n: Record<string, number>;
  factIds: string[];
}

const BoxKpiBucketSchema = new Schema<BoxKpiBucket>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    day: { type: String, required: true },
    month: { type: String, required: true },
    family: { type: String, enum: BOX_KPI_FAMILIES, required: true },
    key: { type: String, required: true },
    currency: { type: String, default: '' },
    n: { type: Schema.Types.Mixed, default: {} },
    factIds: { type: [String], default: [] },
  },
  { collection: 'analytics_box_daily', versionKey: false, minimize: false },
);
BoxKpiBucketSchema.index({ merchantId: 1, family: 1, month: 1 });

export const BoxKpiBucketModel = model<BoxKpiBucket>('AnalyticsBoxKpiBucket', BoxKpiBucketSchema);

/**
 * One box, as far as its KPIs need it: whether its demand was counted (built at its cut-off, or cancelled
 * there for want of stock), the local day it was delivered and its rating now. `lastSeq` is the place of the
 * last fact applied in the box's sequence: a fact at or before it changes nothing.
 */
export interface BoxKpiOrder {
  _id: string;
  merchantId: string;
  lastSeq: number;
  demandCounted: boolean;
  deliveredOn?: string;
  score?: number;
}

const BoxKpiOrderSchema = new Schema<BoxKpiOrder>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    lastSeq: { type: Number, required: true },
    demandCounted: { type: Boolean, default: false },
    deliveredOn: { type: String },
    score: { type: Number },
  },
  { collection: 'analytics_box_orders', versionKey: false },
);
BoxKpiOrderSchema.index({ merchantId: 1 });

export const BoxKpiOrderModel = model<BoxKpiOrder>('AnalyticsBoxKpiOrder', BoxKpiOrderSchema);

/**
 * One subscription's way to its first box: the local day it was made (`subscription.created`) and the first
 * box shipped (the earliest of each, so the facts may come in any order, and again), and what it adds to its
 * month's first-box waits (`FirstBoxWaits`). Kept by difference (src/analytics/pending-buckets.ts): a fact that
 * changes it changes the waits by what it contributes after the fact less before; the update is conditional on
 * `rev` and carries those changes in `pending` until they are written.
 */
export interface FirstBox {
  _id: string;
  merchantId: string;
  signedUpAt?: Date;
  signedUpOn?: string;
  signedUpMonth?: string;
  firstShippedAt?: Date;
  /** Local days from sign-up to the first box shipped, once both are known. */
  daysToFirstShip?: number;
  /** How many facts changed it: a listener's update is conditional on the count it read. */
  rev?: number;
  /** The changes to the first-box waits of facts applied here whose waits may not be written yet. */
  pending: Array<PendingBucketChanges<'firstBoxWait'>>;
}

const FirstBoxSchema = new Schema<FirstBox>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    signedUpAt: { type: Date },
    signedUpOn: { type: String },
    signedUpMonth: { type: String },
    firstShippedAt: { type: Date },
    daysToFirstShip: { type: Number },
    rev: { type: Number },
    pending: { type: Schema.Types.Mixed, default: () => [] },
  },
  { collection: 'analytics_first_boxes', versionKey: false },
);
// A rebuild drops a store's (the report reads the waits, never these).
FirstBoxSchema.index({ merchantId: 1 });

export const FirstBoxModel = model<FirstBox>('AnalyticsFirstBox', FirstBoxSchema);

/**
 * The first-box waits of one local month of sign-up: `_id` = merchant:month. `signedUp`: the subscriptions made
 * that month; `days`: of them, those whose first box has shipped, by the local days it took (`'8'` → 3). A
 * subscription's move (an earlier shipment learnt late) leaves its old number of days at a count of 0. As many
 * documents as months, whatever the number of subscribers: the box-service report reads one per month of its
 * range. Kept from `FirstBox` by difference, each change guarded on the fact's id (`factIds`).
 */
export interface FirstBoxWaits {
  _id: string;
  merchantId: string;
  month: string;
  signedUp: number;
  days: Record<string, number>;
  factIds: string[];
}

const FirstBoxWaitsSchema = new Schema<FirstBoxWaits>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    month: { type: String, required: true },
    signedUp: { type: Number, default: 0 },
    days: { type: Schema.Types.Mixed, default: {} },
    factIds: { type: [String], default: [] },
  },
  { collection: 'analytics_first_box_waits', versionKey: false, minimize: false },
);
FirstBoxWaitsSchema.index({ merchantId: 1, month: 1 });

export const FirstBoxWaitsModel = model<FirstBoxWaits>('AnalyticsFirstBoxWaits', FirstBoxWaitsSchema);
