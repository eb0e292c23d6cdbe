import { Router, type Response } from 'express';
import { z } from 'zod';
import { paymentDetailsOf } from '../../customers/customer.queries';
import { startCardUpdate, stripeCustomerOf } from '../../customers/customer.service';
import { localDateOf } from '../../shared/calendar';
import { NotFoundError } from '../../shared/errors';
import type { SubscriptionDeps } from '../../subscriptions/subscription.service';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import { deliverSimulatedEvent, type StripeWebhookDeps } from '../../webhooks/stripe-webhook.routes';
import { readForm, type FieldErrors } from '../forms';
import { subscriptionHeader } from './history-view';
import { portalPlace, shopperSubscription, type PortalPlace } from './portal-access';
import { dateIn } from './portal-format';
import { simulatedId } from './stripe-simulation';
import { localeOf } from './shop-view';

/**
 * `/shop/<handle>/subscriptions/<id>/payment`: the card the shopper pays with (brand, last 4, expiry — said
 * plainly when it has expired or expires soon), a banner with a pay-now link while a payment is owed, and
 * "update card". Updating happens on Stripe's page: a billing portal session on its payment-method flow, which
 * comes back here; the new card reaches us as Stripe's `payment_method.attached`. Offline (stripe-mock: no
 * Stripe page exists) a **card-update simulation** stands in for it, clearly marked: the shopper picks a test
 * card and its button sends the event Stripe would send, signed, through the webhook endpoint's own path.
 */
export interface PaymentPageDeps {
  subscriptions: SubscriptionDeps;
  webhooks: StripeWebhookDeps;
  /** The same condition as the checkout simulation: this installation runs against stripe-mock. */
  simulateCheckout: boolean;
}

/** What a card looks like on the page. */
export interface CardWords {
  brand: string;
  last4: string;
  expires: string;
  /** `expired`: it cannot pay; `soon`: it ends this month or next, or before the next charge; `ok`. */
  state: 'expired' | 'soon' | 'ok';
}

const BRANDS: Record<string, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
  diners: 'Diners Club',
  jcb: 'JCB',
  unionpay: 'UnionPay',
  cartes_bancaires: 'Cartes Bancaires',
  eftpos_au: 'eftpos',
  interac: 'Interac',
};

/** Test cards the simulation offers (Stripe's own test numbers' brands and last 4), each valid for three more years. */
const TEST_CARDS = {
  visa: { brand: 'visa', last4: '4242', label: 'Visa ending 4242' },
  mastercard: { brand: 'mastercard', last4: '4444', label: 'Mastercard ending 4444' },
} as const;

const CardChoice = z.strictObject({ card: z.enum(['visa', 'mastercard'], { error: 'Choose a test card' }) });
const PaymentQuery = z.object({ updated: z.union([z.literal('stripe'), z.string().regex(/^pm_[0-9A-Za-z]{6,60}$/)]).optional() });

export function brandName(brand: string): string {
  return BRANDS[brand] ?? brand.charAt(0).toUpperCase() + brand.slice(1).replace(/_/g, ' ');
}

/**
 * A card's expiry in words, as of `today` (`YYYY-MM-DD`, the store's calendar): a card works until the end of
 * its expiry month. `chargeOn`: the next charge's date, if any (a card that ends before it is expiring soon).
 */
