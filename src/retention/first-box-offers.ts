import type { Clock } from '../shared/time';
import { standingOf } from '../loyalty/loyalty-standing.service';
import { comebackOfferFor } from '../offers/offer.service';
import { isEligible } from '../perks/eligibility';
import { activePerks } from '../perks/perk.service';
import { promoCodeFor } from '../promotions/promotion.service';
import { attributeReferral } from '../referrals/referral.service';
import type { SubscriptionQuestions } from '../subscriptions/subscription.service';
import type { FirstBoxOffer } from '../subscriptions/subscription.model';

/**
 * The retention layer's answers to what the subscriptions core asks (handed in by src/wiring.ts): the offers
 * that compete for a new subscription's first box, whether a perk opens an add-on early, and a promo code.
 */
export function subscriptionAnswers(deps: { clock: Clock }): SubscriptionQuestions {
  return {
    /**
     * A referral's welcome offer (the referral is recorded now; a code that cannot be used is refused with 422)
     * and a comeback offer for a shopper back within its window.
     */
    async firstBoxOffers(input) {
      const offers: FirstBoxOffer[] = [];
      if (input.referralCode) {
        const referral = await attributeReferral(deps, {
          merchantId: input.merchantId,
          code: input.referralCode,
          friendCustomerId: input.customerId,
          friendSubscriptionId: input.subscriptionId,
          actor: input.actor,
        });
        const welcome = referral.welcomeOffer;
        // An amount offer in another currency than the plan's cannot be given as is: the other offers apply.
        if (welcome.type === 'percent' || welcome.currency === input.plan.currency) {
          offers.push({
            source: 'referral',
            id: referral.referralId,
            description: 'Welcome offer from a friend',
            ...(welcome.type === 'percent' ? { percentOff: welcome.percentOff } : { amountOffMinor: welcome.amountOffMinor }),
          });
        }
      }
      const comeback = await comebackOfferFor(input.merchantId, input.customerId, input.now, input.plan);
      if (comeback?.comeback) {
        const { percentOff, amountOffMinor } = comeback.comeback;
        offers.push({
          source: 'comeback',
          id: comeback._id,
          description: comeback.name,
          ...(percentOff !== undefined ? { percentOff } : { amountOffMinor: amountOffMinor! }),
        });
      }
      return offers;
    },
    /** A promo code, by the promotions domain: its terms or a refusal; its use is counted when the core redeems it. */
    promoCode: (input) => promoCodeFor(input),
    /** An active early-access perk the subscription is eligible for (at that box) opens the add-on before its release. */
    async hasEarlyAccess(subscription, addonId, cycle) {
      const perks = (await activePerks(subscription.merchantId)).filter(
        (perk) => perk.benefit.kind === 'early_access' && perk.benefit.addonIds.includes(addonId),
      );
      if (perks.length === 0) return false;
      const standing = await standingOf(subscription, cycle.chargeOn);
      return perks.some((perk) => isEligible(perk.eligibility, standing));
    },
  };
}
