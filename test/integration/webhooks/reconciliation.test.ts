import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import request from 'supertest';
import type Stripe from 'stripe';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway, type StripeGateway } from '../../../src/stripe/stripe-gateway';
import { reconcileSubscriptionsWithStripe } from '../../../src/subscriptions/subscription-reconcile.service';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { HANDLERS, processWebhookEvent } from '../../../src/webhooks/process-event.service';
import { reconcileStripeEvents } from '../../../src/webhooks/reconciliation.service';
import { WebhookEventModel } from '../../../src/webhooks/webhook-event.model';
import { receiveEvent } from '../../../src/webhooks/webhook-inbox.service';
import { buildPaidInvoice } from '../../factories/invoice.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildEvent } from '../../helpers/stripe-events';
import { buildTestApp, recordStripeCalls } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * A Stripe whose event list the test controls: `listEvents` answers the events of `events` of the asked
 * types created at or after `createdFrom` (as Stripe filters them), oldest first, and records each ask.
 */
function controlledEventSource(events: Array<Record<string, unknown> & { id: string }>) {
  const asks: Array<{ createdFrom: Date; types: string[] }> = [];
  const gateway: StripeGateway = {
    ...createStripeGateway(testStripe()),
    listEvents: async function* ({ createdFrom, types }) {
      asks.push({ createdFrom, types });
      const listed = events
        .filter((e) => (e.created as number) * 1000 >= createdFrom.getTime() && types.includes(e.type as string))
        .sort((a, b) => (a.created as number) - (b.created as number));
      yield* listed as unknown as Stripe.Event[];
    },
  };
  return { gateway, asks };
}

const invoiceId = () => `in_${randomBytes(8).toString('hex')}`;

