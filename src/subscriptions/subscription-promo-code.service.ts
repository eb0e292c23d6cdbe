import { InvalidStateError, invalidInput, PromoCodeRefusedError } from '../shared/errors';
import { planFirstBoxOffer, plansOf } from './box-contents';
import { boxFor, firstOpenChargedCycle, firstOpenCycle } from './subscription-calendar';
import { changed, requireCan } from './subscription-changes.service';
import type { SubscriptionDeps } from './subscription-deps';
import { beatsFirstBoxOffer, promoCodeDiscount, promoCodeDiscountsOf, promoCodeSummary, runningPromoCode } from './subscription-discounts';
import { applyChange, findSubscription } from './subscription-store';
import { toSubscriptionView } from './subscription-views';
import type { SubscriptionView } from './subscription.schemas';

/**
 * A shopper (from their portal or a shopper session) or the merchant applies a promo code to a subscription.
 * The code discounts boxes from the first open box that will be charged: that box (`once`), a number of
 * boxes, or every box. Refused with `/problems/promo_code_refused` and the reason in words: a code that does
 * not exist, is archived, expired or used up, is for new subscribers only, takes an amount in another
 * currency, was used on this subscription before, or while another code is still running (one code at a
 * time); on a first box not charged yet, a one-box code worth less than its first-box offer.
 * Applying the code running already changes nothing (its use is counted once). The use is counted before the
 * change is written (never past the code's limit); the discount is recorded with `subscription.promo_code_applied`
 * in the same write, and Stripe gets the code's coupon for the boxes it covers.
 */
export async function applyPromoCode(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, code: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'applyPromoCode');
  if (subscription.cancellation) throw new InvalidStateError('This subscription is ending: reactivate it to use a promo code.');
  if (!deps.questions?.promoCode) throw invalidInput('code', 'promo codes are not available');
  const typed = code.trim().toUpperCase();
  const now = deps.clock.now();
  const open = firstOpenCycle(subscription, now);

  const same = promoCodeDiscountsOf(subscription).find((discount) => discount.code === typed);
  if (same) {
    if (same.untilCycleKey === undefined || same.untilCycleKey >= open.cycleKey) return toSubscriptionView(subscription, now, { history: true });
    throw new PromoCodeRefusedError(`The promo code ${typed} was used on this subscription already.`, 'already_used');
  }
  const running = runningPromoCode(subscription, open);
  if (running) {
    const until = running.untilCycleKey ? `until its box of ${running.untilCycleKey}` : 'on every box';
    throw new PromoCodeRefusedError(`This subscription has the promo code ${running.code} ${until}; one code at a time.`, 'one_at_a_time');
  }
  const from = firstOpenChargedCycle(subscription, now);
  if (!from) throw new InvalidStateError('No coming box of this subscription will be charged: a promo code would apply to none.');
  const plans = await plansOf(subscription);
  const box = boxFor(subscription, from);
  const plan = plans.get(box.planId);
  const price = plan?.prices.find((p) => p._id === box.priceId);
  if (!plan || !price) throw new Error(`subscription ${subscription._id} refers to a missing plan part`);

  const answer = await deps.questions.promoCode({
    merchantId,
    code: typed,
    subscriptionId: subscription._id,
    customerId: subscription.customerId,
    currency: price.currency,
    signUp: false,
    now,
  });
  // The first box (a trial's, not charged yet) gets one discount: the code competes with its first-box offer.
  let winsFirstBox = false;
  if (from.cycleKey === subscription.firstChargeKey) {
    const offer = subscription.firstBoxOffer ?? (plan.firstBoxDiscount ? planFirstBoxOffer(plan.firstBoxDiscount) : undefined);
    winsFirstBox = beatsFirstBoxOffer(answer.terms, offer, price.amountMinor);
    if (!winsFirstBox && answer.terms.duration === 'once') {
      throw new PromoCodeRefusedError(
        `The first box already has a better discount (${offer!.description}); the promo code ${answer.terms.code} does not add to it.`,
        'better_discount',
      );
    }
  }
  await answer.redeem();
  const discount = promoCodeDiscount(subscription._id, answer.terms, subscription.schedule, from, { winsFirstBox, now });
  // A concurrent change makes this a 409 to retry; the use stays counted for this subscription, once.
  const updated = await applyChange(deps, subscription, { $push: { discounts: discount } }, 'subscription.promo_code_applied', {
    ...promoCodeSummary(discount),
    ...(winsFirstBox ? { winsFirstBox } : {}),
  });
  return changed(deps, updated);
}
