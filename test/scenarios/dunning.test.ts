import request from 'supertest';
import { BoxOrderModel } from '../../src/orders/box-order.model';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { processWebhookEvent } from '../../src/webhooks/process-event.service';
import { receiveEvent } from '../../src/webhooks/webhook-inbox.service';
import { buildPaidInvoice } from '../factories/invoice.factory';
import { createMerchant } from '../factories/merchant.factory';
import { subscribeShopper } from '../factories/subscription.factory';
import { renewalDriver } from '../helpers/renewal-driver';
import { buildEvent } from '../helpers/stripe-events';
import { buildTestApp } from '../helpers/test-app';
import { factsAbout } from '../helpers/facts';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

describe('scenario: a renewal payment fails, then is recovered', () => {
  useTestDatabase();

  test('when payments fail and then succeed, then the subscription goes past due with a pay link, counts attempts, and recovers with one order', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    const stripeId = subscription.stripeSubscriptionId as string;
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    const deliver = async (type: string, object: Record<string, unknown>, createdAt: Date) => {
      const event = buildEvent(type, object, createdAt);
      await receiveEvent(clock, event as never);
      await processWebhookEvent(deps, event.id);
    };
    const failed = (attempt: number) => ({
      id: 'in_april',
      object: 'invoice',
      attempt_count: attempt,
      hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1/test_april',
      parent: { subscription_details: { subscription: stripeId } },
    });
    const view = async () => (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;

    clock.set('2026-04-02T15:31:00Z');
    await deliver('invoice.payment_failed', failed(1), new Date('2026-04-02T15:30:20Z'));
    expect(await view()).toMatchObject({
      status: 'past_due',
      dunning: { attempts: 1, since: '2026-04-02T15:30:20.000Z', updatePaymentUrl: 'https://invoice.stripe.com/i/acct_1/test_april' },
    });

    clock.set('2026-04-05T15:31:00Z');
    await deliver('invoice.payment_failed', failed(2), new Date('2026-04-05T15:30:20Z'));
    await deliver('invoice.payment_failed', failed(1), new Date('2026-04-02T15:30:20Z')); // a late repeat of the first
    expect((await view()).dunning).toMatchObject({ attempts: 2, since: '2026-04-02T15:30:20.000Z', lastFailureAt: '2026-04-05T15:30:20.000Z' });

    clock.set('2026-04-06T10:00:00Z');
    await deliver('invoice.paid', buildPaidInvoice(stripeId, new Date('2026-04-02T15:30:05Z'), 2600, 'in_april'), new Date('2026-04-06T09:59:00Z'));
    await deliver('invoice.payment_failed', failed(2), new Date('2026-04-05T15:30:20Z')); // arrives after the payment
    const recovered = await view();
    expect(recovered).toMatchObject({ status: 'active', dunning: null });
    expect(await BoxOrderModel.find({ subscriptionId: subscription.id }).lean()).toEqual([
      expect.objectContaining({ cycleKey: '2026-04-02', stripeInvoiceId: 'in_april' }),
    ]);
    expect(recovered.history.map((e: { type: string }) => e.type)).toEqual([
      'subscription.created',
      'subscription.payment_failed',
      'subscription.payment_failed',
      'subscription.recovered',
    ]);
    const [box] = await BoxOrderModel.find({ subscriptionId: subscription.id }).lean();
    // The failures carried no lines to place a box by: the box is made at payment, its one fact.
    expect((await factsAbout({ subjectId: box!._id })).map((f) => [f.type, f.data.from ?? null])).toEqual([['box.paid', null]]);
  });

  test.each([
    ['cancel', { status: 'cancelled', cancellation: { reason: 'payment_failed', mode: 'now' }, nextCharge: null }],
    ['pause', { status: 'paused', pause: { startsOn: '2026-05-02', resumeOn: null }, nextCharge: null }],
  ])('when Stripe gives up and the merchant chose %s, then that happens once and dunning closes', async (outcome, expected) => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { dunningOutcome: outcome } })
      .expect(200);
    const { subscription } = await subscribeShopper(app, merchant);
    const stripeId = subscription.stripeSubscriptionId as string;
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    clock.set('2026-04-20T12:00:00Z');
    const unpaid = buildEvent('customer.subscription.updated', { id: stripeId, object: 'subscription', status: 'unpaid' }, clock.now());
    await receiveEvent(clock, unpaid as never);
    await processWebhookEvent(deps, unpaid.id);
    const again = buildEvent('customer.subscription.updated', { id: stripeId, object: 'subscription', status: 'unpaid' }, clock.now());
    await receiveEvent(clock, again as never);
    await processWebhookEvent(deps, again.id);
    const res = (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
    expect(res).toMatchObject({ ...expected, dunning: null });
    expect(res.history.filter((e: { type: string }) => e.type === 'subscription.dunning_ended')).toEqual([
      expect.objectContaining({ data: { outcome, stripeStatus: 'unpaid', stripeInvoiceId: null } }),
    ]);
  });
});

