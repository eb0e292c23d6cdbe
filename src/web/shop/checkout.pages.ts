import { Router, type Request } from 'express';
import { z } from 'zod';
import { findCustomer } from '../../customers/customer.queries';
import { merchantByHandle, type MerchantProfile } from '../../merchants/merchant.queries';
import { NotFoundError } from '../../shared/errors';
import { checkoutSessionOf, getSubscription, type SubscriptionDeps } from '../../subscriptions/subscription.service';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import { deliverSimulatedEvent, type StripeWebhookDeps } from '../../webhooks/stripe-webhook.routes';
import { brandOf, localeOf, longDate, money } from './shop-view';
import { simulatedId } from './stripe-simulation';

/**
 * After the subscribe form: Stripe Checkout takes the payment and sends the shopper back to the welcome page.
 * Offline (stripe-mock: no real Checkout exists), the **checkout simulation** stands in for Stripe's page,
 * clearly marked: its button signs the events Stripe would send when a shopper pays (`checkout.session.completed`,
 * then the first invoice's `invoice.paid`) with the webhook secret in force and delivers them through the
 * webhook endpoint's own path, so the same code completes the subscription as in production.
 */
export interface CheckoutPageDeps {
  subscriptions: SubscriptionDeps;
  webhooks: StripeWebhookDeps;
  simulateCheckout: boolean;
}

const Handle = z.string().regex(/^[a-z0-9-]{3,40}$/);
const SubscriptionId = z.string().regex(/^sub_[0-9a-z]{20}$/);

export function checkoutPages(deps: CheckoutPageDeps): Router {
  const router = Router();
  const clock = deps.subscriptions.clock;

  async function storeOf(req: Request): Promise<MerchantProfile> {
    const handle = Handle.safeParse(req.params.handle);
    const store = handle.success ? await merchantByHandle(handle.data) : undefined;
    if (!store) throw new NotFoundError('There is no store at this address.');
    return store;
  }

  async function subscriptionOf(store: MerchantProfile, id: unknown): Promise<SubscriptionView> {
    const parsed = SubscriptionId.safeParse(id);
    if (!parsed.success) throw new NotFoundError('No such subscription.');
    return getSubscription(deps.subscriptions, store._id, parsed.data);
  }

  router.get('/shop/:handle/checkout/:subscriptionId', async (req, res) => {
    if (!deps.simulateCheckout) throw new NotFoundError('Payment is taken by Stripe Checkout.');
    const store = await storeOf(req);
    const subscription = await subscriptionOf(store, req.params.subscriptionId);
    if (subscription.status !== 'incomplete') return res.redirect(303, `/shop/${store.handle}/welcome?subscription=${subscription.id}`);
    const locale = localeOf(req);
    const first = subscription.nextCharge;
    res.render('shop/checkout-simulation', {
      title: 'Checkout (simulation)',
      brand: brandOf(store),
      subscriptionId: subscription.id,
      plan: `${subscription.box.planName}: ${subscription.box.variantName}`,
      lines: (first?.lines ?? []).map((line) => ({
        description: line.description,
        amount: money(line.amountMinor * line.quantity, first!.total.currency, locale),
      })),
      total: first ? money(first.total.amountMinor, first.total.currency, locale) : null,
      trial:
        subscription.status === 'incomplete' && first && Date.parse(first.chargeAt) > clock.now().getTime() + 3_600_000
          ? longDate(first.cycleKey, locale)
          : null,
    });
  });

  router.post('/shop/:handle/checkout/:subscriptionId', async (req, res) => {
    if (!deps.simulateCheckout) throw new NotFoundError('Payment is taken by Stripe Checkout.');
    const store = await storeOf(req);
    const subscription = await subscriptionOf(store, req.params.subscriptionId);
    if (subscription.status === 'incomplete') await completeSimulatedCheckout(deps, store, subscription);
    res.redirect(303, `/shop/${store.handle}/welcome?subscription=${subscription.id}`);
  });

  router.get('/shop/:handle/welcome', async (req, res) => {
    const store = await storeOf(req);
    const subscription = await subscriptionOf(store, req.query.subscription);
    const locale = localeOf(req);
    const customer = await findCustomer(store._id, subscription.customerId);
    const next = subscription.nextCharge;
    res.render('shop/welcome', {
      title: 'Thank you',
      brand: brandOf(store),
      waiting: subscription.status === 'incomplete',
      plan: `${subscription.box.planName}: ${subscription.box.variantName}`,
      email: customer?.email ?? null,
      nextBox: next ? longDate(next.cycleKey, locale) : null,
    });
  });

  return router;
}

/**
 * What Stripe sends when a shopper pays at Checkout: the session completed (with the Stripe subscription it
 * made), and — unless a trial starts — the first invoice paid for the amount the first box costs.
 */
async function completeSimulatedCheckout(deps: CheckoutPageDeps, store: MerchantProfile, subscription: SubscriptionView): Promise<void> {
  const now = deps.subscriptions.clock.now();
  const stripeSubscriptionId = simulatedId('sub', subscription.id, 'subscription');
  const metadata = { boxcycle_merchant_id: store._id, boxcycle_subscription_id: subscription.id };
  const sessionId = (await checkoutSessionOf(store._id, subscription.id)) ?? simulatedId('cs', subscription.id, 'session');
  await deliverSimulatedEvent(
    deps.webhooks,
    'checkout.session.completed',
    {
      id: sessionId,
      object: 'checkout.session',
      mode: 'subscription',
      client_reference_id: subscription.id,
      subscription: stripeSubscriptionId,
      metadata,
      status: 'complete',
      payment_status: 'paid',
    },
    simulatedId('evt', subscription.id, 'checkout'),
    now,
  );
  const first = subscription.nextCharge;
  const trial = first ? Date.parse(first.chargeAt) > now.getTime() + 3_600_000 : false;
  if (first && !trial) {
    const start = Math.floor(now.getTime() / 1000);
    const invoiceId = simulatedId('in', subscription.id, 'first-invoice');
    await deliverSimulatedEvent(
      deps.webhooks,
      'invoice.paid',
      {
        id: invoiceId,
        object: 'invoice',
        status: 'paid',
        amount_paid: first.total.amountMinor,
        currency: first.total.currency.toLowerCase(),
        billing_reason: 'subscription_create',
        parent: { type: 'subscription_details', subscription_details: { subscription: stripeSubscriptionId, metadata } },
        lines: { object: 'list', data: [{ id: `il_${invoiceId}`, period: { start, end: start }, parent: { type: 'subscription_item_details' } }] },
        status_transitions: { paid_at: start },
      },
      simulatedId('evt', subscription.id, 'first-invoice'),
      now,
    );
  }
}
