import { model, Schema } from 'mongoose';
import { factSource, type FactBearing } from '../events/fact-source';
import type { Actor } from '../events/fact-types';

/** What a make-good gives each affected subscriber. */
export type MakeGoodGift =
  { type: 'points'; points: number } | { type: 'credit'; amountMinor: number; currency: string } | { type: 'free_addon'; addonId: string; quantity: number };

/**
 * A merchant owning a mistake: the boxes it affected (picked by ship dates, a SKU, a plan), the apology and
 * the make-good each affected subscription gets. Its id comes from the form that made it, so the same form
 * sent twice is one make-good. `draft` until first sent; every send (`runs`) goes over the affected
 * subscriptions again, and each gets it once (`make_good_grants`).
 */
export interface MakeGood {
  _id: string;
  merchantId: string;
  selection: { fromOn: string; toOn: string; sku?: string; planId?: string };
  gift: MakeGoodGift;
  apology: { subject: string; body: string };
  status: 'draft' | 'sending' | 'sent';
  runs: number;
  createdBy: Actor;
  createdAt: Date;
  updatedAt: Date;
  lastRunAt?: Date;
  finishedAt?: Date;
  /** What the last send did: given now, given before, skipped. */
  counts?: { given: number; alreadyGiven: number; skipped: number };
}

const MakeGoodSchema = new Schema<MakeGood>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    selection: { type: new Schema({ fromOn: String, toOn: String, sku: String, planId: String }, { _id: false }), required: true },
    gift: { type: Schema.Types.Mixed, required: true },
    apology: { type: new Schema({ subject: String, body: String }, { _id: false }), required: true },
    status: { type: String, enum: ['draft', 'sending', 'sent'], required: true },
    runs: { type: Number, required: true },
    createdBy: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    lastRunAt: { type: Date },
    finishedAt: { type: Date },
    counts: { type: new Schema({ given: Number, alreadyGiven: Number, skipped: Number }, { _id: false }) },
  },
  { collection: 'make_goods', versionKey: false },
);
MakeGoodSchema.index({ merchantId: 1, createdAt: -1 });

export const MakeGoodModel = model<MakeGood>('MakeGood', MakeGoodSchema);

/**
 * One make-good for one affected subscription: unique per (make-good, subscription), the guarantee that each
 * subscriber gets it and its apology once. `pending` until given; giving it records `make_good.given` (the
 * timeline's entry; the apology follows it through the messages outbox) in the update that marks it given.
 * A subscription that cannot have it (cancelled, another currency...) stays `pending` with the reason, and
 * is looked at again by the next send.
 */
export interface MakeGoodGrant extends Partial<FactBearing> {
  _id: string;
  merchantId: string;
  makeGoodId: string;
  subscriptionId: string;
  customerId: string;
  /** The affected boxes of this subscription (at most a few dozen are kept). */
  orderIds: string[];
  status: 'pending' | 'given';
  /** The send that gave it. */
  givenInRun?: number;
  givenAt?: Date;
  /** The last send that looked at it, and why it skipped it (none: given, or not looked at yet). */
  lastRun: number;
  skipReason?: MakeGoodSkipReason;
  createdAt: Date;
}

export const SKIP_REASONS = ['subscription_cancelled', 'subscription_not_found', 'currency_mismatch', 'no_loyalty_programme', 'extra_unavailable'] as const;
export type MakeGoodSkipReason = (typeof SKIP_REASONS)[number];

const MakeGoodGrantSchema = new Schema<MakeGoodGrant>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    makeGoodId: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    customerId: { type: String, required: true },
    orderIds: [{ type: String }],
    status: { type: String, enum: ['pending', 'given'], required: true },
    givenInRun: { type: Number },
    givenAt: { type: Date },
    lastRun: { type: Number, required: true },
    skipReason: { type: String, enum: SKIP_REASONS },
    createdAt: { type: Date, required: true },
  },
  { collection: 'make_good_grants', versionKey: false },
);
MakeGoodGrantSchema.index({ makeGoodId: 1, subscriptionId: 1 }, { unique: true });
factSource(MakeGoodGrantSchema, {
  subjectType: 'make_good',
  linkFields: ['customerId', 'subscriptionId'],
  links: (doc) => ({ merchantId: doc.merchantId as string, customerId: doc.customerId as string, subscriptionId: doc.subscriptionId as string }),
});

export const MakeGoodGrantModel = model<MakeGoodGrant>('MakeGoodGrant', MakeGoodGrantSchema);
