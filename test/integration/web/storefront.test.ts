import request from 'supertest';
import { catalogKinds } from '../../../src/catalog/catalog-kinds';
import { syncPendingCatalogItems } from '../../../src/catalog/catalog-sync-job.service';
import { seedDemoMerchant } from '../../../src/merchants/demo-seed.service';
import { findCustomerByEmail } from '../../../src/customers/customer.queries';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { processWebhookEvent } from '../../../src/webhooks/process-event.service';
import { WebhookEventModel } from '../../../src/webhooks/webhook-event.model';
import { factsAbout, followFacts } from '../../helpers/facts';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * A newcomer on a fresh installation (stripe-mock): the front page is the demo store's storefront; they
 * subscribe, pay on the local checkout simulation, and the same webhook path Stripe's events take makes the
 * subscription active and its first box paid.
 */
describe('the storefront and the offline checkout', () => {
  useTestDatabase();

  /** What the catalog sync job does a minute after the seed. */
  const mirrorCatalog = (clock: FakeClock) =>
    syncPendingCatalogItems({ clock, stripe: createStripeGateway(testStripe()), logger: silentLogger }, catalogKinds());

  const formOf = (html: string) => ({
    planAction: /<form method="post" action="(\/shop\/[^"]+\/subscribe\/[^"]+)"/.exec(html)?.[1],
    variant: /name="variantId" value="([^"]+)"/.exec(html)?.[1],
    cadence: /name="cadence" value="([^"]+)"/.exec(html)?.[1],
    attempt: /name="attempt" value="([^"]+)"/.exec(html)?.[1],
  });

  test('when a newcomer subscribes from the front page and pays on the simulation, then the subscription is active, its first box paid, and the welcome page says so', async () => {
    const clock = new FakeClock('2026-05-04T14:00:00Z');
    const testApp = buildTestApp({ clock });
    const { app, queued } = testApp;
    const { merchant, plans } = await seedDemoMerchant(clock);
    await mirrorCatalog(clock);
    const coffee = plans.find((p) => p.slug === 'single-origin-coffee')!;
    const browser = pageClient(app);

    const front = await browser.get('/');
    expect(front.status).toBe(200);
    expect(front.text).toContain('Single-origin coffee box');
    expect(front.text).toContain('50% off your first box');
    expect(front.text).toContain(`href="/shop/demo-roasters/subscribe/${coffee._id}"`);
    expect(front.text).toContain('Offline mode');

    const page = await browser.get(`/shop/demo-roasters/subscribe/${coffee._id}`);
    expect(page.status).toBe(200);
    const form = formOf(page.text);
    const fields = {
      variantId: form.variant!,
      cadence: form.cadence!,
      attempt: form.attempt!,
      email: 'Ana@Example.com',
      name: "Ana O'Neil",
      line1: '1 Main St',
      city: 'Chicago',
      region: 'IL',
      postalCode: '60601',
      country: 'ZZ',
    };
    const refused = await browser.post(form.planAction!, fields);
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/id="country-error">/);
    expect(refused.text).toContain('value="Ana O&#39;Neil"'); // kept, escaped

    const subscribed = await browser.post(form.planAction!, { ...fields, country: 'US' });
    expect(subscribed.status).toBe(303);
    const simulation = subscribed.headers.location as string;
    expect(simulation).toMatch(/^\/shop\/demo-roasters\/checkout\/sub_[0-9a-z]{20}$/);
    // Submitting the form twice (a double click) makes one subscription.
    expect((await browser.post(form.planAction!, { ...fields, country: 'US' })).status).toBe(409);
    expect(await SubscriptionModel.countDocuments({ merchantId: merchant._id })).toBe(1);

    const checkout = await browser.get(simulation);
    expect(checkout.text).toContain('Simulation.');
    expect(checkout.text).toContain('$12.00'); // the first box at half price: every 2 weeks, $24.00
    const paid = await browser.post(simulation, {});
    expect(paid.status).toBe(303);
    const welcomeUrl = paid.headers.location as string;
    const waiting = await browser.get(welcomeUrl);
    expect(waiting.text).toContain('We are confirming your payment');
    expect(waiting.text).toContain('http-equiv="refresh"');

    // The worker processes what Stripe (here: the simulation) sent, through the same inbox.
    expect(queued.map((job) => job.name)).toEqual(['webhooks.process-event', 'webhooks.process-event']);
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    for (const job of queued.splice(0)) await processWebhookEvent(deps, job.data.eventId as string);
    await followFacts(clock);
    expect(await WebhookEventModel.countDocuments({ state: 'succeeded' })).toBe(2);

    const subscription = (await SubscriptionModel.findOne({ merchantId: merchant._id }).lean())!;
    expect(subscription.status).toBe('active');
    const [box] = await BoxOrderModel.find({ subscriptionId: subscription._id }).lean();
    expect(box).toMatchObject({ status: 'paid', cycleKey: '2026-05-04' });
    // Facts of different subjects (the subscription, its box) have no order between them.
    expect((await factsAbout({ subscriptionId: subscription._id })).map((f) => [f.type, f.actor.kind]).sort()).toEqual([
      ['box.paid', 'stripe'],
      ['subscription.activated', 'stripe'],
      ['subscription.created', 'shopper'],
    ]);
    const welcome = await browser.get(welcomeUrl);
    expect(welcome.text).toContain('You are subscribed');
    expect(welcome.text).toContain('ana@example.com');

    // Pressing "pay" again sends nothing more.
    await browser.get(simulation);
    await browser.post(simulation, {});
    expect(queued).toHaveLength(0);
  });

  test('when the store does not exist, or the e-mail already has an account there, then the page says so and nothing is made', async () => {
    const clock = new FakeClock('2026-05-04T14:00:00Z');
    const { app } = buildTestApp({ clock });
    const { merchant, plans } = await seedDemoMerchant(clock);
    await mirrorCatalog(clock);
    expect((await request(app).get('/shop/no-such-store').set('accept', 'text/html')).status).toBe(404);
    const browser = pageClient(app);
    const page = await browser.get(`/shop/demo-roasters/subscribe/${plans[0]!._id}`);
    const form = formOf(page.text);
    const fields = {
      variantId: form.variant!,
      cadence: form.cadence!,
      attempt: form.attempt!,
      email: 'bo@example.com',
      name: 'Bo',
      line1: '2 Main St',
      city: 'Chicago',
      postalCode: '60601',
      country: 'US',
    };
    expect((await browser.post(form.planAction!, fields)).status).toBe(303);
    const second = await browser.post(form.planAction!, { ...fields, attempt: 'another-attempt-0001' });
    expect(second.status).toBe(409);
    expect(second.text).toContain('This e-mail already has an account with this store');
    const bo = await findCustomerByEmail(merchant._id, 'bo@example.com');
    expect(await SubscriptionModel.countDocuments({ merchantId: merchant._id, customerId: bo!._id })).toBe(1);
  });
});
