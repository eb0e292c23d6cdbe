import { cycleAt, type BillingSchedule, type Cycle } from '../shared/calendar';
import { derivedId } from '../shared/ids';
import { percentOf } from '../shared/money';
import type { PromoCodeTerms } from './subscription-deps';
import type { FirstBoxOffer, PromoCodeDiscount, SaveOfferDiscount, Subscription, SubscriptionDiscount } from './subscription.model';

/**
 * The discounts a subscription has on its boxes, read one way by the box builder, the views and the Stripe
 * sync. Pure functions of the subscription.
 *
 * The rule for stacking: a box gets at most one discount from sign-up offers and promo codes. On the first
 * box, the plan's first-box discount, a referral's welcome offer, a comeback offer and a promo code compete,
 * and the one worth most on the plan's price applies (`winsFirstBox` records the code's win, decided when it
 * was applied, so our box and Stripe's invoice agree); a code lasting several boxes counts the first box
 * among them even when another offer won it. A save offer accepted instead of cancelling is the merchant's
 * one-time retention gesture and applies on top.
 */

export function isPromoCodeDiscount(discount: SubscriptionDiscount): discount is PromoCodeDiscount {
  return discount.source === 'promo_code';
}

export function promoCodeDiscountsOf(subscription: Pick<Subscription, 'discounts'>): PromoCodeDiscount[] {
  return (subscription.discounts ?? []).filter(isPromoCodeDiscount);
}

/** The save offer's one-time discount on this box, if the shopper took one for it. */
export function saveOfferDiscountFor(subscription: Pick<Subscription, 'discounts'>, cycleKey: string): SaveOfferDiscount | undefined {
  return (subscription.discounts ?? []).find((d): d is SaveOfferDiscount => d.source === 'save_offer' && d.cycleKey === cycleKey);
}

/** Whether a promo code's discount covers the box of this cycle (cycle keys are local dates: they sort). */
export function covers(discount: Pick<PromoCodeDiscount, 'cycleKey' | 'untilCycleKey'>, cycleKey: string): boolean {
  return discount.cycleKey <= cycleKey && (discount.untilCycleKey === undefined || cycleKey <= discount.untilCycleKey);
}

/**
 * The promo code discounting this cycle's box, if any: one covering it, and on the first box only the code
 * that won it over the first-box offers.
 */
export function promoCodeDiscountFor(subscription: Pick<Subscription, 'discounts' | 'firstChargeKey'>, cycleKey: string): PromoCodeDiscount | undefined {
  return promoCodeDiscountsOf(subscription).find(
    (discount) => covers(discount, cycleKey) && (cycleKey !== subscription.firstChargeKey || discount.winsFirstBox === true),
  );
}

/** The code still running from this box on (the first open one): one code at a time. */
export function runningPromoCode(subscription: Pick<Subscription, 'discounts'>, from: Cycle): PromoCodeDiscount | undefined {
  return promoCodeDiscountsOf(subscription).find((discount) => discount.untilCycleKey === undefined || discount.untilCycleKey >= from.cycleKey);
}

/** What a promo code takes off a box whose lines come to `subtotalMinor` (never more than that; nothing in another currency). */
export function promoCodeOff(discount: Pick<PromoCodeDiscount, 'percentOff' | 'amountOffMinor' | 'currency'>, subtotalMinor: number, currency: string): number {
  if (subtotalMinor <= 0) return 0;
  if (discount.percentOff !== undefined) return percentOf(subtotalMinor, discount.percentOff);
  if (discount.currency !== currency) return 0;
  return Math.min(discount.amountOffMinor ?? 0, subtotalMinor);
}

/** Whether a code is worth more than the first-box offer on the plan's price (a tie keeps the offer). */
export function beatsFirstBoxOffer(
  code: Pick<PromoCodeDiscount, 'percentOff' | 'amountOffMinor'>,
  offer: FirstBoxOffer | undefined,
  planPriceMinor: number,
): boolean {
  if (!offer) return true;
  const off = (terms: { percentOff?: number | undefined; amountOffMinor?: number | undefined }) =>
    terms.percentOff !== undefined ? percentOf(planPriceMinor, terms.percentOff) : Math.min(terms.amountOffMinor ?? 0, planPriceMinor);
  return off(code) > off(offer);
}

/**
 * A promo code's discount on a subscription, from the box `from` on: that box alone (`once`), `boxes` boxes of
 * the calendar, or every box. One per code and subscription (its id is derived from both).
 */
export function promoCodeDiscount(
  subscriptionId: string,
  terms: PromoCodeTerms,
  schedule: BillingSchedule,
  from: Cycle,
  options: { winsFirstBox: boolean; now: Date },
): PromoCodeDiscount {
  const last = terms.duration === 'once' ? from : terms.duration === 'repeating' ? cycleAt(schedule, from.index + (terms.boxes ?? 1) - 1) : undefined;
  return {
    _id: derivedId('sdis', `${subscriptionId}:${terms.promoCodeId}`),
    source: 'promo_code',
    cycleKey: from.cycleKey,
    ...(last ? { untilCycleKey: last.cycleKey } : {}),
    promoCodeId: terms.promoCodeId,
    code: terms.code,
    description: terms.description,
    ...(terms.percentOff !== undefined ? { percentOff: terms.percentOff } : { amountOffMinor: terms.amountOffMinor!, currency: terms.currency! }),
    duration: terms.duration,
    ...(terms.boxes !== undefined ? { boxes: terms.boxes } : {}),
    ...(options.winsFirstBox ? { winsFirstBox: true } : {}),
    stripeCouponId: terms.stripeCouponId,
    createdAt: options.now,
  };
}

/** What a code's discount says of itself, for facts and views. */
export function promoCodeSummary(discount: PromoCodeDiscount) {
  return {
    promoCodeId: discount.promoCodeId,
    code: discount.code,
    description: discount.description,
    ...(discount.percentOff !== undefined ? { percentOff: discount.percentOff } : { amountOffMinor: discount.amountOffMinor, currency: discount.currency }),
    duration: discount.duration,
    ...(discount.boxes !== undefined ? { boxes: discount.boxes } : {}),
    fromCycleKey: discount.cycleKey,
    untilCycleKey: discount.untilCycleKey ?? null,
  };
}