export function cardExpiry(
  card: { expMonth: number; expYear: number },
  today: string,
  chargeOn: string | null,
  locale: string,
): Omit<CardWords, 'brand' | 'last4'> {
  const monthIndex = (year: number, month: number) => year * 12 + month - 1;
  const [year, month] = today.split('-').map(Number) as [number, number];
  const last = monthIndex(card.expYear, card.expMonth);
  const monthsLeft = last - monthIndex(year, month);
  const charge = chargeOn ? (chargeOn.split('-').map(Number) as [number, number]) : null;
  const endsBeforeCharge = charge !== null && monthIndex(charge[0], charge[1]) > last;
  const expires = new Intl.DateTimeFormat(locale, { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(card.expYear, card.expMonth - 1, 1));
  return { expires, state: monthsLeft < 0 ? 'expired' : monthsLeft <= 1 || endsBeforeCharge ? 'soon' : 'ok' };
}

export function paymentPages(deps: PaymentPageDeps): Router {
  const router = Router();
  const clock = deps.subscriptions.clock;
  const pathOf = (place: PortalPlace, id: string) => `/shop/${place.store.handle}/subscriptions/${id}/payment`;

  async function detailsOf(place: PortalPlace) {
    const details = await paymentDetailsOf(place.store._id, place.shopper.customerId);
    if (!details) throw new NotFoundError('There is no such subscription.');
    return details;
  }

  router.get('/shop/:handle/subscriptions/:id/payment', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    const view = await shopperSubscription(deps.subscriptions, place, req.params.id);
    const { card } = await detailsOf(place);
    const locale = localeOf(req);
    const tz = place.store.timezone;
    const query = PaymentQuery.safeParse(req.query);
    const updated = query.success ? query.data.updated : undefined;
    const next = view.nextCharge;
    const chargeOn = next ? localDateOf(new Date(next.chargeAt), tz) : null;
    const shown: CardWords | null = card
      ? { brand: brandName(card.brand), last4: card.last4, ...cardExpiry(card, localDateOf(clock.now(), tz), chargeOn, locale) }
      : null;
    res.render('shop/payment', {
      title: `Payment · ${view.box.planName}`,
      ...subscriptionHeader(place, view, 'payment'),
      action: `${pathOf(place, view.id)}/card`,
      card: shown,
      nextCharge: next && shown?.state !== 'ok' ? dateIn(next.chargeAt, tz, locale) : null,
      payNow: payNowOf(view),
      waitingForFirstPayment: view.status === 'incomplete',
      simulated: deps.simulateCheckout,
      receipt: receiptOf(updated, card, shown),
    });
  });

  router.post('/shop/:handle/subscriptions/:id/payment/card', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    const view = await shopperSubscription(deps.subscriptions, place, req.params.id);
    if (deps.simulateCheckout) {
      // The simulation sends Stripe's event about this Stripe customer: make sure it exists (a keyed write).
      await stripeCustomerOf(deps.subscriptions, place.store._id, place.shopper.customerId);
      return res.redirect(303, `${pathOf(place, view.id)}/card-simulation`);
    }
    const page = `${deps.subscriptions.publicUrl}${pathOf(place, view.id)}`;
    const session = await startCardUpdate(deps.subscriptions, place.store._id, place.shopper.customerId, {
      returnUrl: page,
      completedUrl: `${page}?updated=stripe`,
    });
    res.redirect(303, session.url);
  });

  function showSimulation(res: Response, place: PortalPlace, view: SubscriptionView, status = 200, errors: FieldErrors = {}) {
    const year = Number(localDateOf(clock.now(), place.store.timezone).slice(0, 4)) + 3;
    res.status(status).render('shop/card-simulation', {
      title: 'Update your card (simulation)',
      ...subscriptionHeader(place, view, 'payment'),
      action: `${pathOf(place, view.id)}/card-simulation`,
      back: pathOf(place, view.id),
      cards: Object.entries(TEST_CARDS).map(([value, card]) => ({ value, label: card.label, expires: `12/${year}` })),
      errors,
    });
  }

  router.get('/shop/:handle/subscriptions/:id/payment/card-simulation', async (req, res) => {
    if (!deps.simulateCheckout) throw new NotFoundError('Cards are updated on Stripe’s page.');
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    showSimulation(res, place, await shopperSubscription(deps.subscriptions, place, req.params.id));
  });

  router.post('/shop/:handle/subscriptions/:id/payment/card-simulation', async (req, res) => {
    if (!deps.simulateCheckout) throw new NotFoundError('Cards are updated on Stripe’s page.');
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    const view = await shopperSubscription(deps.subscriptions, place, req.params.id);
    const form = readForm(CardChoice, req.body);
    if (!form.ok) return showSimulation(res, place, view, 400, form.errors);
    const paymentMethodId = await attachSimulatedCard(deps, place, form.value.card);
    res.redirect(303, `${pathOf(place, view.id)}?updated=${paymentMethodId}`);
  });

  return router;
}

/** While a payment is owed: where to pay (the open invoice's page, or the first payment's checkout). */
function payNowOf(view: SubscriptionView): string | null {
  return view.dunning?.updatePaymentUrl ?? (view.status === 'incomplete' ? view.checkoutUrl : null);
}

/** After an update: what the page says (the new card once Stripe's word has reached us, else that it is on its way). */
function receiptOf(
  updated: string | undefined,
  card: { stripePaymentMethodId: string } | null,
  shown: CardWords | null,
): { done: boolean; message: string } | null {
  if (!updated) return null;
  if (updated !== 'stripe' && card?.stripePaymentMethodId === updated && shown) {
    return { done: true, message: `Done: you now pay with your ${shown.brand} ending ${shown.last4}.` };
  }
  return { done: false, message: 'Your new card is being saved: it shows here once Stripe confirms it, within a few seconds. Reload the page to see it.' };
}

/**
 * What Stripe sends when a shopper saves a card: `payment_method.attached`, the new card on their Stripe
 * customer. A new payment method for each press, so the latest press wins (as it would at Stripe).
 */
async function attachSimulatedCard(deps: PaymentPageDeps, place: PortalPlace, choice: keyof typeof TEST_CARDS): Promise<string> {
  const now = deps.subscriptions.clock.now();
  const stripeCustomerId = await stripeCustomerOf(deps.subscriptions, place.store._id, place.shopper.customerId);
  const test = TEST_CARDS[choice];
  const expYear = Number(localDateOf(now, place.store.timezone).slice(0, 4)) + 3;
  const paymentMethodId = simulatedId('pm', place.shopper.customerId, `${choice}:${now.getTime()}`);
  await deliverSimulatedEvent(
    deps.webhooks,
    'payment_method.attached',
    {
      id: paymentMethodId,
      object: 'payment_method',
      type: 'card',
      customer: stripeCustomerId,
      card: { brand: test.brand, last4: test.last4, exp_month: 12, exp_year: expYear, funding: 'credit', country: 'US' },
      created: Math.floor(now.getTime() / 1000),
      livemode: false,
    },
    simulatedId('evt', paymentMethodId, 'attached'),
    now,
  );
  return paymentMethodId;
}
