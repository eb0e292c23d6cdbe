import { actors, type Actor } from '../events/fact-types';
import type { Logger } from '../shared/logger';
import type { Cycle } from '../shared/calendar';
import type { Clock } from '../shared/time';
import type { StripeGateway } from '../stripe/stripe-gateway';
import type { FirstBoxOffer, Subscription } from './subscription.model';

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
}

export interface SubscriptionDeps extends SubscriptionSyncDeps {
  publicUrl: string;
  questions?: SubscriptionQuestions;
}

export function actorOf(deps: { actor?: Actor | undefined }): Actor {
  return deps.actor ?? actors.system();
}
