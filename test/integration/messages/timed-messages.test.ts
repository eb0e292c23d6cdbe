import request from 'supertest';
import { recordCustomerCard } from '../../../src/customers/customer.service';
import {
  notifyDelayedBoxes,
  remindUpcomingBoxes,
  remindYearlyTerms,
  requestBoxRatings,
  sendWinBacks,
  warnExpiringCards,
} from '../../../src/messages/timed-messages.service';
import { verifyActionToken } from '../../../src/shared/action-tokens';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import type { CreateCustomerBody } from '../../../src/customers/customer.schemas';
import { liveSubscriptionPagesLockingBy, subscriptionsEndedBetween, subscriptionsWithAnniversaryOn } from '../../../src/subscriptions/subscription.queries';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { TEST_LINKS } from '../../helpers/facts';
import { actionLinksIn, queuedMessages } from '../../helpers/messages';
import { at, renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * The timed messages, each job run on a fake clock: nothing before its time, one message when it comes
 * (however often the job runs after), and nothing for shoppers it is not for.
 */
const SECRET = `action-links:${TEST_LINKS.appSecret}`;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function setUp(start = '2026-01-15T15:30:00Z') {
  const clock = new FakeClock(start);
  const testApp = buildTestApp({ clock });
  const { app } = testApp;
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
  await request(app).post(`/api/v1/stock-items/${plan.variants[0].sku}/adjustments`).set(merchant.auth).send({ adjustBy: 50, reason: 'received' }).expect(200);
  const driver = renewalDriver(testApp, createStripeGateway(testStripe()));
  const deps = { clock, logger: silentLogger, links: TEST_LINKS };
  const subscribe = async (customer: Partial<CreateCustomerBody> = {}, on: { id: string; variants: Array<{ id: string }> } = plan) => {
    const made = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput(customer)).expect(201)).body;
    const subscription = (
      await request(app)
        .post('/api/v1/subscriptions')
        .set(merchant.auth)
        .send({ customerId: made.id, planId: on.id, variantId: on.variants[0]!.id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
        .expect(201)
    ).body;
    return { customerId: made.id as string, id: subscription.id as string, stripeSubscriptionId: subscription.stripeSubscriptionId as string };
  };
  const settings = (body: object) => request(app).put('/api/v1/message-settings').set(merchant.auth).send(body).expect(200);
  /** Runs a job, and answers how many messages of the template this merchant's shoppers have been sent so far. */
  const run = async (job: (jobDeps: typeof deps) => Promise<number>, template: string) => {
    await job(deps);
    return (await queuedMessages({ merchantId: merchant.id, template })).length;
  };
  return { clock, app, merchant, plan, driver, deps, subscribe, settings, run };
}

describe('timed messages', () => {
  useTestDatabase();

  test('when a box nears its cut-off, then the shopper is reminded once, from the set number of days before, with links good until it locks; skipped, paused and turned-off boxes get nothing', async () => {
    const { clock, app, merchant, subscribe, settings, run } = await setUp();
    const ana = await subscribe();
    const ben = await subscribe();
    const cleo = await subscribe();
    await request(app).post(`/api/v1/subscriptions/${ben.id}/skip`).set(merchant.auth).send({ cycleKey: '2026-02-15' }).expect(200);
    await request(app).post(`/api/v1/subscriptions/${cleo.id}/pause`).set(merchant.auth).send({ until: '2026-06-01' }).expect(200);
    const cutoff = Date.parse('2026-02-12T15:30:00Z');

    at(clock, new Date(cutoff - 2 * DAY - HOUR));
    expect(await run(remindUpcomingBoxes, 'subscription.upcoming_box')).toBe(0);
    at(clock, new Date(cutoff - 2 * DAY + HOUR));
    expect(await run(remindUpcomingBoxes, 'subscription.upcoming_box')).toBe(1);
    clock.advance(HOUR);
    expect(await run(remindUpcomingBoxes, 'subscription.upcoming_box')).toBe(1);
    const reminders = await queuedMessages({ merchantId: merchant.id, template: 'subscription.upcoming_box' });
    expect(reminders).toEqual([
      expect.objectContaining({ customerId: ana.customerId, subscriptionId: ana.id, key: `upcoming:${ana.id}:2026-02-15`, category: 'reminder' }),
    ]);
    const text = reminders[0]!.text;
    expect(text).toContain('Your next box locks on February 12, 2026 at 10:30 AM EST and is charged on February 15, 2026.');
    expect(text).toContain('Total: $26.00');
    expect(text).toContain('Unsubscribe from these e-mails:');
    const claims = actionLinksIn(text).map((token) => verifyActionToken(SECRET, token, clock.now()));
    expect(claims).toEqual([
      {
        ok: true,
        claim: expect.objectContaining({ action: 'subscription.add-extra', subjectId: ana.id, data: { cycleKey: '2026-02-15' }, exp: cutoff / 1000 }),
      },
      { ok: true, claim: expect.objectContaining({ action: 'subscription.swap', subjectId: ana.id, exp: cutoff / 1000 }) },
      { ok: true, claim: expect.objectContaining({ action: 'subscription.skip', subjectId: ana.id, data: { cycleKey: '2026-02-15' }, exp: cutoff / 1000 }) },
    ]);

    // Ben skipped February: he hears about March, in its own time; five days before, as the merchant now wants.
    await settings({ days: { upcomingBoxDaysBeforeCutoff: 5 } });
    at(clock, '2026-03-07T15:00:00Z'); // 5 days before the 12 March cut-off, and a half hour
    expect(await run(remindUpcomingBoxes, 'subscription.upcoming_box')).toBe(3); // and Ana's and Ben's March boxes
    expect((await queuedMessages({ merchantId: merchant.id, template: 'subscription.upcoming_box' })).map((m) => m.key).sort()).toEqual(
      [`upcoming:${ana.id}:2026-02-15`, `upcoming:${ana.id}:2026-03-15`, `upcoming:${ben.id}:2026-03-15`].sort(),
    );
    // Turned off: April's reminders are not sent.
    await settings({ messages: { 'subscription.upcoming_box': false } });
    at(clock, '2026-04-11T15:00:00Z');
    expect(await run(remindUpcomingBoxes, 'subscription.upcoming_box')).toBe(3);
    expect(await queuedMessages({ customerId: cleo.customerId, template: 'subscription.upcoming_box' })).toEqual([]);
  });

  test('when a paid box has not shipped some days after its ship date, then the shopper gets one apology with a new date; shipped and back-ordered boxes get none', async () => {
    const { clock, app, merchant, driver, subscribe, run } = await setUp();
    const ana = await subscribe();
    const ben = await subscribe();
    // Cleo's variant has one unit, sold before her payment is processed: her paid box is back-ordered.
    const scarce = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const sku = scarce.variants[0].sku as string;
    await request(app).post(`/api/v1/stock-items/${sku}/adjustments`).set(merchant.auth).send({ adjustBy: 1, reason: 'received' }).expect(200);
    const cleo = await subscribe({}, scarce);
    await request(app).post(`/api/v1/stock-items/${sku}/adjustments`).set(merchant.auth).send({ adjustBy: -1, reason: 'sold' }).expect(200);
    for (const who of [ana, ben, cleo]) await driver.pay(who.stripeSubscriptionId, clock.now(), 2600);
    expect(await queuedMessages({ customerId: cleo.customerId, template: 'box.back_ordered' })).toHaveLength(1);
    const bens = (await request(app).get(`/api/v1/orders?subscriptionId=${ben.id}`).set(merchant.auth).expect(200)).body.data[0];
    await request(app).post(`/api/v1/orders/${bens.id}/ship`).set(merchant.auth).send({ carrier: 'UPS', trackingNumber: 'X1' }).expect(200);

    at(clock, '2026-01-17T20:00:00Z'); // 2 days late in New York
    expect(await run(notifyDelayedBoxes, 'box.delayed')).toBe(0);
    at(clock, '2026-01-18T20:00:00Z'); // 3 days late: the tolerance
    expect(await run(notifyDelayedBoxes, 'box.delayed')).toBe(1);
    clock.advance(DAY);
    expect(await run(notifyDelayedBoxes, 'box.delayed')).toBe(1);
    const [late] = await queuedMessages({ merchantId: merchant.id, template: 'box.delayed' });
    expect(late).toMatchObject({ customerId: ana.customerId, subject: 'Your box is running late: we are sorry' });
    expect(late!.text).toContain('your box of January 15, 2026 has not left us yet');
    expect(late!.text).toContain('we now expect to send it by January 21, 2026');
  });

  test('when the merchant asks for ratings, then each delivered box gets one request the set number of days after delivery, with a signed link', async () => {
    const { clock, app, merchant, driver, subscribe, settings, run } = await setUp();
    const ana = await subscribe();
    await driver.pay(ana.stripeSubscriptionId, clock.now(), 2600);
    const order = (await request(app).get(`/api/v1/orders?subscriptionId=${ana.id}`).set(merchant.auth).expect(200)).body.data[0];
    await request(app).post(`/api/v1/orders/${order.id}/ship`).set(merchant.auth).send({ carrier: 'UPS', trackingNumber: 'X1' }).expect(200);
    await request(app).post(`/api/v1/orders/${order.id}/deliver`).set(merchant.auth).send({}).expect(200);
    const deliveredAt = clock.now().getTime();

    at(clock, new Date(deliveredAt + 3 * DAY + HOUR));
    expect(await run(requestBoxRatings, 'box.rate_request')).toBe(0); // off until the merchant turns it on
    await settings({ messages: { 'box.rate_request': true } });
    at(clock, new Date(deliveredAt + 3 * DAY - HOUR));
    expect(await run(requestBoxRatings, 'box.rate_request')).toBe(0);
    at(clock, new Date(deliveredAt + 3 * DAY + HOUR));
    expect(await run(requestBoxRatings, 'box.rate_request')).toBe(1);
    expect(await run(requestBoxRatings, 'box.rate_request')).toBe(1);
    const [rate] = await queuedMessages({ merchantId: merchant.id, template: 'box.rate_request' });
    expect(rate).toMatchObject({ key: `rate:${order.id}`, category: 'reminder' });
    expect(verifyActionToken(SECRET, actionLinksIn(rate!.text)[0]!, clock.now())).toMatchObject({
      ok: true,
      claim: { action: 'box.rate', subjectId: ana.id, data: { orderId: order.id } },
    });
  });

  test('when a live subscriber’s card expires this month, then they are asked once for a new one; a later card or no subscription gets nothing', async () => {
    const { clock, app, merchant, subscribe, run } = await setUp();
    const ana = await subscribe();
    const ben = await subscribe();
    const cleo = await subscribe();
    await request(app).post(`/api/v1/subscriptions/${cleo.id}/cancel`).set(merchant.auth).send({ mode: 'now', reason: 'moving' }).expect(200);
    const card = (customerId: string, expMonth: number) =>
      recordCustomerCard(
        { merchantId: merchant.id, customerId },
        { stripePaymentMethodId: `pm_${customerId}`, brand: 'visa', last4: '4242', expMonth, expYear: 2026, seenAt: new Date('2026-01-16T00:00:00Z') },
        { replaces: true },
      );
    await card(ana.customerId, 2);
    await card(ben.customerId, 3);
    await card(cleo.customerId, 2);

    at(clock, '2026-01-31T12:00:00Z');
    expect(await run(warnExpiringCards, 'payment.card_expiring')).toBe(0);
    at(clock, '2026-02-01T04:00:00Z'); // still 31 January in New York
    expect(await run(warnExpiringCards, 'payment.card_expiring')).toBe(0);
    at(clock, '2026-02-01T14:00:00Z');
    expect(await run(warnExpiringCards, 'payment.card_expiring')).toBe(1);
    clock.advance(DAY);
    expect(await run(warnExpiringCards, 'payment.card_expiring')).toBe(1);
    const [warned] = await queuedMessages({ merchantId: merchant.id, template: 'payment.card_expiring' });
    expect(warned).toMatchObject({ customerId: ana.customerId, subject: 'Your card ending in 4242 expires soon' });
    expect(warned!.text).toContain('expires at the end of February 2026');
    expect(verifyActionToken(SECRET, actionLinksIn(warned!.text)[0]!, clock.now())).toMatchObject({
      ok: true,
      claim: { action: 'payment.update-card', subjectId: ana.customerId },
    });
    at(clock, '2026-03-02T14:00:00Z');
    expect(await run(warnExpiringCards, 'payment.card_expiring')).toBe(2); // Ben's, in March
  });

  test('when a subscription ended the set number of days ago and a comeback offer applies, then a shopper who agreed to offers gets it once; others get nothing', async () => {
    const { clock, app, merchant, subscribe, run } = await setUp();
    await request(app).post('/api/v1/offers').set(merchant.auth).send({ kind: 'comeback', name: 'Welcome back', withinDays: 60, percentOff: 25 }).expect(201);
    const ana = await subscribe({ marketingConsent: true });
    const ben = await subscribe({ marketingConsent: false });
    const cleo = await subscribe({ marketingConsent: true });
    for (const who of [ana, ben, cleo]) {
      await request(app).post(`/api/v1/subscriptions/${who.id}/cancel`).set(merchant.auth).send({ mode: 'now', reason: 'moving' }).expect(200);
    }
    const endedAt = clock.now().getTime();
    // Cleo came back on her own meanwhile.
    clock.advance(DAY);
    await request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({
        customerId: cleo.customerId,
        planId: (await request(app).get('/api/v1/plans').set(merchant.auth)).body.data[0].id,
        variantId: (await request(app).get('/api/v1/plans').set(merchant.auth)).body.data[0].variants[0].id,
        cadence: 'month-1',
        paymentMethodId: 'pm_card_visa',
      })
      .expect(201);

    at(clock, new Date(endedAt + 30 * DAY - HOUR));
    expect(await run(sendWinBacks, 'subscription.win_back')).toBe(0);
    at(clock, new Date(endedAt + 30 * DAY + HOUR));
    expect(await run(sendWinBacks, 'subscription.win_back')).toBe(1);
    expect(await run(sendWinBacks, 'subscription.win_back')).toBe(1);
    const winBacks = await queuedMessages({ merchantId: merchant.id, template: 'subscription.win_back' });
    expect(winBacks).toEqual([
      expect.objectContaining({
        customerId: ana.customerId,
        key: `winback:${ana.id}`,
        category: 'marketing',
        subject: 'We miss you: 25% off your first box back',
      }),
    ]);
    expect(winBacks[0]!.text).toContain('Come back before March 16, 2026 and your first box is 25% off (Welcome back).');
    expect(verifyActionToken(SECRET, actionLinksIn(winBacks[0]!.text)[0]!, clock.now())).toMatchObject({
      ok: true,
      claim: { action: 'subscription.reactivate', subjectId: ana.id, exp: (endedAt + 60 * DAY) / 1000 },
    });
    // A week later, nothing more (and Ben, who did not agree to offers, never).
    at(clock, new Date(endedAt + 40 * DAY));
    expect(await run(sendWinBacks, 'subscription.win_back')).toBe(1);
    expect(await queuedMessages({ customerId: ben.customerId, template: 'subscription.win_back' })).toEqual([]);
  });

  test('when a subscription’s start comes round each year, then its terms and how to cancel are sent once that year, not before', async () => {
    const { clock, merchant, subscribe, run } = await setUp();
    const ana = await subscribe();
    at(clock, '2026-12-31T12:00:00Z');
    expect(await run(remindYearlyTerms, 'subscription.yearly_terms')).toBe(0);
    at(clock, '2027-01-15T04:00:00Z'); // still the 14th in New York
    expect(await run(remindYearlyTerms, 'subscription.yearly_terms')).toBe(0);
    at(clock, '2027-01-15T14:00:00Z');
    expect(await run(remindYearlyTerms, 'subscription.yearly_terms')).toBe(1);
    at(clock, '2027-01-20T14:00:00Z');
    expect(await run(remindYearlyTerms, 'subscription.yearly_terms')).toBe(1);
    at(clock, '2028-01-16T14:00:00Z'); // a day late: caught up
    expect(await run(remindYearlyTerms, 'subscription.yearly_terms')).toBe(2);
    const reminders = await queuedMessages({ merchantId: merchant.id, template: 'subscription.yearly_terms' });
    expect(reminders.map((m) => [m.key, m.category])).toEqual([
      [`terms:${ana.id}:2027`, 'reminder'],
      [`terms:${ana.id}:2028`, 'reminder'],
    ]);
    expect(reminders[0]!.text).toContain('began on January 15, 2026, a year ago');
    expect(reminders[1]!.text).toContain('2 years ago');
    expect(reminders[0]!.text).toContain('Price: $26.00 per box');
    expect(reminders[0]!.text).toContain('You can cancel at any time');
  });

  describe('each job reads the subscriptions it may write to, not the whole store', () => {
    const ids = (subscriptions: Array<{ _id: string }>) => subscriptions.map((subscription) => subscription._id);
    // A page of one at a time, so the keyset paging is walked too; each subscription once.
    const lockingBy = async (merchantId: string, by: Date) => {
      const read: string[] = [];
      for await (const page of liveSubscriptionPagesLockingBy(merchantId, by, 1)) read.push(...ids(page));
      return read.sort();
    };

    test('when the renewal job has armed each subscription at its next cut-off, then the reminder job reads those locking soon and the past-due ones, and still reminds each in its time', async () => {
      const { clock, app, merchant, driver, subscribe, run } = await setUp();
      const ana = await subscribe(); // boxes on the 15th: February's locks on the 12th
      at(clock, '2026-01-28T15:30:00Z');
      const ben = await subscribe(); // boxes on the 28th: February's locks on the 25th
      const cleo = await subscribe();
      await driver.fail(cleo.stripeSubscriptionId, clock.now(), `in_cleo_${cleo.id.slice(-6)}`, 1);
      expect((await request(app).get(`/api/v1/subscriptions/${cleo.id}`).set(merchant.auth).expect(200)).body.status).toBe('past_due');
      await driver.runCutoffs();

      at(clock, '2026-02-10T16:30:00Z'); // two days before Ana's cut-off, and an hour
      const by = new Date(clock.now().getTime() + 2 * DAY);
      expect(await lockingBy(merchant.id, by)).toEqual([ana.id, cleo.id].sort());
      expect(await run(remindUpcomingBoxes, 'subscription.upcoming_box')).toBe(1);

      // A change unarms the check: Ben's skip makes him read again (his March box is still far off).
      await request(app).post(`/api/v1/subscriptions/${ben.id}/skip`).set(merchant.auth).send({ cycleKey: '2026-02-28' }).expect(200);
      expect(await lockingBy(merchant.id, by)).toEqual([ana.id, ben.id, cleo.id].sort());
      expect(await run(remindUpcomingBoxes, 'subscription.upcoming_box')).toBe(1);

      at(clock, '2026-02-23T16:30:00Z'); // two days before the 25 February cut-off: Cleo's box, Ben's is skipped
      expect(await run(remindUpcomingBoxes, 'subscription.upcoming_box')).toBe(2);
      expect((await queuedMessages({ merchantId: merchant.id, template: 'subscription.upcoming_box' })).map((m) => m.key).sort()).toEqual(
        [`upcoming:${ana.id}:2026-02-15`, `upcoming:${cleo.id}:2026-02-28`].sort(),
      );
    });

    test('when a store has starts on many days and endings on many days, then the yearly and win-back jobs read only those whose day it is', async () => {
      const { clock, app, merchant, subscribe } = await setUp('2025-01-10T15:30:00Z');
      const started: Record<string, string> = {};
      for (const day of ['2025-01-10', '2025-01-14', '2025-01-20', '2025-06-01']) {
        at(clock, `${day}T15:30:00Z`);
        started[day] = (await subscribe()).id;
      }
      at(clock, '2025-02-03T15:30:00Z');
      const leaving = await subscribe();
      await request(app).post(`/api/v1/subscriptions/${leaving.id}/cancel`).set(merchant.auth).send({ mode: 'now', reason: 'moving' }).expect(200);

      // The week to 15 January 2026, in New York: the 10 and 14 January starts (the 20th and 1 June are not due).
      const days = Array.from({ length: 8 }, (_, index) => `2026-01-${String(15 - index).padStart(2, '0')}`);
      expect(ids(await subscriptionsWithAnniversaryOn(merchant.id, ['active'], 'America/New_York', days))).toEqual([
        started['2025-01-10'],
        started['2025-01-14'],
      ]);
      // A start read in the store's calendar: 10 January 03:00 UTC is still the 9th in New York.
      expect(ids(await subscriptionsWithAnniversaryOn(merchant.id, ['active'], 'America/New_York', ['2026-01-09']))).toEqual([]);
      expect(ids(await subscriptionsWithAnniversaryOn(merchant.id, ['active'], 'Asia/Tokyo', ['2026-01-11']))).toEqual([started['2025-01-10']]);

      const ended = new Date('2025-02-03T15:30:00Z');
      expect(ids(await subscriptionsEndedBetween(merchant.id, new Date(ended.getTime() - DAY), ended))).toEqual([leaving.id]);
      expect(ids(await subscriptionsEndedBetween(merchant.id, ended, new Date(ended.getTime() + DAY)))).toEqual([]);
    });
  });
});
