import request from 'supertest';
import type { Express } from 'express';
import { FactModel } from '../../src/events/fact.model';
import { listeners } from '../../src/listeners';
import { verifyActionToken } from '../../src/shared/action-tokens';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildAddonInput, buildCustomerInput, buildPlanInput } from '../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../factories/merchant.factory';
import { factsAbout, TEST_LINKS } from '../helpers/facts';
import { actionLinksIn, queuedMessages } from '../helpers/messages';
import { recordingGateway } from '../helpers/recording-gateway';
import { renewalDriver, at } from '../helpers/renewal-driver';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

/**
 * What a shopper is told over a subscription's life, as the worker sends it: each fact's listeners run after
 * every step (the renewal driver follows the facts), Stripe's events are posted signed to the real endpoint.
 * Checked: the exact messages, in order, each with the links it must carry (signed, for the right action
 * and subject, expiring while the action is possible), and that following every fact again sends nothing more.
 */
const SECRET = `action-links:${TEST_LINKS.appSecret}`;

async function setUp() {
  const clock = new FakeClock('2026-01-15T15:30:00Z');
  const recording = recordingGateway(createStripeGateway(testStripe()));
  const testApp = buildTestApp({ clock, stripeGateway: recording.gateway });
  const merchant = await createMerchant({ timezone: 'America/New_York', name: `O'Hara & Sons` }, clock);
  return { clock, app: testApp.app, merchant, driver: renewalDriver(testApp, recording.gateway) };
}

async function stock(app: Express, merchant: TestMerchant, sku: string, units: number) {
  await request(app).post(`/api/v1/stock-items/${sku}/adjustments`).set(merchant.auth).send({ adjustBy: units, reason: 'received' }).expect(200);
}

