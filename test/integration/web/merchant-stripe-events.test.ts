import request from 'supertest';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway, type StripeGateway } from '../../../src/stripe/stripe-gateway';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { MAX_ATTEMPTS } from '../../../src/webhooks/webhook-inbox.service';
import { processDueWebhookEvents, processWebhookEvent } from '../../../src/webhooks/process-event.service';
import { WebhookEventModel } from '../../../src/webhooks/webhook-event.model';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { buildPaidInvoice } from '../../factories/invoice.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { pageClient } from '../../helpers/pages';
import { buildEvent, signEvent } from '../../helpers/stripe-events';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * A shopper pays through Checkout, and Stripe's first invoice comes before the Checkout completion, which is
 * lost (Stripe gives up on it): the invoice cannot be placed, fails its ten attempts and waits for a person.
 * The merchant sees it under billing health, delivers the completion (the fix), and replays the invoice.
 */
const OPENED = '2026-03-10T15:00:00Z';
const PAID = new Date('2026-03-11T11:00:00Z');

describe('the failed Stripe events page (/merchant/billing/events)', () => {
  useTestDatabase();

  async function setUp() {
    const clock = new FakeClock(OPENED);
    const stripeSubscriptionId = `sub_${Math.random().toString(36).slice(2, 12)}`;
    const real = createStripeGateway(testStripe());
    const gateway: StripeGateway = { ...real, retrieveSubscription: async (id) => ({ id, status: 'active', itemId: 'si_checkout', billingCycleAnchor: PAID }) };
    const { app, stripe } = buildTestApp({ clock, stripeGateway: gateway });
    const deps = { clock, stripe: gateway, logger: silentLogger };
    const merchant = await createMerchant({ name: 'Bean There', timezone: 'America/New_York' }, clock);
    const other = await createMerchant({ name: 'Other Beans' }, clock);
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
    const deliver = async (type: string, object: Record<string, unknown>) => {
      const event = buildEvent(type, object, clock.now());
      const signed = signEvent(stripe, event, clock.now());
      await request(app)
        .post('/webhooks/stripe')
        .set('stripe-signature', signed.header)
        .set('content-type', 'application/json')
        .send(signed.payload)
        .expect(200);
      return event.id;
    };
    const invoice = buildPaidInvoice(stripeSubscriptionId, PAID, 2600, `in_first_${created.id.slice(-8)}`);
    return {
      clock,
      app,
      deps,
      merchant,
      other,
      created,
      deliver,
      payFirstInvoice: () =>
        deliver('invoice.paid', {
          ...invoice,
          billing_reason: 'subscription_create',
          parent: { type: 'subscription_details', subscription_details: { subscription: stripeSubscriptionId, metadata } },
        }),
      completeCheckout: async () => {
        const id = await deliver('checkout.session.completed', {
          id: stored!.stripe.checkoutSessionId,
          object: 'checkout.session',
          mode: 'subscription',
          client_reference_id: created.id,
          subscription: stripeSubscriptionId,
          metadata,
        });
        await processWebhookEvent(deps, id);
      },
      /** The worker's first try and the sweep's retries until the event's attempts are spent. */
      exhaustRetries: async (eventId: string) => {
        await processWebhookEvent(deps, eventId);
        for (let i = 1; i < MAX_ATTEMPTS; i += 1) {
          clock.advance(3_600_000 + 1_000);
          await processDueWebhookEvents(deps);
        }
      },
    };
  }

  async function signedIn(app: Parameters<typeof pageClient>[0], merchant: TestMerchant) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' });
    return browser;
  }

  test('when an event names our merchant, then the inbox records whose it is at receipt; a platform event stays the platform’s', async () => {
    const { payFirstInvoice, deliver, merchant } = await setUp();
    const invoiceEvent = await payFirstInvoice();
    const platformEvent = await deliver('invoice.upcoming', { id: 'in_platform', object: 'invoice' });

    expect(await WebhookEventModel.findById(invoiceEvent).lean()).toMatchObject({ state: 'pending', attempts: 0, merchantId: merchant.id });
    expect((await WebhookEventModel.findById(platformEvent).lean())?.merchantId).toBeUndefined();
  });

  test('when an event fails all its retries, then its store sees it with its error and no more retries, and another store neither sees nor replays it', async () => {
    const { app, merchant, other, payFirstInvoice, exhaustRetries } = await setUp();
    const eventId = await payFirstInvoice();
    await exhaustRetries(eventId);
    expect(await WebhookEventModel.findById(eventId).lean()).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS, merchantId: merchant.id });

    const mine = await signedIn(app, merchant);
    const billing = await mine.get('/merchant/billing');
    expect(billing.text).toContain('href="/merchant/billing/events"');
    const page = await mine.get('/merchant/billing/events');
    expect(page.status).toBe(200);
    expect(page.text).toContain(eventId);
    expect(page.text).toContain('invoice.paid');
    expect(page.text).toContain('It came before the shopper’s Checkout was recorded');
    expect(page.text).toContain('No more retries');
    expect(page.text).toContain(`<td>${MAX_ATTEMPTS}</td>`);
    expect(page.text).toContain('<td>Tuesday, March 10 at 11:00 AM EDT</td>'); // received, in the store's zone

    const theirs = await signedIn(app, other);
    const otherPage = await theirs.get('/merchant/billing/events');
    expect(otherPage.status).toBe(200);
    expect(otherPage.text).not.toContain(eventId);
    expect(otherPage.text).toContain('No Stripe event of your store is failing.');
    const refused = await theirs.post(`/merchant/billing/events/${eventId}/replay`, {});
    expect(refused.status).toBe(404);
    expect(await WebhookEventModel.findById(eventId).lean()).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS });
  });

  test('when the merchant replays a failed event before and after fixing its cause, then it fails again with fresh retries, then is processed once, and a second replay changes nothing', async () => {
    const { app, merchant, created, payFirstInvoice, completeCheckout, exhaustRetries } = await setUp();
    const eventId = await payFirstInvoice();
    await exhaustRetries(eventId);
    const browser = await signedIn(app, merchant);
    await browser.get('/merchant/billing/events');

    // Not fixed yet: it fails again, and the sweep will retry it (its attempts start again).
    const again = await browser.post(`/merchant/billing/events/${eventId}/replay`, {});
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe(`/merchant/billing/events?replayed=${eventId}&outcome=still_failing#receipt`);
    const failing = await browser.get(again.headers.location!);
    expect(failing.text).toContain('failed again');
    expect(failing.text).toContain('whose Checkout is not recorded yet');
    expect(failing.text).not.toContain('No more retries');
    expect(failing.text).toContain('(replayed 1×)');
    expect(await WebhookEventModel.findById(eventId).lean()).toMatchObject({ state: 'failed', attempts: 1, replays: 1 });

    // The cause is fixed: the Checkout completion arrives. Replayed, the invoice places its box, once.
    await completeCheckout();
    const done = await browser.post(`/merchant/billing/events/${eventId}/replay`, {});
    expect(done.headers.location).toBe(`/merchant/billing/events?replayed=${eventId}&outcome=processed#receipt`);
    const receipt = await browser.get(done.headers.location!);
    expect(receipt.text).toContain(`Replayed invoice.paid (${eventId}): it was processed.`);
    expect(receipt.text).toContain('No Stripe event of your store is failing.');
    expect(await BoxOrderModel.find({ subscriptionId: created.id }, { cycleKey: 1, status: 1, _id: 0 }).lean()).toEqual([
      { cycleKey: '2026-03-11', status: 'paid' },
    ]);
    expect(await WebhookEventModel.findById(eventId).lean()).toMatchObject({ state: 'succeeded', attempts: 1, replays: 2, merchantId: merchant.id });

    const twice = await browser.post(`/merchant/billing/events/${eventId}/replay`, {});
    expect(twice.headers.location).toBe(`/merchant/billing/events?replayed=${eventId}&outcome=not_failed#receipt`);
    expect((await browser.get(twice.headers.location!)).text).toContain('was not failed (it is processed): nothing changed.');
    expect(await WebhookEventModel.findById(eventId).lean()).toMatchObject({ state: 'succeeded', attempts: 1, replays: 2 });
    expect(await BoxOrderModel.countDocuments({ subscriptionId: created.id })).toBe(1);
  });

  test('when more events failed than a page holds, then they are listed newest first over pages, each with its next retry', async () => {
    const { app, clock, deps, merchant, deliver } = await setUp();
    const ids: string[] = [];
    for (let i = 0; i < 26; i += 1) {
      clock.advance(1_000);
      // A paid invoice Stripe sends with a field missing: its handler refuses it.
      const id = await deliver('invoice.paid', {
        id: `in_bad_${i}`,
        object: 'invoice',
        parent: { subscription_details: { subscription: 'sub_x', metadata: { boxcycle_merchant_id: merchant.id } } },
      });
      await processWebhookEvent(deps, id);
      ids.push(id);
    }
    const browser = await signedIn(app, merchant);
    const first = await browser.get('/merchant/billing/events');
    const listed = (html: string) => [...html.matchAll(/<code class="muted">(evt_[a-z0-9]+)<\/code>/g)].map((m) => m[1]);
    expect(listed(first.text)).toEqual([...ids].reverse().slice(0, 25));
    expect(first.text).toContain('Stripe’s event lacks details Boxcycle needs to handle it.');
    expect(first.text).toContain('<td>Tuesday, March 10 at 11:01 AM EDT</td>'); // the newest's next retry: a minute after its failure
    expect(first.text).not.toContain('No more retries');
    const older = /<a href="([^"]+)">Older events<\/a>/.exec(first.text)?.[1];
    expect(older).toBeDefined();
    const second = await browser.get(older!.replace(/&amp;/g, '&'));
    expect(listed(second.text)).toEqual([ids[0]]);
    expect(second.text).not.toContain('Older events');
  });

  test('when a replay carries a forged CSRF token, then it answers 403 and the event stays failed', async () => {
    const { app, merchant, payFirstInvoice, exhaustRetries } = await setUp();
    const eventId = await payFirstInvoice();
    await exhaustRetries(eventId);
    const browser = await signedIn(app, merchant);
    await browser.get('/merchant/billing/events');

    expect((await browser.post(`/merchant/billing/events/${eventId}/replay`, {}, { csrf: 'forged' })).status).toBe(403);
    expect((await browser.post(`/merchant/billing/events/${eventId}/replay`, {}, { csrf: null })).status).toBe(403);
    expect(await WebhookEventModel.findById(eventId).lean()).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS });
    // The page's own token is accepted: the refusal was the token's.
    expect((await browser.post(`/merchant/billing/events/${eventId}/replay`, {})).status).toBe(303);
  });

  test('when a replay names no event of the store, has a bad id or extra fields, then it answers 404 or 400, never a 5xx', async () => {
    const { app, merchant, payFirstInvoice, exhaustRetries } = await setUp();
    const eventId = await payFirstInvoice();
    await exhaustRetries(eventId);
    const browser = await signedIn(app, merchant);
    await browser.get('/merchant/billing/events');

    expect((await browser.post('/merchant/billing/events/evt_nosuchevent/replay', {})).status).toBe(404);
    expect((await browser.post('/merchant/billing/events/not-an-event/replay', {})).status).toBe(404);
    expect((await browser.post(`/merchant/billing/events/${eventId}/replay`, { state: 'pending' })).status).toBe(400);
    expect((await browser.get('/merchant/billing/events?after=%%%')).status).toBeLessThan(500);
    expect(await WebhookEventModel.findById(eventId).lean()).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS });
  });
});
