import { model, Schema } from 'mongoose';
import { factSource, type FactBearing } from '../events/fact-source';

/**
 * What the friend gets on their first box. An amount off carries the programme's currency, so whoever turns
 * it into a coupon never has to guess it (and can refuse it on a plan billed in another currency).
 */
export type WelcomeOffer = { type: 'percent'; percentOff: number } | { type: 'amount'; amountOffMinor: number; currency: string };

/** What the referrer earns once the friend's first box is paid: points or credit on their loyalty ledger. */
export type ReferrerReward = { type: 'points'; points: number; currency: string } | { type: 'credit'; creditMinor: number; currency: string };

/**
 * A merchant's referral programme. One per merchant (`_id` is the merchant id); absent means no programme.
 * `currency` is the merchant's default currency when the programme was last saved: amounts are in it.
 */
export interface ReferralProgram {
  _id: string;
  merchantId: string;
  enabled: boolean;
  currency: string;
  welcomeOffer: { type: 'percent'; percentOff: number } | { type: 'amount'; amountOffMinor: number };
  referrerReward: { type: 'points'; points: number } | { type: 'credit'; creditMinor: number };
  /** A referrer with this many referrals in the last 30 days has the next ones held for review. */
  review: { maxReferralsPer30Days: number };
  createdAt: Date;
  updatedAt: Date;
}

const ReferralProgramSchema = new Schema<ReferralProgram>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    enabled: { type: Boolean, required: true },
    currency: { type: String, required: true, match: /^[A-Z]{3}$/ },
    welcomeOffer: { type: Schema.Types.Mixed, required: true },
    referrerReward: { type: Schema.Types.Mixed, required: true },
    review: { type: new Schema({ maxReferralsPer30Days: { type: Number, required: true, min: 1 } }, { _id: false }), required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'referral_programs', versionKey: false, minimize: false },
);

export const ReferralProgramModel = model<ReferralProgram>('ReferralProgram', ReferralProgramSchema);

/** A shopper's shareable code (`_id`), made on first ask and kept for good: one per shopper. */
export interface ReferralCode {
  _id: string;
  merchantId: string;
  customerId: string;
  createdAt: Date;
}

const ReferralCodeSchema = new Schema<ReferralCode>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'referral_codes', versionKey: false },
);
ReferralCodeSchema.index({ merchantId: 1, customerId: 1 }, { unique: true });

export const ReferralCodeModel = model<ReferralCode>('ReferralCode', ReferralCodeSchema);

export const REFERRAL_STATUSES = ['pending', 'held', 'rewarded', 'rejected'] as const;
export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];

/** Why a referral waits for the merchant (src/referrals/referral-rules.ts). */
export const HOLD_REASONS = ['same_shipping_address', 'referrer_velocity', 'similar_email'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

/**
 * A friend who subscribed with a shopper's code. One per friend, ever: the id is derived from (merchant,
 * friend), so a second referral of the same shopper cannot be written. `pending` until the friend's first
 * box is paid, then `rewarded`; `held` waits for the merchant (approve → `pending`, reject → `rejected`).
 * The offer and reward are copied at attribution: a later change of the programme does not move them.
 * It records its facts (`referral.attributed|held|approved|rejected|rewarded`) in the write that makes
 * them true; they concern the friend and their subscription, and name both parties in their data.
 */
export interface Referral extends FactBearing {
  _id: string;
  merchantId: string;
  code: string;
  referrerCustomerId: string;
  friendCustomerId: string;
  friendSubscriptionId: string;
  status: ReferralStatus;
  heldReasons: HoldReason[];
  reward: ReferrerReward;
  welcomeOffer: WelcomeOffer;
  /**
   * Set when a worker starts granting the reward (the friend's box is paid): from then on the referral can
   * no longer be rejected, so a reward is never posted for a rejected referral.
   */
  rewardClaimedAt?: Date;
  rewardedAt?: Date;
  reviewedAt?: Date;
  reviewNote?: string;
  createdAt: Date;
}

const ReferralSchema = new Schema<Referral>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    code: { type: String, required: true },
    referrerCustomerId: { type: String, required: true },
    friendCustomerId: { type: String, required: true },
    friendSubscriptionId: { type: String, required: true },
    status: { type: String, enum: REFERRAL_STATUSES, required: true },
    heldReasons: { type: [{ type: String, enum: HOLD_REASONS }], default: [] },
    reward: { type: Schema.Types.Mixed, required: true },
    welcomeOffer: { type: Schema.Types.Mixed, required: true },
    rewardClaimedAt: { type: Date },
    rewardedAt: { type: Date },
    reviewedAt: { type: Date },
    reviewNote: { type: String },
    createdAt: { type: Date, required: true },
  },
  { collection: 'referrals', versionKey: false, minimize: false },
);
ReferralSchema.index({ merchantId: 1, friendCustomerId: 1 }, { unique: true });
ReferralSchema.index({ merchantId: 1, status: 1, createdAt: -1, _id: -1 });
ReferralSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
ReferralSchema.index({ merchantId: 1, friendSubscriptionId: 1 });
// The velocity rule: a referrer's referrals over the last 30 days.
ReferralSchema.index({ merchantId: 1, referrerCustomerId: 1, createdAt: -1 });
factSource(ReferralSchema, {
  subjectType: 'referral',
  linkFields: ['friendCustomerId', 'friendSubscriptionId'],
  links: (doc) => ({ merchantId: doc.merchantId as string, customerId: doc.friendCustomerId as string, subscriptionId: doc.friendSubscriptionId as string }),
});

export const ReferralModel = model<Referral>('Referral', ReferralSchema);
