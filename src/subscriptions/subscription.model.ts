import { model, Schema } from 'mongoose';
import type { PostalAddress } from '../customers/customer.model';
import { factSource, type FactBearing } from '../events/fact-source';
import type { BillingSchedule } from '../shared/calendar';
import { SUBSCRIPTION_STATUSES, type SubscriptionStatus } from './subscription-states';

export type { SubscriptionStatus };

/** What the shopper receives: a variant of a plan at a cadence, at the price they subscribed at. */
export interface BoxSelection {
  planId: string;
  variantId: string;
  cadenceKey: string;
  /** Our price id (plan.prices); it stays theirs when the plan's price changes, until migrated. */
  priceId: string;
}

/** An extra in the box: once in a given cycle, or in every cycle from one on. */
export interface SubscriptionAddon {
  _id: string;
  addonId: string;
  priceId: string;
  quantity: number;
  kind: 'one_time' | 'recurring';
  /** For one-time extras: the cycle whose box gets it; for recurring ones: the first cycle. */
  fromCycleKey: string;
  addedAt: Date;
}

export interface FirstBoxOffer {
  source: 'plan' | 'referral' | 'comeback';
  /** The referral or the comeback offer. */
  id?: string;
  description: string;
  percentOff?: number;
  amountOffMinor?: number;
}

/** A one-time discount on one box: a save offer accepted instead of cancelling. */
export interface SaveOfferDiscount {
  _id: string;
  source: 'save_offer';
  /** The box it is for. */
  cycleKey: string;
  percentOff: number;
  stripeCouponId?: string;
  createdAt: Date;
}

/** How long a promo code's discount lasts: one box, a number of boxes, or every box. */
export type PromoDuration = 'once' | 'repeating' | 'forever';

/**
 * A promo code applied to the subscription: a percentage or an amount off each box it covers, from the box
 * `cycleKey` (the first open box when it was applied, or the first box at sign-up) to `untilCycleKey`
 * (inclusive; absent for `forever`). The boxes are the calendar's: a box skipped or paused among them uses
 * its place, as Stripe's repeating coupons count months, not invoices.
 */
export interface PromoCodeDiscount {
  _id: string;
  source: 'promo_code';
  cycleKey: string;
  untilCycleKey?: string;
  promoCodeId: string;
  /** The code as the shopper typed it, in upper case. */
  code: string;
  description: string;
  percentOff?: number;
  amountOffMinor?: number;
  currency?: string;
  duration: PromoDuration;
  /** For `repeating`: how many boxes. */
  boxes?: number;
  /**
   * Set when the code covers the first box and is worth more there than the first-box offer, which it then
   * replaces (a box gets one of them). Decided when the code was applied, so our box and Stripe's agree.
   */
  winsFirstBox?: boolean;
  /** The code's Stripe coupon: put on the Stripe subscription for the boxes it covers. */
  stripeCouponId: string;
  createdAt: Date;
}

export type SubscriptionDiscount = SaveOfferDiscount | PromoCodeDiscount;

/**
 * Where one box goes instead of the shopper's address (which every other box goes to): set for that cycle
 * until its cut-off. The box is built and paid to this address.
 */
export interface BoxAddress {
  cycleKey: string;
  address: PostalAddress;
  setAt: Date;
}

