import { model, Schema } from 'mongoose';
import { factSource, type FactBearing } from '../events/fact-source';
import type { Eligibility } from '../perks/perk.model';

/** A reward given once a year (birthday, anniversary): points, credit on the coming boxes, or a free add-on. */
export type YearlyReward =
  { type: 'points'; points: number } | { type: 'credit'; creditMinor: number } | { type: 'free_addon'; addonId: string; quantity: number };

/**
 * What a threshold offer counts, in the box being built at its cut-off:
 * - `box_total`: the shopper's own lines: the plan at their price after the first-box discount (and any
 *   one-time save-offer discount), plus the add-ons in the box; not shipping, gifts, free items, perks,
 *   other offers or loyalty credit;
 * - `addons`: the add-ons in the box alone, at their price.
 */
export type ThresholdBasis = 'box_total' | 'addons';

export interface ThresholdTerms {
  basis: ThresholdBasis;
  minSpendMinor: number;
  amountOffMinor: number;
}

/**
 * An offer for a segment:
 * - `threshold`: subscribers meeting `eligibility` whose box reaches `minSpendMinor` (counted per `basis`)
 *   save a fixed `amountOffMinor` on it (a fixed amount, so the reward stays bounded); one threshold offer
 *   per box, the one that saves most;
 * - `comeback`: a shopper whose subscription ended within `withinDays` gets a discount on the first box of a new one;
 * - `birthday` / `anniversary`: once a year, on the shopper's birthday or the subscription's anniversary.
 */
export interface Offer {
  _id: string;
  merchantId: string;
  name: string;
  status: 'active' | 'archived';
  kind: 'threshold' | 'comeback' | 'birthday' | 'anniversary';
  eligibility: Eligibility;
  currency: string;
  /** Read through `thresholdTermsOf`: offers saved before `basis` hold `minAddonSpendMinor` (add-ons only). */
  threshold?: Partial<ThresholdTerms> & { amountOffMinor: number; minAddonSpendMinor?: number };
  comeback?: { withinDays: number; percentOff?: number; amountOffMinor?: number };
  reward?: YearlyReward;
  createdAt: Date;
  updatedAt: Date;
}

const OfferSchema = new Schema<Offer>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    name: { type: String, required: true },
    status: { type: String, enum: ['active', 'archived'], required: true },
    kind: { type: String, enum: ['threshold', 'comeback', 'birthday', 'anniversary'], required: true },
    eligibility: { type: Schema.Types.Mixed, default: {} },
    currency: { type: String, required: true },
    threshold: { type: Schema.Types.Mixed },
    comeback: { type: Schema.Types.Mixed },
    reward: { type: Schema.Types.Mixed },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'offers', versionKey: false, minimize: false },
);
OfferSchema.index({ merchantId: 1, status: 1, kind: 1, createdAt: -1, _id: -1 });
OfferSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
// The yearly rewards job: active birthday and anniversary offers of every store.
OfferSchema.index({ status: 1, kind: 1 });

export const OfferModel = model<Offer>('Offer', OfferSchema);

/** A threshold offer's terms; one saved before `basis` existed counted add-ons only, and still does. */
export function thresholdTermsOf(offer: Pick<Offer, 'threshold'>): ThresholdTerms | undefined {
  const threshold = offer.threshold;
  if (!threshold) return undefined;
  if (threshold.basis && threshold.minSpendMinor !== undefined)
    return { basis: threshold.basis, minSpendMinor: threshold.minSpendMinor, amountOffMinor: threshold.amountOffMinor };
  return { basis: 'addons', minSpendMinor: threshold.minAddonSpendMinor ?? threshold.minSpendMinor ?? 0, amountOffMinor: threshold.amountOffMinor };
}

/**
 * A free add-on earned outside a box (a birthday, an anniversary, a merchant's make-good), waiting for the shopper's next box.
 * One per source (`birthday:<customer>:<year>`): granted once however often the job runs. It records the
 * grant (`reward.granted`) in the insert that makes it.
 */
export interface BoxReward extends Partial<FactBearing> {
  _id: string;
  merchantId: string;
  customerId: string;
  subscriptionId: string;
  source: string;
  reason: string;
  /** The birthday or anniversary offer that granted it; absent for a merchant's make-good. */
  offerId?: string;
  /** The merchant's make-good (an apology for a mistake) that granted it. */
  makeGoodId?: string;
  addonId: string;
  quantity: number;
  /** `pending` until a box is built with it; back to `pending` if that box is not sent. */
  status: 'pending' | 'in_box';
  orderId?: string;
  createdAt: Date;
}

const BoxRewardSchema = new Schema<BoxReward>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    source: { type: String, required: true },
    reason: { type: String, required: true },
    offerId: { type: String },
    makeGoodId: { type: String },
    addonId: { type: String, required: true },
    quantity: { type: Number, required: true },
    status: { type: String, enum: ['pending', 'in_box'], required: true },
    orderId: { type: String },
    createdAt: { type: Date, required: true },
  },
  { collection: 'box_rewards', versionKey: false },
);
BoxRewardSchema.index({ merchantId: 1, source: 1 }, { unique: true });
BoxRewardSchema.index({ subscriptionId: 1, status: 1 });
factSource(BoxRewardSchema, {
  subjectType: 'box_reward',
  linkFields: ['customerId', 'subscriptionId'],
  links: (doc) => ({ merchantId: doc.merchantId as string, customerId: doc.customerId as string, subscriptionId: doc.subscriptionId as string }),
});

export const BoxRewardModel = model<BoxReward>('BoxReward', BoxRewardSchema);
