import { findCustomer } from '../customers/customer.queries';
import { ensureStripeCustomer } from '../customers/customer.service';
import { initialFacts } from '../events/fact-source';
import { merchantProfile } from '../merchants/merchant.queries';
import { canFillPlanLine } from '../orders/order-stock.service';
import { findPlan } from '../plans/plan.queries';
import { cycleAt, localDateOf, localTimeOf, type BillingSchedule } from '../shared/calendar';
import { isDuplicateKeyError } from '../shared/db';
import { InvalidStateError, invalidInput, NotFoundError, OutOfStockError, PromoCodeRefusedError } from '../shared/errors';
import { derivedId, newId } from '../shared/ids';
import { firstBoxOff, planFirstBoxOffer } from './box-contents';
import { actorOf, type SubscriptionDeps, type SubscriptionQuestions } from './subscription-deps';
import { beatsFirstBoxOffer, promoCodeDiscount, promoCodeSummary } from './subscription-discounts';
import { subscriptionSettingsOf } from './subscription-settings';
import { findSubscription, subscriptionFact } from './subscription-store';
import { toSubscriptionView } from './subscription-views';
import { SubscriptionModel, type BoxSelection, type FirstBoxOffer, type PromoCodeDiscount, type Subscription } from './subscription.model';
import type { CreateSubscriptionBody, SubscriptionView } from './subscription.schemas';
import { PUSH_AFTER_CHARGE_MS, stripePriceOf } from './subscription-stripe-sync.service';

const DAY_MS = 86_400_000;

/**
 * Subscribes a customer: with a saved payment method the Stripe subscription is created now (its first
 * invoice charges the first box, or a trial starts); with `checkout: true` a Stripe Checkout Session is
 * created and the subscription waits, `incomplete`, for Stripe to confirm payment. A promo code competes for
 * the first box with the first-box offers (src/subscriptions/subscription-discounts.ts); its use is counted
 * once it applies, and the Stripe subscription (or the Checkout Session) redeems its promotion code when it
 * won the first box. Records `subscription.created`.
 */