/** A subscription records the facts about itself in its own updates (src/events/fact-source.ts). */
export interface Subscription extends Partial<FactBearing> {
  _id: string;
  merchantId: string;
  customerId: string;
  status: SubscriptionStatus;
  box: BoxSelection;
  /** The shopper's second choice: the variant of the box's plan sent when theirs is out of stock at the cut-off. */
  secondChoiceVariantId?: string;
  /** A change the shopper asked for that starts with a later cycle (swap, cadence change). */
  pendingChange?: BoxSelection & { effectiveCycleKey: string; requestedAt: Date };
  /** The billing calendar intent: cycles are computed from it (src/shared/calendar.ts). */
  schedule: BillingSchedule;
  /** Cycle keys (local charge dates) the shopper skipped. */
  skippedCycleKeys: string[];
  /** The cycle of the first charge (the first-box discount applies to it). */
  firstChargeKey: string;
  /**
   * The discount on the first box: the best of the plan's first-box discount, a referral's welcome offer and
   * a comeback offer (offers do not stack). Absent on subscriptions made before offers: the plan's applies.
   */
  firstBoxOffer?: FirstBoxOffer;
  /** Boxes from `startsOn` (the first one not locked when paused) until `resumeOn` (exclusive) are not sent. */
  pause?: { pausedAt: Date; startsOn: string; resumeOn?: string };
  cancellation?: {
    requestedAt: Date;
    reason: string;
    comment?: string;
    mode: 'now' | 'period_end';
    /** When the subscription ends (now, or the end of the paid period). */
    effectiveAt: Date;
  };
  addons: SubscriptionAddon[];
  /**
   * Set while a renewal payment is failing (Stripe retries it). It belongs to the newest failing invoice:
   * cleared when that invoice is paid, when Stripe (in an event newer than the last failure) says the
   * subscription is active again, or when Stripe gives up (unpaid).
   */
  dunning?: {
    stripeInvoiceId: string;
    /** The start of the period the failing invoice bills (absent on records made before it was kept). */
    periodStart?: Date;
    since: Date;
    attempts: number;
    lastFailureAt: Date;
    updatePaymentUrl?: string;
  };
  /**
   * Discounts on given boxes: a save offer accepted instead of cancelling (one box), or a promo code (its
   * boxes: from `cycleKey` to `untilCycleKey`, or on and on). See src/subscriptions/subscription-discounts.ts.
   */
  discounts: SubscriptionDiscount[];
  /** Boxes sent to another address than the shopper's, one entry per cycle (absent on older records). */
  boxAddresses?: BoxAddress[];
  stripe: {
    customerId: string;
    subscriptionId?: string;
    itemId?: string;
    checkoutSessionId?: string;
    couponId?: string;
    /** The next charge must move to this instant (cadence or charge-date change) on the next push. */
    moveNextChargeTo?: Date;
    /** Set once Stripe confirmed the cancellation of a subscription cancelled now. */
    canceledAt?: Date;
    lastSyncError?: string;
    /** The `created` time of the newest Stripe event applied: older information is ignored. */
    lastEventAt?: Date;
  };
  /**
   * When Stripe must next be brought in line: at once after a change or a failed push, then at each charge
   * (the following cycle becomes the one Stripe bills next). The subscriptions.sync-to-stripe job runs it.
   */
  stripeSyncDueAt?: Date;
  /**
   * When the renewals.prepare-boxes job must next look at this subscription: the next box's cut-off, or
   * absent after any change (the job works it out again). See src/renewals/renewal.service.ts.
   */
  renewalDueAt?: Date;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

const BoxSelectionFields = {
  planId: { type: String, required: true },
  variantId: { type: String, required: true },
  cadenceKey: { type: String, required: true },
  priceId: { type: String, required: true },
};

const SubscriptionSchema = new Schema<Subscription>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String, required: true },
    status: { type: String, enum: SUBSCRIPTION_STATUSES, required: true },
    box: { type: new Schema(BoxSelectionFields, { _id: false }), required: true },
    secondChoiceVariantId: { type: String },
    pendingChange: {
      type: new Schema(
        { ...BoxSelectionFields, effectiveCycleKey: { type: String, required: true }, requestedAt: { type: Date, required: true } },
        { _id: false },
      ),
    },
    schedule: { type: Schema.Types.Mixed, required: true },
    skippedCycleKeys: { type: [String], default: [] },
    firstChargeKey: { type: String, required: true },
    firstBoxOffer: { type: Schema.Types.Mixed },
    pause: {
      type: new Schema({ pausedAt: { type: Date, required: true }, startsOn: { type: String, required: true }, resumeOn: { type: String } }, { _id: false }),
    },
    cancellation: {
      type: new Schema(
        {
          requestedAt: { type: Date, required: true },
          reason: { type: String, required: true },
          comment: { type: String },
          mode: { type: String, enum: ['now', 'period_end'], required: true },
          effectiveAt: { type: Date, required: true },
        },
        { _id: false },
      ),
    },
    addons: [
      new Schema<SubscriptionAddon>(
        {
          _id: { type: String, required: true },
          addonId: { type: String, required: true },
          priceId: { type: String, required: true },
          quantity: { type: Number, required: true, min: 1 },
          kind: { type: String, enum: ['one_time', 'recurring'], required: true },
          fromCycleKey: { type: String, required: true },
          addedAt: { type: Date, required: true },
        },
        { _id: false },
      ),
    ],
    dunning: {
      type: new Schema(
        {
          stripeInvoiceId: { type: String, required: true },
          periodStart: { type: Date },
          since: { type: Date, required: true },
          attempts: { type: Number, required: true },
          lastFailureAt: { type: Date, required: true },
          updatePaymentUrl: { type: String },
        },
        { _id: false },
      ),
    },
    discounts: [
      new Schema(
        {
          _id: { type: String, required: true },
          cycleKey: { type: String, required: true },
          untilCycleKey: { type: String },
          percentOff: { type: Number, min: 1, max: 100 },
          amountOffMinor: { type: Number, min: 1, validate: Number.isSafeInteger },
          currency: { type: String, match: /^[A-Z]{3}$/ },
          source: { type: String, enum: ['save_offer', 'promo_code'], required: true },
          promoCodeId: { type: String },
          code: { type: String },
          description: { type: String },
          duration: { type: String, enum: ['once', 'repeating', 'forever'] },
          boxes: { type: Number, min: 1 },
          winsFirstBox: { type: Boolean },
          stripeCouponId: { type: String },
          createdAt: { type: Date, required: true },
        },
        { _id: false },
      ),
    ],
    boxAddresses: {
      type: [
        new Schema<BoxAddress>(
          {
            cycleKey: { type: String, required: true },
            address: {
              type: new Schema<PostalAddress>(
                {
                  line1: { type: String, required: true },
                  line2: { type: String },
                  city: { type: String, required: true },
                  region: { type: String },
                  postalCode: { type: String, required: true },
                  country: { type: String, required: true, match: /^[A-Z]{2}$/ },
                },
                { _id: false },
              ),
              required: true,
            },
            setAt: { type: Date, required: true },
          },
          { _id: false },
        ),
      ],
      default: undefined,
    },
    stripe: {
      type: new Schema(
        {
          customerId: { type: String, required: true },
          subscriptionId: { type: String },
          itemId: { type: String },
          checkoutSessionId: { type: String },
          couponId: { type: String },
          moveNextChargeTo: { type: Date },
          canceledAt: { type: Date },
          lastSyncError: { type: String },
          lastEventAt: { type: Date },
        },
        { _id: false },
      ),
      required: true,
    },
    stripeSyncDueAt: { type: Date },
    renewalDueAt: { type: Date },
    revision: { type: Number, required: true, default: 0 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'subscriptions', timestamps: false, versionKey: false, minimize: false },
);
SubscriptionSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
SubscriptionSchema.index({ merchantId: 1, status: 1, createdAt: -1, _id: -1 });
SubscriptionSchema.index({ merchantId: 1, customerId: 1 });
// By plan, newest first (the merchant's list of subscribers filtered by plan; jobs going through a plan's subscribers).
SubscriptionSchema.index({ merchantId: 1, 'box.planId': 1, createdAt: -1, _id: -1 });
// By status and plan, newest first (the list filtered by both).
SubscriptionSchema.index({ merchantId: 1, status: 1, 'box.planId': 1, createdAt: -1, _id: -1 });
// The merchant's subscriptions that ended in a window (the win-back message).
SubscriptionSchema.index({ merchantId: 1, status: 1, 'cancellation.effectiveAt': 1 });
SubscriptionSchema.index({ stripeSyncDueAt: 1 });
SubscriptionSchema.index({ renewalDueAt: 1 });
// A store's subscriptions with a box to build soon (the fulfilment forecast).
SubscriptionSchema.index({ merchantId: 1, renewalDueAt: 1 });
// The boxes locking in a window, a page at a time (the surprise-gift planner): armed ones by due time, unarmed by id.
SubscriptionSchema.index({ merchantId: 1, status: 1, renewalDueAt: 1, _id: 1 });

/**
 * Every change of a subscription bumps its revision; each such change also re-arms the renewal check (the
 * next box may have moved, been skipped or cancelled), here, so no write path can forget it.
 */
SubscriptionSchema.pre(['findOneAndUpdate', 'updateOne', 'updateMany'], function rearmRenewalCheck() {
  const update = this.getUpdate() as { $inc?: Record<string, unknown>; $unset?: Record<string, unknown> } | null;
  if (update && !Array.isArray(update) && update.$inc && 'revision' in update.$inc) {
    this.setUpdate({ ...update, $unset: { ...(update.$unset ?? {}), renewalDueAt: 1 } });
  }
});
SubscriptionSchema.index({ 'stripe.subscriptionId': 1 });
// The reconciliation with Stripe: live subscriptions of every store, in id order (one scan per status, merged).
SubscriptionSchema.index({ status: 1, _id: 1 });
factSource(SubscriptionSchema, {
  subjectType: 'subscription',
  linkFields: ['customerId'],
  links: (doc) => ({ merchantId: doc.merchantId as string, customerId: doc.customerId as string, subscriptionId: doc._id as string }),
});

export const SubscriptionModel = model<Subscription>('Subscription', SubscriptionSchema);