describe('reconcileStripeEvents: events the endpoint never received', () => {
  useTestDatabase();
  // The cursor is one per database: each test starts as if reconciliation never ran.
  beforeEach(async () => {
    await mongoose.connection.collection('reconciliation_cursors').deleteMany({});
  });

  test('when an invoice.paid never reached the endpoint, then it is stored and processed (one order), and one already received is not processed again', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const received = (await subscribeShopper(app, merchant)).subscription;
    const missed = (await subscribeShopper(app, merchant)).subscription;
    const paidAt = new Date('2026-03-02T15:30:10Z');
    const receivedEvent = buildEvent('invoice.paid', buildPaidInvoice(received.stripeSubscriptionId as string, paidAt, 2600, invoiceId()), paidAt);
    const missedEvent = buildEvent('invoice.paid', buildPaidInvoice(missed.stripeSubscriptionId as string, paidAt, 2600, invoiceId()), paidAt);
    const unhandled = buildEvent('customer.created', { id: 'cus_x', object: 'customer' }, paidAt);
    const { gateway, asks } = controlledEventSource([receivedEvent, missedEvent, unhandled]);
    const deps = { clock, stripe: gateway, logger: silentLogger };

    clock.set('2026-03-02T15:31:00Z');
    await receiveEvent(clock, receivedEvent as never);
    await processWebhookEvent(deps, receivedEvent.id);
    const before = (await WebhookEventModel.findById(receivedEvent.id).lean())!;
    expect(before).toMatchObject({ state: 'succeeded', attempts: 1 });

    clock.set('2026-03-02T16:00:00Z');
    expect(await reconcileStripeEvents(deps)).toEqual({ listed: 2, recovered: 1 });

    expect(asks).toHaveLength(1);
    expect(asks[0]!.createdFrom).toEqual(new Date('2026-01-31T16:00:00Z')); // first run: as far back as Stripe keeps events (30 days)
    expect([...asks[0]!.types].sort()).toEqual(Object.keys(HANDLERS).sort());
    expect(await WebhookEventModel.findById(missedEvent.id).lean()).toMatchObject({
      state: 'succeeded',
      attempts: 1,
      merchantId: merchant.id,
      receivedAt: new Date('2026-03-02T16:00:00Z'),
    });
    expect(await BoxOrderModel.find({ subscriptionId: missed.id }).lean()).toEqual([
      expect.objectContaining({ status: 'paid', cycleKey: '2026-03-02', amountPaidMinor: 2600 }),
    ]);
    // The one already received: untouched, and still one order.
    expect(await WebhookEventModel.findById(receivedEvent.id).lean()).toEqual(before);
    expect(await BoxOrderModel.countDocuments({ subscriptionId: received.id })).toBe(1);
    const paidFacts = (await request(app).get(`/api/v1/subscriptions/${received.id}/events?type=box.paid`).set(merchant.auth).expect(200)).body.data;
    expect(paidFacts).toHaveLength(1);
    expect(await WebhookEventModel.countDocuments({ _id: unhandled.id })).toBe(0);
  });

  test('when a listed event is rendered in an older API version, then its object is re-read in ours before the handler sees it', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    const paidAt = new Date('2026-03-02T15:30:10Z');
    const id = invoiceId();
    // The 2020 shape: the subscription on the invoice itself, no `parent`.
    const old = {
      ...buildEvent('invoice.paid', { id, object: 'invoice', subscription: subscription.stripeSubscriptionId, amount_paid: 2600 }, paidAt),
      api_version: '2020-08-27',
    };
    const source = controlledEventSource([old]);
    const refreshed: string[] = [];
    const gateway: StripeGateway = {
      ...source.gateway,
      refreshEventObject: async (event) => {
        refreshed.push(event.id);
        return {
          ...event,
          api_version: '2026-08-26.dahlia',
          data: { object: buildPaidInvoice(subscription.stripeSubscriptionId as string, paidAt, 2600, id) },
        } as unknown as Stripe.Event;
      },
    };
    clock.set('2026-03-02T16:00:00Z');
    expect(await reconcileStripeEvents({ clock, stripe: gateway, logger: silentLogger })).toEqual({ listed: 1, recovered: 1 });
    expect(refreshed).toEqual([old.id]);
    expect(await WebhookEventModel.findById(old.id).lean()).toMatchObject({
      state: 'succeeded',
      payload: expect.objectContaining({ api_version: '2026-08-26.dahlia' }),
    });
    expect(await BoxOrderModel.find({ stripeInvoiceId: id }).lean()).toEqual([expect.objectContaining({ status: 'paid', subscriptionId: subscription.id })]);
  });

  test('when an event is re-read against stripe-mock, then the retrieve request is valid and the event carries our API version', async () => {
    const gateway = createStripeGateway(testStripe());
    const event = { ...buildEvent('invoice.paid', { id: 'in_1MtHbELkdIwHu7ixl4OzzPMv', object: 'invoice' }, new Date()), api_version: '2020-08-27' };
    const fresh = await gateway.refreshEventObject(event as unknown as Stripe.Event);
    expect(fresh).toMatchObject({ id: event.id, api_version: '2026-08-26.dahlia', data: { object: expect.objectContaining({ object: 'invoice' }) } });
    expect(await gateway.refreshEventObject({ ...event, data: { object: { id: 'plan_x', object: 'plan' } } } as unknown as Stripe.Event)).toBeUndefined();
  });

  test('when reconciliation runs twice, then the second run recovers nothing, changes nothing, and asks from the newest event seen less a 10-minute overlap', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    const older = buildEvent(
      'customer.subscription.updated',
      { id: subscription.stripeSubscriptionId, object: 'subscription', status: 'active' },
      new Date('2026-03-02T15:29:00Z'),
    );
    const newest = buildEvent(
      'invoice.paid',
      buildPaidInvoice(subscription.stripeSubscriptionId as string, new Date('2026-03-02T15:30:05Z'), 2600, invoiceId()),
      new Date('2026-03-02T15:30:10Z'),
    );
    const { gateway, asks } = controlledEventSource([newest, older]);
    const deps = { clock, stripe: gateway, logger: silentLogger };

    clock.set('2026-03-02T17:00:00Z');
    expect(await reconcileStripeEvents(deps)).toEqual({ listed: 2, recovered: 2 });
    const orders = await BoxOrderModel.find({ subscriptionId: subscription.id }).lean();
    const inbox = await WebhookEventModel.find({ _id: { $in: [older.id, newest.id] } })
      .sort({ _id: 1 })
      .lean();
    const view = (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;

    clock.set('2026-03-02T17:15:00Z');
    expect(await reconcileStripeEvents(deps)).toEqual({ listed: 2, recovered: 0 });

    expect(asks.map((ask) => ask.createdFrom.toISOString())).toEqual([
      '2026-01-31T17:00:00.000Z', // first run: 30 days back from now
      '2026-03-02T15:20:10.000Z', // then: the newest event's time less 10 minutes
    ]);
    expect(await BoxOrderModel.find({ subscriptionId: subscription.id }).lean()).toEqual(orders);
    expect(
      await WebhookEventModel.find({ _id: { $in: [older.id, newest.id] } })
        .sort({ _id: 1 })
        .lean(),
    ).toEqual(inbox);
    expect((await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body).toEqual(view);
  });

  test('when no new event comes, then the cursor stays at the newest one seen; when events are older than Stripe keeps, then it asks only 30 days back', async () => {
    const clock = new FakeClock('2026-03-02T12:00:00Z');
    const event = buildEvent('invoice.upcoming', { id: 'in_none', object: 'invoice' }, new Date('2026-03-02T11:00:00Z'));
    const handled = buildEvent(
      'credit_note.created',
      { id: 'cn_none', object: 'credit_note', invoice: 'in_not_ours', total: 100, status: 'issued', created: 1 },
      new Date('2026-03-02T11:00:00Z'),
    );
    const { gateway, asks } = controlledEventSource([event, handled]);
    const deps = { clock, stripe: gateway, logger: silentLogger };

    expect(await reconcileStripeEvents(deps)).toEqual({ listed: 1, recovered: 1 });
    clock.set('2026-03-03T12:00:00Z');
    expect(await reconcileStripeEvents(deps)).toEqual({ listed: 1, recovered: 0 });
    clock.set('2026-04-20T12:00:00Z');
    expect(await reconcileStripeEvents(deps)).toEqual({ listed: 0, recovered: 0 });

    expect(asks.map((ask) => ask.createdFrom.toISOString())).toEqual([
      '2026-01-31T12:00:00.000Z',
      '2026-03-02T10:50:00.000Z',
      '2026-03-21T12:00:00.000Z', // the cursor is older than Stripe's 30 days
    ]);
  });

  test('when reconciliation lists the events of stripe-mock itself, then the request is valid and the run completes', async () => {
    const clock = new FakeClock('2026-03-02T12:00:00Z');
    const stripe = testStripe();
    const calls = recordStripeCalls(stripe);
    const deps = { clock, stripe: createStripeGateway(stripe), logger: silentLogger };

    const result = await reconcileStripeEvents(deps);

    expect(result.listed).toBeGreaterThanOrEqual(0);
    expect(result.recovered).toBeLessThanOrEqual(result.listed);
    expect(calls.map((call) => [call.method, call.path.split('?')[0]])).toEqual([['GET', '/v1/events']]);
    const query = new URLSearchParams(calls[0]!.path.split('?')[1]);
    expect(query.get('created[gte]')).toBe(String(Date.parse('2026-01-31T12:00:00Z') / 1000));
    expect(query.get('types[0]')).toBe('invoice.paid');
    // stripe-mock answers a fixture list; a second run recognises whatever it stored.
    expect((await reconcileStripeEvents(deps)).recovered).toBe(0);
  });
});

