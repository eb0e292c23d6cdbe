import request from 'supertest';
import { FactModel } from '../../src/events/fact.model';
import { prepareDueBoxes } from '../../src/renewals/renewal.service';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { syncDueSubscriptions } from '../../src/subscriptions/subscription.service';
import { coreAnswers } from '../../src/wiring';
import { buildCustomerInput, buildPlanInput } from '../factories/catalog.factory';
import { createMerchant } from '../factories/merchant.factory';
import { factsAbout, followFacts } from '../helpers/facts';
import { renewalDriver } from '../helpers/renewal-driver';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

/**
 * The facts one renewal year produces, exactly and in order (Kill Bill's habit): a subscriber renews monthly,
 * skips a box, swaps variant, recovers a failed payment, pauses for a box and is resumed by the job, asks to
 * cancel at period end and changes their mind. Then every Stripe event is delivered again (as the same event
 * and as a new one) and every job runs again: no new fact.
 */
const plus = (iso: string | Date, ms: number) => new Date(new Date(iso).getTime() + ms);
const DAY = 86_400_000;

describe('scenario: the facts of a renewal year', () => {
  useTestDatabase();

  test('when a subscriber lives a year of changes, then each subject records exactly its facts, in order, and replaying everything records none', async () => {
    const clock = new FakeClock('2026-01-15T15:30:00Z');
    const gateway = createStripeGateway(testStripe());
    const testApp = buildTestApp({ clock, stripeGateway: gateway });
    const { app } = testApp;
    const driver = renewalDriver(testApp, gateway);
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const [a, b] = plan.variants as Array<{ id: string; sku: string }>;
    const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    const created = (
      await request(app)
        .post('/api/v1/subscriptions')
        .set(merchant.auth)
        .send({ customerId: customer.id, planId: plan.id, variantId: a!.id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
        .expect(201)
    ).body;
    const stripeId = created.stripeSubscriptionId as string;
    const view = async () => (await request(app).get(`/api/v1/subscriptions/${created.id}`).set(merchant.auth).expect(200)).body;
    const act = (path: string, body: object = {}) => request(app).post(`/api/v1/subscriptions/${created.id}/${path}`).set(merchant.auth).send(body).expect(200);
    const orderOf = async (cycleKey: string) =>
      (await request(app).get(`/api/v1/orders?subscriptionId=${created.id}`).set(merchant.auth).expect(200)).body.data.find(
        (o: { cycleKey: string }) => o.cycleKey === cycleKey,
      );

    await driver.pay(stripeId, clock.now(), 2600, 'in_2026-01-15');
    /** One month: the cut-off builds the box, Stripe charges it (or fails first), the merchant ships it. */
    const renew = async (outcome: 'paid' | 'fails-then-paid' = 'paid') => {
      const { nextCharge } = await view();
      clock.set(plus(nextCharge.cutoffAt, 60_000));
      await driver.syncStripe();
      await driver.runCutoffs();
      clock.set(plus(nextCharge.chargeAt, 5_000));
      const invoice = `in_${nextCharge.cycleKey}`;
      if (outcome === 'fails-then-paid') {
        await driver.fail(stripeId, new Date(nextCharge.chargeAt), invoice, 1);
        clock.set(plus(nextCharge.chargeAt, 3 * DAY));
      }
      await driver.pay(stripeId, new Date(nextCharge.chargeAt), 2600, invoice);
      const order = await orderOf(nextCharge.cycleKey);
      await request(app)
        .post(`/api/v1/orders/${order.id}/ship`)
        .set(merchant.auth)
        .send({ carrier: 'USPS', trackingNumber: `94${nextCharge.cycleKey}` })
        .expect(200);
      clock.set(plus(clock.now(), 2 * DAY));
      await request(app).post(`/api/v1/orders/${order.id}/deliver`).set(merchant.auth).send({}).expect(200);
      return nextCharge.cycleKey as string;
    };

    const boxes: string[] = [];
    boxes.push(await renew()); // 02-15
    await act('skip', { cycleKey: '2026-03-15' });
    await act('swap', { variantId: b!.id }); // from the first open box (03-15, skipped): the box changes at once
    boxes.push(await renew('fails-then-paid')); // 04-15, Stripe fails once then charges
    await act('pause', { cycles: 1 }); // 05-15 is not sent
    boxes.push(await renew()); // 06-15 (the sync job ends the pause at its cut-off)
    for (let month = 0; month < 4; month += 1) boxes.push(await renew()); // 07-15 … 10-15
    await act('cancel', { mode: 'period_end', reason: 'too_expensive' });
    await act('reactivate');
    boxes.push(await renew()); // 11-15
    boxes.push(await renew()); // 12-15
    boxes.push(await renew()); // 2027-01-15
    await driver.followFacts();
    expect(boxes).toEqual([
      '2026-02-15',
      '2026-04-15',
      '2026-06-15',
      '2026-07-15',
      '2026-08-15',
      '2026-09-15',
      '2026-10-15',
      '2026-11-15',
      '2026-12-15',
      '2027-01-15',
    ]);

    // The subscription's own facts, in order, with who made each true.
    const subscriptionFacts = (await factsAbout({ subjectId: created.id })).map((f) => [
      f.type,
      f.actor.kind,
      f.data.cycleKey ?? f.data.startsOn ?? f.data.reason ?? null,
    ]);
    expect(subscriptionFacts).toEqual([
      ['subscription.created', 'merchant', null],
      ['subscription.skipped', 'merchant', '2026-03-15'],
      ['subscription.swapped', 'merchant', null],
      ['subscription.payment_failed', 'stripe', null],
      ['subscription.recovered', 'stripe', '2026-04-15'],
      ['subscription.paused', 'merchant', '2026-05-15'],
      ['subscription.resumed', 'job', null],
      ['subscription.cancellation_scheduled', 'merchant', 'too_expensive'],
      ['subscription.reactivated', 'merchant', 'too_expensive'],
    ]);

    // Each box's facts, in order: made at payment (the first), or reserved at the cut-off, then paid, shipped, delivered.
    const boxFacts = async (cycleKey: string) => (await factsAbout({ subjectId: (await orderOf(cycleKey)).id })).map((f) => f.type);
    expect(await boxFacts('2026-01-15')).toEqual(['box.paid']);
    for (const cycleKey of boxes.filter((key) => key !== '2026-04-15')) {
      expect([cycleKey, await boxFacts(cycleKey)]).toEqual([cycleKey, ['box.reserved', 'box.paid', 'box.shipped', 'box.delivered']]);
    }
    expect(await boxFacts('2026-04-15')).toEqual(['box.reserved', 'box.held', 'box.paid', 'box.shipped', 'box.delivered']);
    // The swapped box carries the new variant, the first box before the swap the old one.
    expect((await orderOf('2026-04-15')).lines[0].sku).toBe(b!.sku);
    // Nothing else: the year recorded 9 subscription facts and 42 box facts, every one followed.
    const all = await FactModel.find({ merchantId: merchant.id }).lean();
    expect(all).toHaveLength(9 + 1 + 9 * 4 + 5);
    expect(all.filter((f) => f.state !== 'succeeded')).toEqual([]);
    // The timeline shows them all, newest first, in pages.
    const firstPage = (await request(app).get(`/api/v1/subscriptions/${created.id}/events?limit=20`).set(merchant.auth).expect(200)).body;
    const secondPage = (
      await request(app).get(`/api/v1/subscriptions/${created.id}/events?limit=40&startingAfter=${firstPage.nextCursor}`).set(merchant.auth).expect(200)
    ).body;
    expect([...firstPage.data, ...secondPage.data].map((f: { id: string }) => f.id)).toEqual(
      [...all].sort((x, y) => y.at.getTime() - x.at.getTime() || (y._id < x._id ? -1 : 1)).map((f) => f._id),
    );
    expect(secondPage.hasMore).toBe(false);

    // Every event again (as itself, and as a new event about the same object), every job again: no new fact.
    await driver.replayAll();
    const deps = { clock, stripe: gateway, logger: silentLogger, extras: coreAnswers({ clock }).boxExtras };
    await prepareDueBoxes(deps);
    await syncDueSubscriptions(deps);
    await followFacts(clock, gateway);
    expect(await FactModel.countDocuments({ merchantId: merchant.id })).toBe(all.length);
  });
});
