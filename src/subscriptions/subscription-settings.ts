import type { Merchant } from '../merchants/merchant.model';

/** What a merchant may offer a shopper who is about to cancel, shown before the cancellation takes effect. */
export interface SaveOfferSettings {
  /** Offer to skip the next box instead. */
  skipNext: boolean;
  /** Offer to pause for up to this many boxes instead (0: no pause offer). */
  pauseCycles: number;
  /** Offer this percentage off the next box instead (0: no discount offer). */
  discountPercentOff: number;
}

/** The merchant's rules for self-service changes. */
export interface SubscriptionSettings {
  /** A cycle's box locks this many local days before its charge (applies to new subscriptions). */
  cutoffDays: number;
  /** How far (in days, either way) a shopper may move their next charge. */
  maxChargeDateShiftDays: number;
  /** Reasons a shopper may give for cancelling (stable codes). */
  cancellationReasons: string[];
  saveOffers: SaveOfferSettings;
  /** What happens when Stripe's payment retries end unpaid: cancel the subscription, or pause it. */
  dunningOutcome: 'cancel' | 'pause';
  // Shipping fees are per currency: src/merchants/shipping-fees.ts.
}

export const DEFAULT_SUBSCRIPTION_SETTINGS: SubscriptionSettings = {
  cutoffDays: 3,
  maxChargeDateShiftDays: 14,
  cancellationReasons: ['too_expensive', 'too_much_product', 'not_using_it', 'quality', 'shipping', 'switching_brand', 'moving', 'other'],
  saveOffers: { skipNext: true, pauseCycles: 2, discountPercentOff: 20 },
  dunningOutcome: 'cancel',
};

/** A merchant's settings: their own choices over the defaults. */
export function subscriptionSettingsOf(merchant: Pick<Merchant, 'subscriptionSettings'>): SubscriptionSettings {
  const own = merchant.subscriptionSettings ?? {};
  return {
    ...DEFAULT_SUBSCRIPTION_SETTINGS,
    ...own,
    saveOffers: { ...DEFAULT_SUBSCRIPTION_SETTINGS.saveOffers, ...(own.saveOffers ?? {}) },
  };
}
