import mongoose from 'mongoose';
import request from 'supertest';
import { buildApp } from '../../../src/app';
import { queueMessage } from '../../../src/messages/message.service';
import { createMetrics, instrumentStripe, registerStateGauges, throttleWaitRecorder, type Metrics } from '../../../src/ops/metrics';
import { databaseReadThrottle } from '../../../src/stripe/stripe-throttle';
import { recordPaidInvoice } from '../../../src/orders/order-payments.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildPaidInvoice } from '../../factories/invoice.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { buildOutgoingMessage } from '../../factories/message.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildEvent, signEvent, TEST_WEBHOOK_SECRET } from '../../helpers/stripe-events';
import { silentLogger, testConfig, testStripe, useTestDatabase } from '../../helpers/test-env';

/** The value of one sample in Prometheus's text format (undefined when the series is absent). */
async function sample(from: Metrics | string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = typeof from === 'string' ? from : await from.registry.metrics();
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (wanted.every(([key, value]) => found[key] === value) && Object.keys(found).length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

function appWith(metrics: Metrics, clock: FakeClock) {
  const stripe = testStripe();
  return buildApp({
    config: testConfig(),
    logger: silentLogger,
    clock,
    connection: mongoose.connection,
    stripe,
    stripeMode: 'stripe-mock',
    webhookSecret: TEST_WEBHOOK_SECRET,
    enqueue: () => Promise.resolve(),
    metrics,
  });
}

describe('Prometheus metrics', () => {
  useTestDatabase();

  test('when API requests are answered, then their latency is counted by route pattern, method and status, never by raw URL', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const metrics = createMetrics({ defaultMetrics: false });
    const app = appWith(metrics, clock);
    const merchant = await createMerchant({}, clock);

    await request(app).get('/api/v1/orders/ord_doesnotexist123').set(merchant.auth).expect(404);
    await request(app).get('/api/v1/orders/ord_another456').set(merchant.auth).expect(404);
    await request(app).get('/api/v1/orders?limit=5').set(merchant.auth).expect(200);
    await request(app).get('/nowhere/at/all').expect(404);

    expect(await sample(metrics, 'boxcycle_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/orders/:id', status: '404' })).toBe(2);
    expect(await sample(metrics, 'boxcycle_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/orders', status: '200' })).toBe(1);
    expect(await sample(metrics, 'boxcycle_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('ord_doesnotexist123');
    expect(text).not.toContain('/nowhere');
  });

  test('when Stripe delivers an event, again, and a forgery, then acknowledgements count each answer and only the new event is queued', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const metrics = createMetrics({ defaultMetrics: false });
    const app = appWith(metrics, clock);
    const stripe = testStripe();
    const { payload, header } = signEvent(stripe, buildEvent('invoice.paid', { id: 'in_metrics1', object: 'invoice' }, clock.now()), clock.now());
    const deliver = (signature: string) =>
      request(app).post('/webhooks/stripe').set('content-type', 'application/json').set('stripe-signature', signature).send(payload);

    await deliver(header).expect(200);
    await deliver(header).expect(200);
    await deliver('t=1,v1=forged').expect(400);

    expect(await sample(metrics, 'boxcycle_webhook_acknowledgements_total', { outcome: 'acknowledged' })).toBe(2);
    expect(await sample(metrics, 'boxcycle_webhook_acknowledgements_total', { outcome: 'refused' })).toBe(1);
    expect(await sample(metrics, 'boxcycle_webhook_events_queued_total')).toBe(1);
    // Their latency is labelled by the route, as every other route's is.
    const route = { method: 'POST', route: '/webhooks/stripe' };
    expect(await sample(metrics, 'boxcycle_http_request_duration_seconds_count', { ...route, status: '200' })).toBe(2);
    expect(await sample(metrics, 'boxcycle_http_request_duration_seconds_count', { ...route, status: '400' })).toBe(1);
  });

  test('when Prometheus scrapes, then the inbox, the facts, the open orders and the outbox are read from the database with their ages on the injected clock', async () => {
    // The gauges read every store: start from what this test makes alone.
    for (const name of ['webhook_events', 'events', 'orders', 'messages']) await mongoose.connection.db!.collection(name).deleteMany({});
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const metrics = createMetrics({ defaultMetrics: false });
    registerStateGauges(metrics, { clock, logger: silentLogger });
    const app = appWith(metrics, clock);
    const merchant = await createMerchant({}, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    await recordPaidInvoice(
      { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger },
      buildPaidInvoice(subscription.stripeSubscriptionId as string, clock.now(), 2600),
    );
    const stripe = testStripe();
    const { payload, header } = signEvent(stripe, buildEvent('customer.created', { id: 'cus_metrics', object: 'customer' }, clock.now()), clock.now());
    await request(app).post('/webhooks/stripe').set('content-type', 'application/json').set('stripe-signature', header).send(payload).expect(200);
    await queueMessage({ clock }, { ...buildOutgoingMessage({ to: 'shopper@example.com' }), merchantId: merchant.id });

    clock.advance(90_000);

    expect(await sample(metrics, 'boxcycle_webhook_inbox_events', { state: 'pending' })).toBe(1);
    expect(await sample(metrics, 'boxcycle_webhook_inbox_events', { state: 'failed' })).toBe(0);
    expect(await sample(metrics, 'boxcycle_webhook_inbox_oldest_pending_age_seconds')).toBe(90);
    expect(await sample(metrics, 'boxcycle_facts_undispatched', { state: 'pending' })).toBeGreaterThan(0);
    expect(await sample(metrics, 'boxcycle_facts_oldest_undispatched_age_seconds', { state: 'pending' })).toBe(90);
    expect(await sample(metrics, 'boxcycle_facts_oldest_undispatched_age_seconds', { state: 'failed' })).toBe(0);
    expect(await sample(metrics, 'boxcycle_orders', { status: 'paid' })).toBe(1);
    expect(await sample(metrics, 'boxcycle_orders', { status: 'reserved' })).toBe(0);
    expect(await sample(metrics, 'boxcycle_orders_stored')).toBe(1);
    expect(await sample(metrics, 'boxcycle_message_outbox', { state: 'pending' })).toBe(1);
    expect(await sample(metrics, 'boxcycle_message_outbox_oldest_due_age_seconds')).toBe(90);
    // The subscription's next cut-off is weeks away: no box waits to be built.
    expect(await sample(metrics, 'boxcycle_renewals_oldest_due_age_seconds')).toBe(0);
    expect(await sample(metrics, 'boxcycle_metrics_collect_errors_total', { reading: 'orders' })).toBeUndefined();
  });

  test('when cut-offs have come and their boxes are not built yet, then the renewal lag is the age of the earliest', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const subscriptions = mongoose.connection.db!.collection('subscriptions');
    await subscriptions.deleteMany({});
    const at = (secondsAgo: number) => new Date(clock.now().getTime() - secondsAgo * 1000);
    await subscriptions.insertMany([
      { _id: 'sub_lag1' as never, renewalDueAt: at(30) },
      { _id: 'sub_lag2' as never, renewalDueAt: at(120) },
      { _id: 'sub_lag3' as never, renewalDueAt: at(-3600) },
      { _id: 'sub_lag4' as never },
    ]);
    const metrics = createMetrics({ defaultMetrics: false });
    registerStateGauges(metrics, { clock, logger: silentLogger });

    expect(await sample(metrics, 'boxcycle_renewals_oldest_due_age_seconds')).toBe(120);
  });

  test('when a reading fails during a scrape, then its gauge reads NaN, the failure is counted, and the other gauges are still served', async () => {
    for (const name of ['orders', 'messages']) await mongoose.connection.db!.collection(name).deleteMany({});
    await mongoose.connection.db!.collection('orders').insertOne({ _id: 'ord_reading' as never, status: 'paid' });
    const metrics = createMetrics({ defaultMetrics: false });
    const stoppedClock = {
      now: () => {
        throw new Error('clock stopped');
      },
    };
    registerStateGauges(metrics, { clock: stoppedClock, logger: silentLogger });

    const scrape = await metrics.registry.metrics();

    expect(await sample(scrape, 'boxcycle_message_outbox_oldest_due_age_seconds')).toBeNaN();
    expect(await sample(scrape, 'boxcycle_metrics_collect_errors_total', { reading: 'message_outbox_age' })).toBe(1);
    expect(await sample(scrape, 'boxcycle_orders', { status: 'paid' })).toBe(1);
  });

  test('when Stripe is called, then calls and answers are counted by method and path pattern, its ids left out', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const stripe = testStripe();
    instrumentStripe(stripe, metrics);

    await stripe.customers.retrieve('cus_OpsMetrics123');
    await stripe.customers.create({ email: 'ops@example.com' });

    const scrape = await metrics.registry.metrics();
    expect(await sample(scrape, 'boxcycle_stripe_requests_total', { method: 'GET', path: '/v1/customers/{id}' })).toBe(1);
    expect(await sample(scrape, 'boxcycle_stripe_requests_total', { method: 'POST', path: '/v1/customers' })).toBe(1);
    expect(await sample(scrape, 'boxcycle_stripe_responses_total', { method: 'GET', path: '/v1/customers/{id}', status: '200' })).toBe(1);
    expect(scrape).not.toContain('cus_OpsMetrics123');
  });

  test('when a Stripe read must wait for the shared read budget, then the wait and its length are counted', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let at = Date.UTC(2031, 0, 1, 0, 0, 0, 250);
    const throttle = databaseReadThrottle({
      perSecond: 1,
      now: () => at,
      sleep: (ms) => {
        at += ms;
        return Promise.resolve();
      },
      onWait: throttleWaitRecorder(metrics),
    });

    await throttle.acquire();
    await throttle.acquire();

    const scrape = await metrics.registry.metrics();
    expect(await sample(scrape, 'boxcycle_stripe_throttle_waits_total', { kind: 'read' })).toBe(1);
    expect(await sample(scrape, 'boxcycle_stripe_throttle_wait_seconds_total', { kind: 'read' })).toBe(0.75);
  });
});