export async function createSubscription(
  deps: SubscriptionDeps,
  merchantId: string,
  input: CreateSubscriptionBody,
  idempotencyKey?: string,
): Promise<SubscriptionView> {
  // With an Idempotency-Key the id, and so every Stripe key below, is the same on a retry after a failure:
  // Stripe answers the retry with the objects it already made, and a finished attempt is found here.
  const id = idempotencyKey ? derivedId('sub', `${merchantId}:${idempotencyKey}`) : newId('sub');
  const existing = await SubscriptionModel.findOne({ _id: id, merchantId }).lean();
  if (existing) return toSubscriptionView(existing, deps.clock.now(), { history: true });

  const [merchant, customer, plan] = await Promise.all([
    merchantProfile(merchantId),
    findCustomer(merchantId, input.customerId),
    findPlan(merchantId, input.planId),
  ]);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  if (!customer) throw invalidInput('customerId', 'is not one of your customers');
  if (!plan) throw invalidInput('planId', 'is not one of your plans');
  if (plan.status !== 'active') throw new InvalidStateError('This plan is archived and takes no new subscribers.');
  const variant = plan.variants.find((v) => v._id === input.variantId && v.status === 'active');
  if (!variant) throw invalidInput('variantId', 'is not an offered variant of this plan');
  const cadence = plan.cadences.find((c) => c.key === input.cadence && c.status === 'active');
  if (!cadence)
    throw invalidInput(
      'cadence',
      `is not offered; offered: ${plan.cadences
        .filter((c) => c.status === 'active')
        .map((c) => c.key)
        .join(', ')}`,
    );
  // Without a trial the first box is charged now (or at Checkout) and made at payment: refuse a box that
  // nothing on hand can fill. With a trial it is built at its cut-off, and skipped with no charge if it cannot ship.
  if (plan.trialDays === 0 && !(await canFillPlanLine(merchantId, plan, variant._id, undefined))) {
    const substitutes = (variant.substituteSkus ?? []).length > 0 ? ', and so are the variants sent in its place' : '';
    throw new OutOfStockError(
      `${variant.name} is out of stock${substitutes}: its first box cannot be sent. Choose another variant, or subscribe when it is back in stock.`,
    );
  }
  const stripePriceId = stripePriceOf(plan, cadence.currentPriceId);
  const stripeCustomerId = await ensureStripeCustomer(deps, customer);

  const now = deps.clock.now();
  // Cycle 0 is the first charge: now, or when the trial ends. Stripe renews at that instant's time of day,
  // so the calendar uses the same local time; later cycles are computed from this anchor.
  const trialEnd = plan.trialDays > 0 ? new Date(now.getTime() + plan.trialDays * DAY_MS) : undefined;
  const firstChargeAt = trialEnd ?? now;
  const schedule: BillingSchedule = {
    cadence: { interval: cadence.interval, intervalCount: cadence.intervalCount },
    anchorOn: localDateOf(firstChargeAt, merchant.timezone),
    chargeAt: localTimeOf(firstChargeAt, merchant.timezone),
    timezone: merchant.timezone,
    cutoffDays: subscriptionSettingsOf(merchant).cutoffDays,
  };
  // The first box gets the best of the plan's discount and the offers the retention layer answers with
  // (a referral's welcome offer, a comeback offer): offers do not stack.
  const firstPriceMinor = plan.prices.find((p) => p._id === cadence.currentPriceId)?.amountMinor ?? 0;
  // A promo code is looked up first (counted only once it applies, below): a code that cannot be used stops here.
  let promo: Awaited<ReturnType<NonNullable<SubscriptionQuestions['promoCode']>>> | undefined;
  if (input.promoCode) {
    if (!deps.questions?.promoCode) throw invalidInput('promoCode', 'promo codes are not available');
    promo = await deps.questions.promoCode({
      merchantId,
      code: input.promoCode,
      subscriptionId: id,
      customerId: customer._id,
      currency: plan.currency,
      signUp: true,
      now,
    });
  }
  const offers: FirstBoxOffer[] = plan.firstBoxDiscount ? [planFirstBoxOffer(plan.firstBoxDiscount)] : [];
  if (deps.questions?.firstBoxOffers) {
    offers.push(
      ...(await deps.questions.firstBoxOffers({
        merchantId,
        customerId: customer._id,
        subscriptionId: id,
        referralCode: input.referralCode,
        plan: { currency: plan.currency, priceMinor: firstPriceMinor },
        now,
        actor: actorOf(deps),
      })),
    );
  } else if (input.referralCode) {
    throw invalidInput('referralCode', 'referrals are not available');
  }
  const firstBoxOffer = offers.sort((a, b) => firstBoxOff(b, firstPriceMinor) - firstBoxOff(a, firstPriceMinor))[0];
  // A promo code competes for the first box too: the one worth most applies there (a box gets one discount);
  // a code for one box that is worth less gives nothing, and is refused rather than silently unused. A code
  // lasting several boxes counts the first among them and carries on after it.
  let promoDiscount: PromoCodeDiscount | undefined;
  if (promo) {
    const winsFirstBox = beatsFirstBoxOffer(promo.terms, firstBoxOffer, firstPriceMinor);
    if (!winsFirstBox && promo.terms.duration === 'once') {
      throw new PromoCodeRefusedError(
        `The first box already has a better discount (${firstBoxOffer!.description}); the promo code ${promo.terms.code} does not add to it.`,
        'better_discount',
      );
    }
    await promo.redeem();
    promoDiscount = promoCodeDiscount(id, promo.terms, schedule, cycleAt(schedule, 0), { winsFirstBox, now });
  }
  const promotionCodeId = promoDiscount?.winsFirstBox ? promo!.terms.stripePromotionCodeId : undefined;
  let couponId: string | undefined;
  if (firstBoxOffer && !promotionCodeId) {
    couponId = (
      await deps.stripe.createCoupon(
        {
          name: firstBoxOffer.description,
          ...(firstBoxOffer.percentOff !== undefined
            ? { percentOff: firstBoxOffer.percentOff }
            : { amountOffMinor: firstBoxOffer.amountOffMinor!, currency: plan.currency }),
          metadata: { boxcycle_merchant_id: merchantId, boxcycle_subscription_id: id, boxcycle_offer: firstBoxOffer.source },
        },
        `subscription:${id}:first-box-coupon:${firstBoxOffer.source}`,
      )
    ).id;
  }
  const metadata = { boxcycle_merchant_id: merchantId, boxcycle_subscription_id: id };
  const box: BoxSelection = { planId: plan._id, variantId: variant._id, cadenceKey: cadence.key, priceId: cadence.currentPriceId };
  const base: Subscription = {
    _id: id,
    merchantId,
    customerId: customer._id,
    status: 'incomplete',
    box,
    schedule,
    skippedCycleKeys: [],
    firstChargeKey: schedule.anchorOn,
    ...(firstBoxOffer ? { firstBoxOffer } : {}),
    addons: [],
    discounts: promoDiscount ? [promoDiscount] : [],
    stripe: { customerId: stripeCustomerId, ...(couponId ? { couponId } : {}) },
    // With a code, Stripe is brought in line after the first charge (the code's coupon for the boxes it covers).
    ...(promoDiscount && !input.checkout ? { stripeSyncDueAt: new Date(firstChargeAt.getTime() + PUSH_AFTER_CHARGE_MS) } : {}),
    revision: 0,
    createdAt: now,
    updatedAt: now,
  };

  let checkoutUrl: string | null = null;
  if (input.checkout) {
    const session = await deps.stripe.createCheckoutSession(
      {
        customerId: stripeCustomerId,
        priceId: stripePriceId,
        // Back to the store's pages: the welcome page waits for Stripe's word, the storefront says nothing was charged.
        successUrl: `${deps.publicUrl}/shop/${merchant.handle ?? merchant._id}/welcome?subscription=${id}`,
        cancelUrl: `${deps.publicUrl}/shop/${merchant.handle ?? merchant._id}?checkout=cancelled`,
        ...(plan.trialDays > 0 ? { trialDays: plan.trialDays } : {}),
        ...(promotionCodeId ? { promotionCodeId } : couponId ? { couponId } : {}),
        clientReferenceId: id,
        metadata,
      },
      `subscription:${id}:checkout`,
    );
    base.stripe.checkoutSessionId = session.id;
    checkoutUrl = session.url;
  } else {
    const created = await deps.stripe.createSubscription(
      {
        customerId: stripeCustomerId,
        priceId: stripePriceId,
        defaultPaymentMethod: input.paymentMethodId!,
        ...(trialEnd ? { trialEnd } : {}),
        ...(promotionCodeId ? { promotionCodeId } : couponId ? { couponId } : {}),
        metadata,
      },
      `subscription:${id}:create`,
    );
    base.stripe.subscriptionId = created.id;
    base.stripe.itemId = created.itemId;
    // Stripe confirms the first payment by webhook (invoice.paid); until then we trust what it answered.
    base.status = trialEnd ? 'trialing' : created.status === 'active' ? 'active' : 'incomplete';
  }
  const created = subscriptionFact(deps, 'subscription.created', {
    planId: plan._id,
    variantId: variant._id,
    cadence: cadence.key,
    priceId: cadence.currentPriceId,
    priceMinor: firstPriceMinor,
    currency: plan.currency,
    status: base.status,
    via: input.checkout ? 'checkout' : 'payment_method',
    // The saved card it was made with: the shopper's card is recorded from it (a listener reads it from Stripe).
    ...(input.checkout ? {} : { paymentMethodId: input.paymentMethodId }),
    ...(firstBoxOffer ? { firstBoxOffer: { source: firstBoxOffer.source, description: firstBoxOffer.description } } : {}),
    ...(promoDiscount ? { promoCode: { ...promoCodeSummary(promoDiscount), winsFirstBox: promoDiscount.winsFirstBox === true } } : {}),
    ...(trialEnd ? { trialEndsAt: trialEnd.toISOString() } : {}),
  });
  try {
    await SubscriptionModel.create({ ...base, ...initialFacts(created) });
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // a concurrent retry of the same request stored it
    return toSubscriptionView(await findSubscription(merchantId, id), now, { history: true });
  }
  return toSubscriptionView(base, now, { history: true, checkoutUrl });
}