describe('reconcileSubscriptionsWithStripe', () => {
  useTestDatabase();

  test('when Stripe says a subscription was cancelled, then ours becomes cancelled once, and a second run changes nothing', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const kept = (await subscribeShopper(app, merchant)).subscription;
    const lost = (await subscribeShopper(app, merchant)).subscription;
    const real = createStripeGateway(testStripe());
    const retrieved: string[] = [];
    const gateway: StripeGateway = {
      ...real,
      retrieveSubscription: async (id) => {
        retrieved.push(id);
        const truth = await real.retrieveSubscription(id); // stripe-mock: active
        return id === lost.stripeSubscriptionId ? { ...truth, status: 'canceled' } : truth;
      },
    };
    const deps = { clock, stripe: gateway, logger: silentLogger };

    clock.set('2026-03-10T09:00:00Z');
    const first = await reconcileSubscriptionsWithStripe(deps);
    expect(first).toMatchObject({ compared: 2, changed: 1 });
    expect(retrieved.sort()).toEqual([kept.stripeSubscriptionId, lost.stripeSubscriptionId].sort());

    const canceled = (await request(app).get(`/api/v1/subscriptions/${lost.id}`).set(merchant.auth).expect(200)).body;
    expect(canceled).toMatchObject({
      status: 'cancelled',
      nextCharge: null,
      cancellation: { reason: 'stripe', mode: 'now', effectiveAt: '2026-03-10T09:00:00.000Z' },
    });
    expect(canceled.history.map((e: { type: string }) => e.type)).toEqual(['subscription.created', 'subscription.cancelled']);
    expect((await request(app).get(`/api/v1/subscriptions/${kept.id}`).set(merchant.auth).expect(200)).body.status).toBe('active');

    const before = await SubscriptionModel.find({ _id: { $in: [kept.id, lost.id] } })
      .sort({ _id: 1 })
      .lean();
    clock.set('2026-03-10T10:00:00Z');
    const second = await reconcileSubscriptionsWithStripe(deps);
    expect(second).toMatchObject({ compared: 1, changed: 0, lastId: kept.id });
    const after = await SubscriptionModel.find({ _id: { $in: [kept.id, lost.id] } })
      .sort({ _id: 1 })
      .lean();
    expect(after.map((s) => [s._id, s.status, s.revision])).toEqual(before.map((s) => [s._id, s.status, s.revision]));
    expect((await request(app).get(`/api/v1/subscriptions/${lost.id}`).set(merchant.auth).expect(200)).body.history).toEqual(canceled.history);
  });

  test('when a batch size is given, then a run compares that many in id order and says where to go on', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    await subscribeShopper(app, merchant);
    await subscribeShopper(app, merchant);
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    const live = (
      await SubscriptionModel.find({ status: { $in: ['trialing', 'active', 'past_due', 'paused'] } }, { _id: 1 })
        .sort({ _id: 1 })
        .lean()
    ).map((s) => s._id);

    const first = await reconcileSubscriptionsWithStripe(deps, { batchSize: 1 });
    expect(first).toEqual({ compared: 1, changed: 0, lastId: live[0] });
    const rest = await reconcileSubscriptionsWithStripe(deps, { afterId: first.lastId, batchSize: 100 });
    expect(rest).toEqual({ compared: live.length - 1, changed: 0, lastId: live.at(-1) });
  });
});
