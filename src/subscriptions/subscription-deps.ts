import { actors, type Actor } from '../events/fact-types';
import type { Logger } from '../shared/logger';
import type { Cycle } from '../shared/calendar';
import type { Clock } from '../shared/time';
import type { StripeGateway } from '../stripe/stripe-gateway';
import type { FirstBoxOffer, PromoDuration, Subscription } from './subscription.model';

/** What keeping a subscription in step with Stripe needs (the sync job has exactly this). */
export interface SubscriptionSyncDeps {
  clock: Clock;
  stripe: StripeGateway;
  logger: Logger;
  /** Who is acting (recorded on the facts a change produces); the system when absent. */
  actor?: Actor;
}

/**
 * What the subscriptions core asks of the retention layer, handed in by the composition root (src/wiring.ts):
 * the core never imports perks, offers or referrals. Each is optional: without it, the core's own rules apply.
 */
export interface SubscriptionQuestions {
  /**
   * Offers that compete with the plan's first-box discount for a new subscription's first box (a referral's
   * welcome offer, a comeback offer). May record the referral; refuses a referral code that cannot be used.
   */
  firstBoxOffers?: (input: {
    merchantId: string;
    customerId: string;
    subscriptionId: string;
    referralCode?: string | undefined;
    plan: { currency: string; priceMinor: number };
    now: Date;
    /** Who subscribes: recorded on the facts the answer records (the referral). */
    actor: Actor;
  }) => Promise<FirstBoxOffer[]>;
  /** Whether a perk opens an add-on before its release date for this subscription's box of `cycle`. */
  hasEarlyAccess?: (subscription: Subscription, addonId: string, cycle: Cycle) => Promise<boolean>;
  /**
   * A promo code the shopper gives, at sign-up or on their subscription: its terms, or a refusal in words
   * (PromoCodeRefusedError: unknown, archived, expired, used up, for new subscribers only, another currency).
   * Counts nothing: `redeem` counts the use once the core has decided to apply it — once per subscription,
   * never past the code's limit whatever the concurrency (refused when used up or expired meanwhile).
   */
  promoCode?: (input: {
    merchantId: string;
    code: string;
    subscriptionId: string;
    customerId: string;
    /** The currency the subscription's boxes are paid in. */
    currency: string;
    /** At sign-up (a new subscriber), or on an existing subscription. */
    signUp: boolean;
    now: Date;
  }) => Promise<{ terms: PromoCodeTerms; redeem: () => Promise<void> }>;
}

/** A promo code's terms, as the promotions layer answers them. */
export interface PromoCodeTerms {
  promoCodeId: string;
  /** In upper case. */
  code: string;
  description: string;
  percentOff?: number;
  amountOffMinor?: number;
  currency?: string;
  duration: PromoDuration;
  /** For `repeating`: how many boxes. */
  boxes?: number;
  /** The code's Stripe coupon (put on the subscription for the boxes it covers) and promotion code (redeemed at sign-up). */
  stripeCouponId: string;
  stripePromotionCodeId: string;
}

export interface SubscriptionDeps extends SubscriptionSyncDeps {
  publicUrl: string;
  questions?: SubscriptionQuestions;
}

export function actorOf(deps: { actor?: Actor | undefined }): Actor {
  return deps.actor ?? actors.system();
}
