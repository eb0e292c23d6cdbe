import request from 'supertest';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { processWebhookEvent } from '../../../src/webhooks/process-event.service';
import { receiveEvent } from '../../../src/webhooks/webhook-inbox.service';
import { createMerchant } from '../../factories/merchant.factory';
import { buildPaidInvoice } from '../../factories/invoice.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildEvent, signEvent } from '../../helpers/stripe-events';
import { buildTestApp } from '../../helpers/test-app';
import { factsAbout } from '../../helpers/facts';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

describe('invoice.paid makes exactly one box order per paid cycle', () => {
  useTestDatabase();

  test('when the same paid invoice arrives in several events, twice each and concurrently, then one order exists for the cycle', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app, stripe } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription, customerId } = await subscribeShopper(app, merchant, { firstBoxDiscount: { type: 'percent', percentOff: 50 } });
    const stripeId = subscription.stripeSubscriptionId as string;
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };

    const invoice = buildPaidInvoice(stripeId, new Date('2026-03-02T15:30:10Z'), 1300, 'in_first');
    const events = [
      buildEvent('invoice.paid', invoice, clock.now()),
      buildEvent('invoice.paid', invoice, clock.now()),
      buildEvent('invoice.paid', invoice, clock.now()),
    ];
    for (const event of events) {
      for (let i = 0; i < 2; i += 1) {
        await request(app)
          .post('/webhooks/stripe')
          .set('stripe-signature', signEvent(stripe, event, clock.now()).header)
          .set('content-type', 'application/json')
          .send(JSON.stringify(event))
          .expect(200);
      }
    }
    await Promise.all(events.flatMap((event) => [processWebhookEvent(deps, event.id), processWebhookEvent(deps, event.id)]));

    const orders = await BoxOrderModel.find({ subscriptionId: subscription.id }).lean();
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({
      merchantId: merchant.id,
      customerId,
      cycleKey: '2026-03-02',
      status: 'paid',
      amountPaidMinor: 1300,
      currency: 'USD',
      stripeInvoiceId: 'in_first',
      shippingAddress: { city: 'Springfield', country: 'US' },
    });
    expect(orders[0]!.lines.map((line) => [line.kind, line.amountMinor])).toEqual([
      ['plan', 2600],
      ['discount', -1300],
    ]);

    const list = await request(app).get(`/api/v1/orders?subscriptionId=${subscription.id}`).set(merchant.auth).expect(200);
    expect(list.body.data.map((o: { id: string }) => o.id)).toEqual([orders[0]!._id]);
    const one = await request(app).get(`/api/v1/orders/${orders[0]!._id}`).set(merchant.auth).expect(200);
    expect(one.body).toMatchObject({
      object: 'order',
      cycleKey: '2026-03-02',
      amountPaid: { amountMinor: 1300, currency: 'USD' },
      lines: [expect.objectContaining({ sku: expect.any(String) }), expect.objectContaining({ kind: 'discount', sku: null })],
    });
    // The box was made at payment: its one fact says so; the subscription's own history does not change.
    expect((await factsAbout({ subjectId: orders[0]!._id })).map((f) => [f.type, f.data.stripeInvoiceId, f.data.from])).toEqual([
      ['box.paid', 'in_first', null],
    ]);
  });

  test("when a renewal is paid, even an hour off our local time after a DST change, then it is the next cycle's order and a trial ends", async () => {
    const clock = new FakeClock('2026-01-10T15:00:00Z'); // 10:00 EST
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant, { trialDays: 14 });
    expect(subscription.status).toBe('trialing');
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    const stripeId = subscription.stripeSubscriptionId as string;

    clock.set('2026-01-24T15:00:30Z');
    const first = buildEvent('invoice.paid', buildPaidInvoice(stripeId, new Date('2026-01-24T15:00:05Z'), 2600), clock.now());
    await receiveEvent(clock, first as never);
    await processWebhookEvent(deps, first.id);
    // Stripe renews at the same UTC instant (15:00Z); in April that is 11:00 EDT, an hour after our 10:00.
    clock.set('2026-04-24T15:00:30Z');
    const april = buildEvent('invoice.paid', buildPaidInvoice(stripeId, new Date('2026-04-24T15:00:05Z'), 2600), clock.now());
    await receiveEvent(clock, april as never);
    await processWebhookEvent(deps, april.id);

    const orders = await BoxOrderModel.find({ subscriptionId: subscription.id }).sort({ cycleKey: 1 }).lean();
    expect(orders.map((o) => o.cycleKey)).toEqual(['2026-01-24', '2026-04-24']);
    const now = (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
    expect(now.status).toBe('active');
    expect(now.history.map((e: { type: string }) => e.type)).toEqual(['subscription.created', 'subscription.activated']);
    expect(now.history[1].data).toMatchObject({ via: 'payment', cycleKey: '2026-01-24', from: 'trialing', to: 'active' });
  });

  test("when a trial starts, then the $0 invoice Stripe makes for it bills no box, and the charge at the trial's end makes the first box", async () => {
    const clock = new FakeClock('2026-01-10T15:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant, { trialDays: 14 });
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    const stripeId = subscription.stripeSubscriptionId as string;
    const pay = async (invoice: ReturnType<typeof buildPaidInvoice>) => {
      const event = buildEvent('invoice.paid', invoice, clock.now());
      await receiveEvent(clock, event as never);
      await processWebhookEvent(deps, event.id);
    };

    // Stripe's first invoice of a trial: $0, its period the trial itself (from sign-up to the trial's end).
    await pay({ ...buildPaidInvoice(stripeId, new Date('2026-01-10T15:00:02Z'), 0, 'in_trial'), billing_reason: 'subscription_create' });
    expect(await BoxOrderModel.countDocuments({ subscriptionId: subscription.id })).toBe(0);
    expect((await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body).toMatchObject({
      status: 'trialing',
      nextCharge: { cycleKey: '2026-01-24' },
    });

    clock.set('2026-01-24T15:00:30Z');
    await pay(buildPaidInvoice(stripeId, new Date('2026-01-24T15:00:05Z'), 2600, 'in_first_box'));
    const orders = await BoxOrderModel.find({ subscriptionId: subscription.id }).lean();
    expect(orders.map((o) => [o.cycleKey, o.status, o.stripeInvoiceId, o.amountPaidMinor])).toEqual([['2026-01-24', 'paid', 'in_first_box', 2600]]);
  });
});
