import { model, Schema } from 'mongoose';
import { factSource, type FactBearing } from '../events/fact-source';

/**
 * A merchant's loyalty programme: how points are earned and what they are worth, the tiers and their earn
 * rates, and whether points expire. One per merchant (`_id` is the merchant id); absent means no programme.
 */
export interface LoyaltyProgram {
  _id: string;
  merchantId: string;
  enabled: boolean;
  /** The currency credit is kept and applied in (boxes in another currency get none). */
  currency: string;
  /** Points per whole unit of the currency paid for a box (before the tier's multiplier); rounded down. */
  pointsPerUnit: number;
  /** What points are worth: every `points` redeemed give `creditMinor` of credit on the coming boxes. */
  redemption: { points: number; creditMinor: number };
  /** Turn every whole redeemable block into credit at each cut-off, without the shopper asking. */
  autoApply: boolean;
  /** Points expire `afterMonths` after they were earned (oldest spent first); shoppers are told `noticeDays` before. */
  expiry?: { afterMonths: number; noticeDays: number };
  /** Tiers are held by paid boxes or spend over the last 12 months, evaluated by the loyalty.evaluate-tiers job. */
  tierBasis: 'paid_boxes' | 'spend';
  /** Lowest first. `threshold` is a count of paid boxes or an amount in minor units, per `tierBasis`. */
  tiers: Array<{ key: string; name: string; threshold: number; earnMultiplierPercent: number }>;
  createdAt: Date;
  updatedAt: Date;
}

const LoyaltyProgramSchema = new Schema<LoyaltyProgram>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    enabled: { type: Boolean, required: true },
    currency: { type: String, required: true, match: /^[A-Z]{3}$/ },
    pointsPerUnit: { type: Number, required: true, min: 0 },
    redemption: { type: new Schema({ points: Number, creditMinor: Number }, { _id: false }), required: true },
    autoApply: { type: Boolean, required: true },
    expiry: { type: new Schema({ afterMonths: Number, noticeDays: Number }, { _id: false }) },
    tierBasis: { type: String, enum: ['paid_boxes', 'spend'], required: true },
    tiers: [new Schema({ key: String, name: String, threshold: Number, earnMultiplierPercent: Number }, { _id: false })],
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'loyalty_programs', versionKey: false, minimize: false },
);

export const LoyaltyProgramModel = model<LoyaltyProgram>('LoyaltyProgram', LoyaltyProgramSchema);

export const LEDGER_KINDS = ['earn', 'bonus', 'referral', 'birthday', 'anniversary', 'adjust', 'redeem', 'apply', 'restore', 'expire'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/**
 * One movement of a shopper's points and credit. An entry that grants a reward (a birthday, an anniversary)
 * records the grant (`reward.granted`) in the insert that makes it. Its source (`invoice:<id>`, `referral:<id>`,
 * `birthday:<customer>:<year>`, `redeem:<key>`, `apply:<order>`...) is unique per merchant: a replayed event
 * or job finds the entry and adds nothing. Entries form a chain per shopper (`seq` unique), each carrying the
 * balances after it: the head is the balance, and two writers racing for the same `seq` cannot both win, so
 * a balance never goes below zero. An entry that is a shopper's or merchant's act (a redemption) records its
 * fact (`loyalty.points_redeemed`) in its own insert.
 */
export interface LoyaltyEntry extends Partial<FactBearing> {
  _id: string;
  merchantId: string;
  customerId: string;
  seq: number;
  source: string;
  kind: LedgerKind;
  points: number;
  creditMinor: number;
  balancePoints: number;
  balanceCreditMinor: number;
  currency: string;
  /** Earned points only: when what is left of them expires. */
  expiresAt?: Date;
  description: string;
  subscriptionId?: string;
  orderId?: string;
  at: Date;
}

const LoyaltyEntrySchema = new Schema<LoyaltyEntry>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String, required: true },
    seq: { type: Number, required: true },
    source: { type: String, required: true },
    kind: { type: String, enum: LEDGER_KINDS, required: true },
    points: { type: Number, required: true, validate: Number.isSafeInteger },
    creditMinor: { type: Number, required: true, validate: Number.isSafeInteger },
    balancePoints: { type: Number, required: true, min: 0, validate: Number.isSafeInteger },
    balanceCreditMinor: { type: Number, required: true, min: 0, validate: Number.isSafeInteger },
    currency: { type: String, required: true },
    expiresAt: { type: Date },
    description: { type: String, required: true },
    subscriptionId: { type: String },
    orderId: { type: String },
    at: { type: Date, required: true },
  },
  { collection: 'loyalty_ledger', versionKey: false, minimize: false },
);
LoyaltyEntrySchema.index({ merchantId: 1, source: 1 }, { unique: true });
LoyaltyEntrySchema.index({ merchantId: 1, customerId: 1, seq: 1 }, { unique: true });
LoyaltyEntrySchema.index({ merchantId: 1, kind: 1, expiresAt: 1 });
factSource(LoyaltyEntrySchema, {
  subjectType: 'loyalty_entry',
  linkFields: ['customerId', 'subscriptionId'],
  links: (doc) => ({
    merchantId: doc.merchantId as string,
    customerId: doc.customerId as string,
    ...(doc.subscriptionId ? { subscriptionId: doc.subscriptionId as string } : {}),
  }),
});

export const LoyaltyEntryModel = model<LoyaltyEntry>('LoyaltyEntry', LoyaltyEntrySchema);

/**
 * A shopper's standing in the programme: the tier held, since when, and every change with its reason. It
 * records the facts about it (`loyalty.tier_changed`, `loyalty.points_expiring`) in the update that makes
 * them true.
 */
export interface LoyaltyAccount extends FactBearing {
  _id: string;
  merchantId: string;
  customerId: string;
  tierKey?: string;
  tierSince?: Date;
  tierHistory: Array<{ from: string | null; to: string | null; at: Date; reason: string }>;
  evaluatedAt?: Date;
  /** The earliest expiry date the shopper was last told of: each lot of points expiring is announced once. */
  expiryNoticedFor?: Date;
  createdAt: Date;
}

const LoyaltyAccountSchema = new Schema<LoyaltyAccount>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String, required: true },
    tierKey: { type: String },
    tierSince: { type: Date },
    tierHistory: [new Schema({ from: String, to: String, at: Date, reason: String }, { _id: false })],
    evaluatedAt: { type: Date },
    expiryNoticedFor: { type: Date },
    createdAt: { type: Date, required: true },
  },
  { collection: 'loyalty_accounts', versionKey: false, minimize: false },
);
factSource(LoyaltyAccountSchema, {
  subjectType: 'loyalty_account',
  linkFields: ['customerId'],
  links: (doc) => ({ merchantId: doc.merchantId as string, customerId: doc.customerId as string }),
});
LoyaltyAccountSchema.index({ merchantId: 1, customerId: 1 }, { unique: true });
// The merchant's list of subscribers filtered by tier walks a tier's shoppers in customer order.
LoyaltyAccountSchema.index({ merchantId: 1, tierKey: 1, customerId: 1 });

export const LoyaltyAccountModel = model<LoyaltyAccount>('LoyaltyAccount', LoyaltyAccountSchema);
