import request from 'supertest';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway, type StripeGateway } from '../../../src/stripe/stripe-gateway';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { processDueWebhookEvents } from '../../../src/webhooks/process-event.service';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { buildPaidInvoice } from '../../factories/invoice.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp } from '../../helpers/test-app';
import { testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * A shopper opens Checkout on Mar 10 at 11:00 in New York and pays the next morning at 07:00: Stripe makes
 * the subscription then, and bills every month from that instant (its billing cycle anchor).
 */
const OPENED = '2026-03-10T15:00:00Z';
const PAID = new Date('2026-03-11T11:00:00Z');

async function setUp() {
  const clock = new FakeClock(OPENED);
  const stripeSubscriptionId = `sub_${Math.random().toString(36).slice(2, 12)}`;
  const real = createStripeGateway(testStripe());
  // What Stripe says of the subscription Checkout made (stripe-mock answers a fixture from 2009).
  const gateway: StripeGateway = { ...real, retrieveSubscription: async (id) => ({ id, status: 'active', itemId: 'si_checkout', billingCycleAnchor: PAID }) };
  const testApp = buildTestApp({ clock, stripeGateway: gateway });
  const { app } = testApp;
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
  const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
  const created = (
    await request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: customer.id, planId: plan.id, variantId: plan.variants[0].id, cadence: 'month-1', checkout: true })
      .expect(201)
  ).body;
  const stored = await SubscriptionModel.findById(created.id).lean();
  const metadata = { boxcycle_merchant_id: merchant.id, boxcycle_subscription_id: created.id };
  const driver = renewalDriver(testApp, gateway);
  return {
    clock,
    app,
    merchant,
    created,
    driver,
    view: async () => (await request(app).get(`/api/v1/subscriptions/${created.id}`).set(merchant.auth).expect(200)).body,
    completeCheckout: () =>
      driver.deliver('checkout.session.completed', {
        id: stored!.stripe.checkoutSessionId,
        object: 'checkout.session',
        mode: 'subscription',
        client_reference_id: created.id,
        subscription: stripeSubscriptionId,
        metadata,
      }),
    /** The first invoice, as Stripe sends it: its parent carries the subscription's metadata. */
    payFirstInvoice: () => {
      const invoice = buildPaidInvoice(stripeSubscriptionId, PAID, 2600, `in_first_${created.id.slice(-8)}`);
      return driver.deliver('invoice.paid', {
        ...invoice,
        billing_reason: 'subscription_create',
        parent: { type: 'subscription_details', subscription_details: { subscription: stripeSubscriptionId, metadata } },
      });
    },
    retryDue: async () => {
      clock.advance(61_000);
      await processDueWebhookEvents(driver.deps);
    },
  };
}

describe('a subscription paid through Checkout', () => {
  useTestDatabase();

  test.each([
    ['the Checkout completion comes first', ['checkout', 'invoice'] as const],
    ['the first invoice comes first', ['invoice', 'checkout'] as const],
  ])(
    'when the shopper pays a day after Checkout opened and %s, then the first box is the cycle Stripe billed and the calendar follows Stripe',
    async (_order, steps) => {
      const { app, merchant, clock, created, view, completeCheckout, payFirstInvoice, retryDue } = await setUp();
      clock.set(new Date(PAID.getTime() + 20_000));
      for (const step of steps) expect(await (step === 'checkout' ? completeCheckout() : payFirstInvoice())).toBe(200);
      await retryDue(); // an invoice that came before its Checkout is recorded is retried

      expect(await BoxOrderModel.find({ subscriptionId: created.id }, { cycleKey: 1, status: 1, amountPaidMinor: 1, _id: 0 }).lean()).toEqual([
        { cycleKey: '2026-03-11', status: 'paid', amountPaidMinor: 2600 },
      ]);
      const now = await view();
      expect(now).toMatchObject({ status: 'active', nextCharge: { cycleKey: '2026-04-11', chargeAt: '2026-04-11T11:00:00.000Z' } });
      expect(now.upcomingCycles.slice(0, 2)).toEqual([
        { cycleKey: '2026-03-11', chargeAt: '2026-03-11T11:00:00.000Z', cutoffAt: '2026-03-08T11:00:00.000Z', state: 'charged' },
        { cycleKey: '2026-04-11', chargeAt: '2026-04-11T11:00:00.000Z', cutoffAt: '2026-04-08T11:00:00.000Z', state: 'scheduled' },
      ]);
      expect(now.history.map((e: { type: string }) => e.type)).toEqual(['subscription.created', 'subscription.activated']);
      const paid = (await request(app).get(`/api/v1/subscriptions/${created.id}/events?type=box.paid`).set(merchant.auth).expect(200)).body.data;
      expect(paid).toEqual([expect.objectContaining({ type: 'box.paid', data: expect.objectContaining({ cycleKey: '2026-03-11', amountPaidMinor: 2600 }) })]);
      expect(now.history[1].data).toMatchObject({ via: 'checkout', anchoredAt: PAID.toISOString() });
    },
  );

  test('when Checkout is not paid yet, then the first box is the next charge, awaiting payment, and nothing after it is listed', async () => {
    const { created, view } = await setUp();
    for (const body of [created, await view()]) {
      expect(body).toMatchObject({
        status: 'incomplete',
        nextCharge: { cycleKey: '2026-03-10', chargeAt: '2026-03-10T15:00:00.000Z', total: { amountMinor: 2600, currency: 'USD' } },
        upcomingCycles: [{ cycleKey: '2026-03-10', chargeAt: '2026-03-10T15:00:00.000Z', cutoffAt: '2026-03-07T16:00:00.000Z', state: 'awaiting_payment' }],
      });
    }
  });
});

describe('the first box of a subscription paid with a saved card', () => {
  useTestDatabase();

  test('when the first payment fails and then succeeds, then the first box is listed awaiting payment, then charged, until the second box is charged', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const testApp = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(testApp.app, merchant);
    const stripeId = subscription.stripeSubscriptionId as string;
    const driver = renewalDriver(testApp, createStripeGateway(testStripe()));
    const states = async () =>
      (await request(testApp.app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body.upcomingCycles
        .slice(0, 2)
        .map((c: { cycleKey: string; state: string }) => [c.cycleKey, c.state]);
    expect((subscription.upcomingCycles as Array<{ cycleKey: string; state: string }>).slice(0, 2).map((c) => [c.cycleKey, c.state])).toEqual([
      ['2026-03-02', 'charged'],
      ['2026-04-02', 'scheduled'],
    ]);

    const invoiceId = `in_first_${subscription.id.slice(-8)}`;
    await driver.fail(stripeId, new Date('2026-03-02T15:30:00Z'), invoiceId, 1);
    expect(await states()).toEqual([
      ['2026-03-02', 'awaiting_payment'],
      ['2026-04-02', 'scheduled'],
    ]);
    clock.set('2026-03-03T15:30:00Z');
    await driver.pay(stripeId, new Date('2026-03-02T15:30:00Z'), 2600, invoiceId);
    expect(await states()).toEqual([
      ['2026-03-02', 'charged'],
      ['2026-04-02', 'scheduled'],
    ]);
    clock.set('2026-04-02T15:00:00Z');
    expect(await states()).toEqual([
      ['2026-05-02', 'scheduled'],
      ['2026-06-02', 'scheduled'],
    ]);
  });
});
