import mongoose from 'mongoose';
import request from 'supertest';
import { buildApp } from '../../../src/app';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { processDueWebhookEvents, processWebhookEvent } from '../../../src/webhooks/process-event.service';
import { WebhookEventModel } from '../../../src/webhooks/webhook-event.model';
import { createStripeGateway, type StripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildEvent, signEvent, TEST_WEBHOOK_SECRET } from '../../helpers/stripe-events';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testConfig, testStripe, useTestDatabase } from '../../helpers/test-env';
import { followFacts } from '../../helpers/facts';
import { queuedMessages } from '../../helpers/messages';

const post = (app: Parameters<typeof request>[0], signed: { payload: string; header: string }) =>
  request(app).post('/webhooks/stripe').set('stripe-signature', signed.header).set('content-type', 'application/json').send(signed.payload);

describe('POST /webhooks/stripe', () => {
  useTestDatabase();

  test('when an event is delivered twice, then it is stored and queued once and both deliveries are acknowledged', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { app, stripe, queued } = buildTestApp({ clock });
    const event = buildEvent('invoice.upcoming', { id: 'in_1', object: 'invoice' }, clock.now());
    const signed = signEvent(stripe, event, clock.now());
    expect((await post(app, signed).expect(200)).body).toEqual({ received: true, duplicate: false });
    expect((await post(app, signed).expect(200)).body).toEqual({ received: true, duplicate: true });
    expect(await WebhookEventModel.countDocuments({ _id: event.id })).toBe(1);
    expect(queued).toEqual([{ name: 'webhooks.process-event', data: { eventId: event.id } }]);
  });

  test('when queueing its processing never finishes, then the delivery is still acknowledged at once, stored, and queued after the answer', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const stripe = testStripe();
    const queued: string[] = [];
    const app = buildApp({
      webhookSecret: TEST_WEBHOOK_SECRET,
      enqueue: (_name, data) => {
        queued.push(String(data.eventId));
        return new Promise(() => undefined); // a queue that hangs
      },
      config: testConfig(),
      logger: silentLogger,
      clock,
      connection: mongoose.connection,
      stripe,
      stripeMode: 'stripe-mock',
    });
    const event = buildEvent('invoice.upcoming', { id: 'in_hang', object: 'invoice' }, clock.now());
    expect(
      (
        await post(app, signEvent(stripe, event, clock.now()))
          .timeout(5_000)
          .expect(200)
      ).body,
    ).toEqual({ received: true, duplicate: false });
    expect(await WebhookEventModel.findById(event.id).lean()).toMatchObject({ state: 'pending', attempts: 0, payload: event });
    expect(queued).toEqual([event.id]);
  });

  test.each([
    ['a wrong secret', (s: ReturnType<typeof signEvent>) => s, 'whsec_wrong', 0],
    ['a changed body', (s: ReturnType<typeof signEvent>) => ({ ...s, payload: s.payload.replace('in_2', 'in_3') }), undefined, 0],
    ['a signature older than 300 s', (s: ReturnType<typeof signEvent>) => s, undefined, 301_000],
  ])('when a delivery has %s, then it answers 400 invalid_signature and stores nothing', async (_what, tamper, secret, age) => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { app, stripe, queued } = buildTestApp({ clock });
    const event = buildEvent('invoice.upcoming', { id: 'in_2', object: 'invoice' }, clock.now());
    const signed = tamper(signEvent(stripe, event, new Date(clock.now().getTime() - age), secret));
    const res = await post(app, signed).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('/problems/invalid_signature');
    expect(await WebhookEventModel.countDocuments({ _id: event.id })).toBe(0);
    expect(queued).toEqual([]);
  });

  test('when no signing secret is configured, then the endpoint answers 503 and stores nothing', async () => {
    const { app, stripe, clock } = buildTestApp({ webhookSecret: null });
    const res = await post(app, signEvent(stripe, buildEvent('invoice.upcoming', { id: 'in_9' }, clock.now()), clock.now())).expect(503);
    expect(res.body.type).toBe('/problems/service_unavailable');
  });
});