describe('scenario: dunning belongs to the failing invoice', () => {
  useTestDatabase();

  /** Monthly from Mar 2 (10:30 in New York): in_1 bills Apr 2, in_2 May 2; each box is built at its cut-off. */
  async function setUp() {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const testApp = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(testApp.app, merchant);
    const stripeId = subscription.stripeSubscriptionId as string;
    const driver = renewalDriver(testApp, createStripeGateway(testStripe()));
    const view = async () => (await request(testApp.app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
    const boxes = async () =>
      (await BoxOrderModel.find({ subscriptionId: subscription.id }).sort({ cycleKey: 1 }).lean()).map((o) => [
        o.cycleKey,
        o.status,
        o.stripeInvoiceId ?? o.heldForInvoiceId ?? null,
      ]);
    // Invoice ids are unique across the whole database (one order per invoice).
    const inv = (n: number) => `in_${subscription.id.slice(-8)}_${n}`;
    await driver.pay(stripeId, clock.now(), 2600, inv(0));
    return { clock, driver, stripeId, view, boxes, inv, april: new Date('2026-04-02T14:30:00Z'), may: new Date('2026-05-02T14:30:00Z') };
  }

  test('when a newer invoice is failing and an older one is paid late, then the subscription stays past due on the newer one until it is paid', async () => {
    const { clock, driver, stripeId, view, boxes, inv, april, may } = await setUp();
    clock.set('2026-03-30T15:00:00Z');
    await driver.runCutoffs(); // April's box
    clock.set('2026-04-29T15:00:00Z');
    await driver.runCutoffs(); // May's box (April's invoice.paid is late: Stripe retries its delivery)
    clock.set('2026-05-02T15:00:00Z');
    await driver.fail(stripeId, may, inv(2), 1);
    clock.set('2026-05-05T15:00:00Z');
    await driver.fail(stripeId, may, inv(2), 2);
    expect(await view()).toMatchObject({ status: 'past_due', dunning: { attempts: 2 } });

    clock.set('2026-05-06T15:00:00Z');
    expect(await driver.pay(stripeId, april, 2600, inv(1))).toBe(200);
    expect(await view()).toMatchObject({
      status: 'past_due',
      dunning: { attempts: 2, since: '2026-05-02T15:00:00.000Z', updatePaymentUrl: expect.stringContaining(inv(2)) },
    });
    expect(await boxes()).toEqual([
      ['2026-03-02', 'paid', inv(0)],
      ['2026-04-02', 'paid', inv(1)],
      ['2026-05-02', 'held', inv(2)],
    ]);

    clock.set('2026-05-07T15:00:00Z');
    await driver.pay(stripeId, may, 2600, inv(2));
    expect(await view()).toMatchObject({ status: 'active', dunning: null });
    expect((await boxes()).at(-1)).toEqual(['2026-05-02', 'paid', inv(2)]);
  });

  test('when an older invoice fails again after a newer one, then the dunning stays with the newer one, and paying the older one does not end it', async () => {
    const { clock, driver, stripeId, view, boxes, inv, april, may } = await setUp();
    clock.set('2026-04-02T15:00:00Z');
    await driver.fail(stripeId, april, inv(1), 1);
    clock.set('2026-05-02T15:00:00Z');
    await driver.fail(stripeId, may, inv(2), 1);
    clock.set('2026-05-04T15:00:00Z');
    await driver.fail(stripeId, april, inv(1), 3); // Stripe's later retry of April's invoice
    expect(await view()).toMatchObject({
      status: 'past_due',
      dunning: { attempts: 1, since: '2026-05-02T15:00:00.000Z', updatePaymentUrl: expect.stringContaining(inv(2)) },
    });

    clock.set('2026-05-05T15:00:00Z');
    await driver.pay(stripeId, april, 2600, inv(1));
    expect(await view()).toMatchObject({ status: 'past_due', dunning: { attempts: 1 } });
    expect(await boxes()).toEqual([
      ['2026-03-02', 'paid', inv(0)],
      ['2026-04-02', 'paid', inv(1)],
      ['2026-05-02', 'held', inv(2)],
    ]);
    // April's late payment is its box's fact; the subscription's dunning (May's) goes on: no recovery.
    expect((await view()).history.map((e: { type: string; data: { stripeInvoiceId?: string } }) => [e.type, e.data.stripeInvoiceId ?? null])).toEqual([
      ['subscription.created', null],
      ['subscription.payment_failed', inv(1)],
      ['subscription.payment_failed', inv(2)],
      ['subscription.payment_failed', inv(1)],
    ]);
    const paid = await factsAbout({ subscriptionId: (await view()).id });
    expect(paid.filter((f) => f.type === 'box.paid').map((f) => f.data.stripeInvoiceId)).toEqual([inv(0), inv(1)]);
  });

  test('when Stripe says the subscription is active, then the dunning ends, unless what it says is older than the last failure', async () => {
    const { clock, driver, stripeId, view, inv, april } = await setUp();
    clock.set('2026-04-02T15:00:00Z');
    await driver.fail(stripeId, april, inv(1), 1);
    clock.set('2026-04-03T15:00:00Z');
    await driver.deliver('customer.subscription.updated', { id: stripeId, object: 'subscription', status: 'active' }, new Date('2026-04-01T12:00:00Z'));
    expect(await view()).toMatchObject({ status: 'past_due', dunning: { attempts: 1 } });
    await driver.deliver('customer.subscription.updated', { id: stripeId, object: 'subscription', status: 'active' }, new Date('2026-04-03T14:00:00Z'));
    expect(await view()).toMatchObject({ status: 'active', dunning: null });
  });
});