describe('scenario: the messages of a subscription', () => {
  useTestDatabase();

  test('when a shopper subscribes, changes, pays late, has boxes shipped and cancels, then they get each message once, in order, with working links', async () => {
    const { clock, app, merchant, driver } = await setUp();
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    for (const variant of plan.variants as Array<{ sku: string }>) await stock(app, merchant, variant.sku, 10);
    const mug = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Mug' }))
        .expect(201)
    ).body;
    const customer = (
      await request(app)
        .post('/api/v1/customers')
        .set(merchant.auth)
        .send(buildCustomerInput({ name: 'Ana Shopper' }))
        .expect(201)
    ).body;
    const subscription = (
      await request(app)
        .post('/api/v1/subscriptions')
        .set(merchant.auth)
        .send({ customerId: customer.id, planId: plan.id, variantId: plan.variants[0].id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
        .expect(201)
    ).body;
    const sub = (path: string, body: object = {}) =>
      request(app).post(`/api/v1/subscriptions/${subscription.id}/${path}`).set(merchant.auth).send(body).expect(200);
    const messages = () => queuedMessages({ customerId: customer.id });
    const last = async () => (await messages()).at(-1)!;
    const claimOf = (text: string, index = 0) => {
      const token = actionLinksIn(text)[index];
      const check = verifyActionToken(SECRET, token!, clock.now());
      if (!check.ok) throw new Error(`the link does not verify: ${check.reason}`);
      return check.claim;
    };

    // Subscribed with a saved card, first box paid: the terms, the receipt.
    await driver.followFacts();
    expect(await last()).toMatchObject({ template: 'subscription.confirmation', key: `${subscription.id}:00000001`, category: 'transactional' });
    expect((await last()).text).toContain('Price: $26.00 per box');
    expect((await last()).text).toContain('Next charge: February 15, 2026 at 10:30 AM EST');
    // The link to manage it is the subscription's page in the store's portal.
    const { handle } = (await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200)).body;
    expect((await last()).text).toContain(`${TEST_LINKS.publicUrl}/shop/${handle}/subscriptions/${subscription.id}`);
    // The card it was made with is recorded (read from Stripe).
    expect((await request(app).get(`/api/v1/customers/${customer.id}`).set(merchant.auth).expect(200)).body.card).toEqual({
      brand: expect.any(String),
      last4: expect.stringMatching(/^\d{4}$/),
      expMonth: expect.any(Number),
      expYear: expect.any(Number),
    });
    await driver.pay(subscription.stripeSubscriptionId, clock.now(), 2600);
    expect(await last()).toMatchObject({ template: 'box.receipt', subject: 'Your receipt: $26.00 for your box of January 15, 2026' });
    const cutoff = new Date(subscription.nextCharge.cutoffAt as string);

    // Skip, then un-skip, the next box: each confirmed, with the opposite as its undo, good until the box locks.
    clock.advance(3_600_000);
    await sub('skip');
    await driver.followFacts();
    expect((await last()).subject).toBe('Your box is skipped');
    expect(claimOf((await last()).text)).toMatchObject({
      action: 'subscription.unskip',
      subjectId: subscription.id,
      merchantId: merchant.id,
      data: { cycleKey: '2026-02-15' },
      exp: cutoff.getTime() / 1000,
    });
    await sub('unskip', { cycleKey: '2026-02-15' });
    await driver.followFacts();
    expect(claimOf((await last()).text)).toMatchObject({ action: 'subscription.skip', data: { cycleKey: '2026-02-15' }, exp: cutoff.getTime() / 1000 });

    // Swap, an extra added then removed: the undo names the fact it undoes.
    await sub('swap', { variantId: plan.variants[1].id });
    await driver.followFacts();
    const swapped = await last();
    expect(swapped.text).toContain(`you will receive ${plan.name}: Filter instead of ${plan.name}: Whole bean`);
    expect(claimOf(swapped.text)).toMatchObject({ action: 'subscription.undo', data: { factId: swapped.factId }, exp: cutoff.getTime() / 1000 });
    const withMug = (await sub('addons', { addonId: mug.id, quantity: 1 })).body;
    await driver.followFacts();
    expect((await last()).text).toContain('1 × Mug will be in your box of February 15, 2026.');
    expect(claimOf((await last()).text).action).toBe('subscription.undo');
    await sub(`addons/${withMug.addons[0].id}/remove`);
    await driver.followFacts();
    expect((await last()).text).toContain('Mug is no longer in your coming boxes.');
    expect(actionLinksIn((await last()).text)).toEqual([]);

    // Paused for a box, then resumed: the pause's undo is to resume.
    await sub('pause', { cycles: 1 });
    await driver.followFacts();
    expect(claimOf((await last()).text)).toMatchObject({ action: 'subscription.resume', subjectId: subscription.id });
    await sub('resume');
    await driver.followFacts();
    expect((await last()).text).toContain('Your subscription is active again. Your next box is charged on February 15, 2026.');

    // A new address: the shopper's fact, confirmed with a week to put the old one back.
    const moved = { line1: `9 Elm & Oak St`, city: 'Portland', postalCode: '97201', country: 'US' };
    await request(app).patch(`/api/v1/customers/${customer.id}`).set(merchant.auth).send({ shippingAddress: moved }).expect(200);
    await request(app).patch(`/api/v1/customers/${customer.id}`).set(merchant.auth).send({ shippingAddress: moved }).expect(200); // the same again: no change
    await driver.followFacts();
    expect((await factsAbout({ subjectId: customer.id })).map((fact) => [fact.type, fact.actor.kind, fact.data.to])).toEqual([
      ['customer.address_changed', 'merchant', moved],
    ]);
    const addressed = await last();
    expect(addressed).toMatchObject({ subject: 'Your shipping address is changed', text: expect.stringContaining('9 Elm & Oak St, 97201, Portland, US') });
    expect(addressed.html).toContain('9 Elm &amp; Oak St');
    expect(claimOf(addressed.text)).toMatchObject({
      action: 'customer.undo',
      subjectId: customer.id,
      data: { factId: addressed.factId },
      exp: clock.now().getTime() / 1000 + 7 * 86_400,
    });

    // The first box ships and arrives.
    const firstOrder = (await request(app).get(`/api/v1/orders?subscriptionId=${subscription.id}`).set(merchant.auth).expect(200)).body.data[0];
    await request(app)
      .post(`/api/v1/orders/${firstOrder.id}/ship`)
      .set(merchant.auth)
      .send({ carrier: 'UPS', trackingNumber: '1Z999', trackingUrl: 'https://ups.example/track?n=1Z999&x=1' })
      .expect(200);
    await driver.followFacts();
    expect((await last()).text).toContain('Track your box: https://ups.example/track?n=1Z999&x=1');
    expect((await last()).html).toContain('href="https://ups.example/track?n=1Z999&amp;x=1"');
    await request(app).post(`/api/v1/orders/${firstOrder.id}/deliver`).set(merchant.auth).send({}).expect(200);
    await driver.followFacts();
    expect((await last()).template).toBe('box.delivered');

    // The next box: built at its cut-off, its payment fails twice, then goes through. Told once of the failure.
    at(clock, new Date(cutoff.getTime() + 60_000));
    await driver.runCutoffs();
    const chargeAt = new Date(Date.parse('2026-02-15T15:30:00Z'));
    at(clock, new Date(chargeAt.getTime() + 5_000));
    await driver.fail(subscription.stripeSubscriptionId, chargeAt, 'in_feb', 1);
    const failed = await last();
    expect(failed).toMatchObject({ template: 'payment.failed', subject: 'We could not take your payment' });
    expect(failed.text).toContain('the payment for your box of February 15, 2026');
    expect(failed.text).toContain('Pay or update your card: https://invoice.stripe.com/i/acct_test/in_feb');
    clock.advance(86_400_000);
    await driver.fail(subscription.stripeSubscriptionId, chargeAt, 'in_feb', 2);
    clock.advance(86_400_000);
    await driver.pay(subscription.stripeSubscriptionId, chargeAt, 2600, 'in_feb');
    expect((await messages()).slice(-2).map((m) => m.template)).toEqual(['box.receipt', 'payment.recovered']);
    expect((await last()).text).toContain('your payment of $26.00 went through');

    // Cancelled at the end of the period (a link keeps it going until then), reactivated, then cancelled now.
    await sub('cancel', { mode: 'period_end', reason: 'too_expensive' });
    await driver.followFacts();
    const scheduled = await last();
    expect(scheduled).toMatchObject({ template: 'subscription.cancelled', subject: 'Your subscription ends on March 15, 2026' });
    expect(claimOf(scheduled.text)).toMatchObject({ action: 'subscription.reactivate', exp: Date.parse('2026-03-15T14:30:00Z') / 1000 }); // 10:30 in New York, summer time
    await sub('reactivate');
    await driver.followFacts();
    expect((await last()).subject).toBe('Your subscription continues');
    await sub('cancel', { mode: 'now', reason: 'moving' });
    await driver.followFacts();
    const ended = await last();
    expect(ended).toMatchObject({ template: 'subscription.cancelled', subject: 'Your subscription has ended' });
    expect(claimOf(ended.text)).toMatchObject({ action: 'subscription.reactivate', exp: clock.now().getTime() / 1000 + 30 * 86_400 });

    const told = (await messages()).map((m) => [m.template, m.subject]);
    expect(told).toEqual([
      ['subscription.confirmation', `Your ${plan.name} subscription is confirmed`],
      ['box.receipt', 'Your receipt: $26.00 for your box of January 15, 2026'],
      ['subscription.changed', 'Your box is skipped'],
      ['subscription.changed', 'Your box is back on'],
      ['subscription.changed', 'Your box is changed'],
      ['subscription.changed', 'An extra is added to your box'],
      ['subscription.changed', 'An extra is removed from your box'],
      ['subscription.changed', 'Your subscription is paused'],
      ['subscription.changed', 'Your subscription has resumed'],
      ['subscription.changed', 'Your shipping address is changed'],
      ['box.shipped', 'Your box is on its way'],
      ['box.delivered', 'Your box has arrived'],
      ['payment.failed', 'We could not take your payment'],
      ['box.receipt', 'Your receipt: $26.00 for your box of February 15, 2026'],
      ['payment.recovered', 'Thank you: your payment went through'],
      ['subscription.cancelled', 'Your subscription ends on March 15, 2026'],
      ['subscription.changed', 'Your subscription continues'],
      ['subscription.cancelled', 'Your subscription has ended'],
    ]);
    // Each is keyed by the fact it follows, and every fact's listeners all succeeded.
    const all = await messages();
    expect(all.every((m) => m.key === m.factId && m.to === customer.email && m.timezone === 'America/New_York')).toBe(true);
    expect(await FactModel.countDocuments({ merchantId: merchant.id, state: { $ne: 'succeeded' } })).toBe(0);

    // Every fact followed again (a listener run twice, Stripe's events redelivered): nothing more is queued.
    const deps = { clock, logger: silentLogger, stripe: createStripeGateway(testStripe()), links: TEST_LINKS };
    for (const fact of await FactModel.find({ merchantId: merchant.id }).lean()) {
      for (const listener of listeners[fact.type] ?? []) if (listener.name.startsWith('messages.')) await listener.run(deps, fact);
    }
    await driver.replayAll();
    expect(await messages()).toHaveLength(told.length);
  }, 120_000);

  test('when the shopper has their own language and zone, then their messages read in them', async () => {
    const { clock, app, merchant, driver } = await setUp();
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    await stock(app, merchant, plan.variants[0].sku, 5);
    const customer = (
      await request(app)
        .post('/api/v1/customers')
        .set(merchant.auth)
        .send(buildCustomerInput({ locale: 'de-DE', timezone: 'Asia/Tokyo' }))
        .expect(201)
    ).body;
    expect(customer).toMatchObject({ locale: 'de-DE', timezone: 'Asia/Tokyo', card: null });
    const subscription = (
      await request(app)
        .post('/api/v1/subscriptions')
        .set(merchant.auth)
        .send({ customerId: customer.id, planId: plan.id, variantId: plan.variants[0].id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
        .expect(201)
    ).body;
    await driver.pay(subscription.stripeSubscriptionId, clock.now(), 2600);
    const [confirmation] = await queuedMessages({ customerId: customer.id, template: 'subscription.confirmation' });
    const [receipt] = await queuedMessages({ customerId: customer.id, template: 'box.receipt' });
    // 15:30 UTC on 15 February is already the 16th in Tokyo.
    expect(confirmation!.text).toContain('Next charge: 16. Februar 2026 um 00:30 GMT+9');
    expect(receipt!.subject).toBe('Your receipt: 26,00\u00a0$ for your box of 15. Januar 2026');
    expect(receipt).toMatchObject({ timezone: 'Asia/Tokyo' });
  });

  test('when a change of cadence or charge date is confirmed, then its undo lasts while the boxes it moves are still open', async () => {
    const { clock, app, merchant, driver } = await setUp();
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    await stock(app, merchant, plan.variants[0].sku, 5);
    const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    const subscription = (
      await request(app)
        .post('/api/v1/subscriptions')
        .set(merchant.auth)
        .send({ customerId: customer.id, planId: plan.id, variantId: plan.variants[0].id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
        .expect(201)
    ).body;
    // The next box is 2026-02-15 (cut-off 02-12); moving it to 02-20 can be undone until the earlier cut-off.
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/charge-date`).set(merchant.auth).send({ date: '2026-02-20' }).expect(200);
    await driver.followFacts();
    const moved = (await queuedMessages({ customerId: customer.id })).at(-1)!;
    expect(moved.text).toContain('Your next box moves from February 15, 2026 to February 20, 2026');
    const [token] = actionLinksIn(moved.text);
    expect(verifyActionToken(SECRET, token!, clock.now())).toMatchObject({
      ok: true,
      claim: { action: 'subscription.undo', data: { factId: moved.factId }, exp: Date.parse('2026-02-12T15:30:00Z') / 1000 },
    });
    expect(verifyActionToken(SECRET, token!, new Date('2026-02-12T15:30:00Z'))).toEqual({ ok: false, reason: 'expired' });

    await request(app).post(`/api/v1/subscriptions/${subscription.id}/cadence`).set(merchant.auth).send({ cadence: 'week-2' }).expect(200);
    await driver.followFacts();
    const cadence = (await queuedMessages({ customerId: customer.id })).at(-1)!;
    expect(cadence.text).toContain('From the box of February 20, 2026, your boxes come every 2 weeks instead of every month.');
    // Its box locks on 02-17, but no link lives longer than 30 days.
    expect(verifyActionToken(SECRET, actionLinksIn(cadence.text)[0]!, clock.now())).toMatchObject({
      ok: true,
      claim: { action: 'subscription.undo', exp: clock.now().getTime() / 1000 + 30 * 86_400 },
    });
  });
});