describe('Stripe events drive the subscription lifecycle', () => {
  useTestDatabase();
  const deps = (clock: FakeClock, stripe: StripeGateway = createStripeGateway(testStripe())) => ({ clock, stripe, logger: silentLogger });

  test('when Checkout completes, then the waiting subscription becomes active once, however often the event comes', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { app, stripe } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
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
    const session = {
      id: stored!.stripe.checkoutSessionId,
      object: 'checkout.session',
      mode: 'subscription',
      client_reference_id: created.id,
      subscription: 'sub_fromcheckout',
      metadata: { boxcycle_merchant_id: merchant.id, boxcycle_subscription_id: created.id },
    };
    const event = buildEvent('checkout.session.completed', session, clock.now());
    await post(app, signEvent(stripe, event, clock.now())).expect(200);
    await processWebhookEvent(deps(clock), event.id);
    await processWebhookEvent(deps(clock), event.id);
    await post(app, signEvent(stripe, event, clock.now())).expect(200);

    const res = await request(app).get(`/api/v1/subscriptions/${created.id}`).set(merchant.auth).expect(200);
    expect(res.body).toMatchObject({ status: 'active', stripeSubscriptionId: expect.stringMatching(/^sub_/), nextCharge: { total: { amountMinor: 2600 } } });
    expect(res.body.history.map((e: { type: string }) => e.type)).toEqual(['subscription.created', 'subscription.activated']);
    expect(await WebhookEventModel.findById(event.id).lean()).toMatchObject({ state: 'succeeded', attempts: 1, merchantId: merchant.id });
    // The shopper is told the terms once they have paid, not when the Checkout opened.
    await followFacts(clock);
    await followFacts(clock);
    expect((await queuedMessages({ customerId: customer.id })).map((message) => [message.template, message.factId])).toEqual([
      ['subscription.confirmation', `${created.id}:00000002`],
    ]);
  });

  test('when a cancellation and an older update arrive out of order, then the older one changes nothing', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { app, stripe } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    const stripeId = subscription.stripeSubscriptionId as string;
    const deleted = buildEvent(
      'customer.subscription.deleted',
      { id: stripeId, object: 'subscription', status: 'canceled', canceled_at: 1775037700 },
      new Date('2026-04-01T10:05:00Z'),
    );
    const olderUpdate = buildEvent(
      'customer.subscription.updated',
      { id: stripeId, object: 'subscription', status: 'past_due' },
      new Date('2026-04-01T10:01:00Z'),
    );
    for (const event of [deleted, olderUpdate]) {
      await post(app, signEvent(stripe, event, clock.now())).expect(200);
      await processWebhookEvent(deps(clock), event.id);
    }
    const res = await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200);
    expect(res.body).toMatchObject({ status: 'cancelled', cancellation: { reason: 'stripe', mode: 'now' } });
    expect(res.body.history.map((e: { type: string }) => e.type)).toEqual(['subscription.created', 'subscription.cancelled']);
  });

  test('when a handler fails, then the event is retried with backoff by the sweep and succeeds once', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { app, stripe } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const created = await subscribeShopper(app, merchant);
    await SubscriptionModel.updateOne({ _id: created.subscription.id }, { $set: { status: 'incomplete', 'stripe.checkoutSessionId': 'cs_test_retry' } });
    const event = buildEvent(
      'checkout.session.completed',
      {
        id: 'cs_test_retry',
        object: 'checkout.session',
        mode: 'subscription',
        subscription: 'sub_retry',
        metadata: { boxcycle_merchant_id: merchant.id, boxcycle_subscription_id: created.subscription.id },
      },
      clock.now(),
    );
    await post(app, signEvent(stripe, event, clock.now())).expect(200);
    const down: StripeGateway = { ...createStripeGateway(testStripe()), retrieveSubscription: () => Promise.reject(new Error('Stripe unavailable')) };
    await processWebhookEvent(deps(clock, down), event.id);
    expect(await WebhookEventModel.findById(event.id).lean()).toMatchObject({ state: 'failed', attempts: 1, lastError: 'Stripe unavailable' });

    clock.advance(30_000);
    expect(await processDueWebhookEvents(deps(clock))).toBe(0); // backoff: one minute
    clock.advance(31_000);
    expect(await processDueWebhookEvents(deps(clock))).toBe(1);
    expect(await WebhookEventModel.findById(event.id).lean()).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect((await SubscriptionModel.findById(created.subscription.id).lean())?.status).toBe('active');
    expect(await processDueWebhookEvents(deps(clock))).toBe(0);
  });
});
