import type { BoxExtras } from './orders/order.service';
import { boxExtras } from './retention/box-extras.service';
import { subscriptionAnswers } from './retention/first-box-offers';
import type { Clock } from './shared/time';
import type { SubscriptionQuestions } from './subscriptions/subscription.service';

/**
 * Questions in: what the billing core asks of the retention layer, answered here, at the top of the house.
 * The core (subscriptions, orders, renewals) never imports perks, offers, referrals, gifts, loyalty or promotions; it is
 * handed these functions by the composition root (src/api.ts for the API, src/runtime.ts for the worker).
 */
export interface CoreAnswers {
  /** For subscriptions: first-box offers (referral, comeback), early access to an add-on, and promo codes. */
  subscriptions: SubscriptionQuestions;
  /** For renewals: what goes in a box besides what the shopper chose (shipping, gift, perks, offers, credit). */
  boxExtras: BoxExtras;
}

export function coreAnswers(deps: { clock: Clock }): CoreAnswers {
  return { subscriptions: subscriptionAnswers(deps), boxExtras: boxExtras(deps.clock) };
}
