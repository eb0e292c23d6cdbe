import { model, Schema } from 'mongoose';
import type { PromoDuration } from '../subscriptions/subscription.model';

export type { PromoDuration };

/** Where a promo code stands with Stripe. `pending` codes are (re)tried by the catalog sync job. */
export interface PromoCodeStripe {
  state: 'pending' | 'synced';
  /** The coupon its discount is in Stripe: `once` for a one-box code, `forever` otherwise (our sync takes it off). */
  couponId?: string;
  /** The promotion code redeemed on a subscription made with the code. */
  promotionCodeId?: string;
  /** When the promotion code was deactivated (the code archived or expired). */
  deactivatedAt?: Date;
  /** The code's revision last brought in line with Stripe. */
  syncedRevision?: number;
  lastError?: string;
  attemptedAt?: Date;
}

/**
 * A merchant's promo code: a percentage or an amount off boxes, for one box, a number of boxes or every box,
 * with its limits: only at sign-up (`firstBoxOnly`), `maxRedemptions` uses across the store, an expiry.
 * `redemptionCount` moves only with a guarded `$inc` (never past `maxRedemptions`); each use is a
 * redemption document, one per code and subscription.
 */
export interface PromoCode {
  _id: string;
  merchantId: string;
  /** Upper case, A–Z 0–9 and dashes: unique per merchant whatever the case it is typed in. */
  code: string;
  description: string;
  percentOff?: number;
  amountOffMinor?: number;
  /** The currency of `amountOffMinor`. */
  currency?: string;
  duration: PromoDuration;
  /** For `repeating`: how many boxes. */
  boxes?: number;
  firstBoxOnly: boolean;
  maxRedemptions?: number;
  expiresAt?: Date;
  status: 'active' | 'archived';
  archivedAt?: Date;
  redemptionCount: number;
  stripe: PromoCodeStripe;
  /** Bumped by each change Stripe must follow (archiving). */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

const PromoCodeSchema = new Schema<PromoCode>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    code: { type: String, required: true, match: /^[A-Z0-9-]{3,32}$/ },
    description: { type: String, required: true },
    percentOff: { type: Number, min: 1, max: 100 },
    amountOffMinor: { type: Number, min: 1, validate: Number.isSafeInteger },
    currency: { type: String, match: /^[A-Z]{3}$/ },
    duration: { type: String, enum: ['once', 'repeating', 'forever'], required: true },
    boxes: { type: Number, min: 1 },
    firstBoxOnly: { type: Boolean, required: true },
    maxRedemptions: { type: Number, min: 1 },
    expiresAt: { type: Date },
    status: { type: String, enum: ['active', 'archived'], required: true },
    archivedAt: { type: Date },
    redemptionCount: { type: Number, required: true, min: 0 },
    stripe: {
      type: new Schema<PromoCodeStripe>(
        {
          state: { type: String, enum: ['pending', 'synced'], required: true },
          couponId: { type: String },
          promotionCodeId: { type: String },
          deactivatedAt: { type: Date },
          syncedRevision: { type: Number },
          lastError: { type: String },
          attemptedAt: { type: Date },
        },
        { _id: false },
      ),
      required: true,
    },
    revision: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'promo_codes', versionKey: false, minimize: false },
);
PromoCodeSchema.index({ merchantId: 1, code: 1 }, { unique: true });
PromoCodeSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
PromoCodeSchema.index({ merchantId: 1, status: 1, createdAt: -1, _id: -1 });
// The catalog sync job (src/promotions/promotion-stripe-sync.service.ts): codes pending with Stripe, oldest
// attempt first; expired codes whose promotion code was not deactivated yet (the others drop out of the scan).
PromoCodeSchema.index({ 'stripe.state': 1, 'stripe.attemptedAt': 1 });
PromoCodeSchema.index({ 'stripe.deactivatedAt': 1, expiresAt: 1 });

export const PromoCodeModel = model<PromoCode>('PromoCode', PromoCodeSchema);

/**
 * One use of a code: by one subscription, once (its id is derived from both). `claimed` while the request
 * that made it is counting it against the code's limit (deleted if the code is used up), then `counted`.
 */
export interface PromoCodeRedemption {
  _id: string;
  merchantId: string;
  promoCodeId: string;
  subscriptionId: string;
  customerId: string;
  state: 'claimed' | 'counted';
  /** When it was claimed; once counted, when it was redeemed. */
  createdAt: Date;
}

const PromoCodeRedemptionSchema = new Schema<PromoCodeRedemption>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    promoCodeId: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    customerId: { type: String, required: true },
    state: { type: String, enum: ['claimed', 'counted'], required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'promo_code_redemptions', versionKey: false },
);
PromoCodeRedemptionSchema.index({ promoCodeId: 1, subscriptionId: 1 }, { unique: true });
PromoCodeRedemptionSchema.index({ merchantId: 1, promoCodeId: 1, createdAt: -1 });

export const PromoCodeRedemptionModel = model<PromoCodeRedemption>('PromoCodeRedemption', PromoCodeRedemptionSchema);
