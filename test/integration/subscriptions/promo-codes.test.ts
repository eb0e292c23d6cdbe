import request from 'supertest';
import type { Express } from 'express';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { PromoCodeModel, PromoCodeRedemptionModel } from '../../../src/promotions/promotion.model';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { factsAbout } from '../../helpers/facts';
import { recordingGateway } from '../../helpers/recording-gateway';
import { renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp, recordStripeCalls } from '../../helpers/test-app';
import { testStripe, useTestDatabase } from '../../helpers/test-env';

/** Mar 2, 10:30 in New York: the first box is charged now, the next on Apr 2 (cut-off Mar 30). */
const START = '2026-03-02T15:30:00Z';

async function setUp(start = START) {
  const clock = new FakeClock(start);
  const stripe = testStripe();
  const stripeCalls = recordStripeCalls(stripe);
  const recording = recordingGateway(createStripeGateway(stripe));
  const testApp = buildTestApp({ clock, stripeGateway: recording.gateway });
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const app = testApp.app;
  const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
  return { clock, app, merchant, plan, ...recording, testApp, stripeCalls, driver: renewalDriver(testApp, recording.gateway) };
}

async function createCode(app: Express, merchant: TestMerchant, body: Record<string, unknown>) {
  return (
    await request(app)
      .post('/api/v1/promo-codes')
      .set(merchant.auth)
      .send({ description: 'A discount', ...body })
      .expect(201)
  ).body as { id: string; code: string; stripe: { couponId: string; promotionCodeId: string } };
}

async function subscribe(app: Express, merchant: TestMerchant, plan: { id: string; variants: Array<{ id: string }> }, extra: Record<string, unknown> = {}) {
  const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
  const res = await request(app)
    .post('/api/v1/subscriptions')
    .set(merchant.auth)
    .send({ customerId: customer.id, planId: plan.id, variantId: plan.variants[0]!.id, cadence: 'month-1', paymentMethodId: 'pm_card_visa', ...extra });
  return { customerId: customer.id as string, res };
}

const apply = (app: Express, merchant: TestMerchant, subscriptionId: string, code: string) =>
  request(app).post(`/api/v1/subscriptions/${subscriptionId}/promo-code`).set(merchant.auth).send({ code });

const redemptionCount = async (id: string) => (await PromoCodeModel.findById(id).lean())!.redemptionCount;
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms);
/** The lines of the box built for a cycle: the plan's amount, and each discount's description and amount. */
const firstBoxLines = async (subscriptionId: string, cycleKey: string) =>
  (await BoxOrderModel.findOne({ subscriptionId, cycleKey }).lean())!.lines.map((l) =>
    l.kind === 'plan' ? ['plan', l.unitAmountMinor] : [l.description, l.unitAmountMinor],
  );

describe('promo codes on subscriptions', () => {
  useTestDatabase();

  test('when a shopper applies a code for two boxes, then exactly those boxes show it, the box built at the cut-off has the line, and Stripe has the coupon for them only', async () => {
    const { clock, app, merchant, plan, updates, driver } = await setUp();
    const code = await createCode(app, merchant, {
      code: 'two-boxes',
      description: '10% off two boxes',
      percentOff: 10,
      duration: 'repeating',
      durationInBoxes: 2,
    });
    const { res } = await subscribe(app, merchant, plan);
    const subscription = res.body;
    await driver.pay(subscription.stripeSubscriptionId, clock.now(), 2600);

    updates.length = 0;
    const applied = await apply(app, merchant, subscription.id, 'Two-Boxes').expect(200);
    const line = { description: 'Promo code TWO-BOXES: 10% off two boxes', quantity: 1, amountMinor: -260 };
    expect(applied.body.nextCharge).toMatchObject({
      cycleKey: '2026-04-02',
      lines: [expect.objectContaining({ amountMinor: 2600 }), line],
      total: { amountMinor: 2340 },
    });
    expect(applied.body.promoCode).toEqual({
      code: 'TWO-BOXES',
      description: '10% off two boxes',
      percentOff: 10,
      amountOff: null,
      duration: 'repeating',
      durationInBoxes: 2,
      fromCycleKey: '2026-04-02',
      untilCycleKey: '2026-05-02',
    });
    expect(applied.body.history.at(-1)).toEqual({
      type: 'subscription.promo_code_applied',
      at: new Date(START).toISOString(),
      data: {
        promoCodeId: code.id,
        code: 'TWO-BOXES',
        description: '10% off two boxes',
        percentOff: 10,
        duration: 'repeating',
        boxes: 2,
        fromCycleKey: '2026-04-02',
        untilCycleKey: '2026-05-02',
      },
    });
    // The push made with the change: the code's coupon for the box Stripe bills next.
    expect(updates).toEqual([
      { key: `subscription:${subscription.id}:sync:r1:2026-04-02`, input: expect.objectContaining({ discounts: [{ couponId: code.stripe.couponId }] }) },
    ]);
    expect(await redemptionCount(code.id)).toBe(1);
    const redemptions = (await request(app).get(`/api/v1/promo-codes/${code.id}/redemptions`).set(merchant.auth).expect(200)).body.data;
    expect(redemptions).toEqual([
      {
        id: expect.stringMatching(/^pcr_/),
        object: 'promo_code_redemption',
        promoCodeId: code.id,
        subscriptionId: subscription.id,
        customerId: subscription.customerId,
        redeemedAt: new Date(START).toISOString(),
      },
    ]);

    // The first box it covers is built at its cut-off with the line, and billed Stripe's way (the coupon).
    clock.set(plus(applied.body.nextCharge.cutoffAt, 60_000));
    await driver.runCutoffs();
    const box = await BoxOrderModel.findOne({ subscriptionId: subscription.id, cycleKey: '2026-04-02' }).lean();
    expect(box).toMatchObject({ amountDueMinor: 2340 });
    expect(box!.lines.map((l) => [l.kind, l.description, l.unitAmountMinor])).toEqual([
      ['plan', expect.any(String), 2600],
      ['discount', 'Promo code TWO-BOXES: 10% off two boxes', -260],
    ]);

    // After the first covered box is charged, the second one shows it and Stripe keeps the coupon; after that, none.
    const view = async () => (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
    clock.set('2026-04-02T14:30:05Z');
    await driver.pay(subscription.stripeSubscriptionId, new Date('2026-04-02T14:30:00Z'), 2340);
    expect((await view()).nextCharge).toMatchObject({ cycleKey: '2026-05-02', total: { amountMinor: 2340 } });
    clock.set('2026-04-02T18:00:00Z');
    updates.length = 0;
    await driver.syncStripe();
    expect(updates.map((u) => u.input.discounts)).toEqual([[{ couponId: code.stripe.couponId }]]);

    clock.set('2026-05-02T14:30:05Z');
    const after = await view();
    expect(after.nextCharge).toMatchObject({ cycleKey: '2026-06-02', total: { amountMinor: 2600 } });
    expect(after.nextCharge.lines).toHaveLength(1);
    expect(after.promoCode).toBeNull();
    clock.set('2026-05-02T18:00:00Z');
    updates.length = 0;
    await driver.syncStripe();
    expect(updates.map((u) => u.input.discounts)).toEqual([[]]); // taken off Stripe's subscription
  });

  test('when a code cannot be used, then it is refused with the reason in words and nothing changes', async () => {
    const { clock, app, merchant, plan } = await setUp();
    const [a, b] = [(await subscribe(app, merchant, plan)).res.body, (await subscribe(app, merchant, plan)).res.body];
    await createCode(app, merchant, { code: 'ONCE-ONLY', percentOff: 10, maxRedemptions: 1 });
    await createCode(app, merchant, { code: 'NEWBIES', percentOff: 10, firstBoxOnly: true });
    await createCode(app, merchant, { code: 'EUROS', amountOffMinor: 500, currency: 'EUR' });
    await createCode(app, merchant, { code: 'APRIL', percentOff: 10, expiresAt: '2026-04-01T00:00:00Z' });
    const archived = await createCode(app, merchant, { code: 'OLD', percentOff: 10 });
    await request(app).post(`/api/v1/promo-codes/${archived.id}/archive`).set(merchant.auth).expect(200);
    await apply(app, merchant, a.id, 'ONCE-ONLY').expect(200);
    const before = await factsAbout({ subjectId: b.id });

    const refused = async (code: string, subscriptionId = b.id) => {
      const res = await apply(app, merchant, subscriptionId, code).expect(422);
      expect(res.body.type).toBe('/problems/promo_code_refused');
      return [res.body.reason, res.body.detail];
    };
    expect(await refused('NOPE')).toEqual(['unknown', 'There is no promo code NOPE in this shop.']);
    expect(await refused('once-only')).toEqual(['used_up', 'The promo code ONCE-ONLY has been used as many times as it can be.']);
    expect(await refused('NEWBIES')).toEqual(['first_box_only', 'The promo code NEWBIES is for new subscribers, when they subscribe.']);
    expect(await refused('EUROS')).toEqual(['currency', 'The promo code EUROS takes an amount in EUR off; these boxes are paid in USD.']);
    expect(await refused('OLD')).toEqual(['archived', 'The promo code OLD is no longer offered.']);
    // One code at a time on a subscription.
    expect(await refused('APRIL', a.id)).toEqual([
      'one_at_a_time',
      'This subscription has the promo code ONCE-ONLY until its box of 2026-04-02; one code at a time.',
    ]);
    clock.set('2026-04-01T00:00:00Z');
    expect(await refused('APRIL')).toEqual(['expired', 'The promo code APRIL has expired.']);
    const bad = await apply(app, merchant, b.id, 'not a code').expect(400);
    expect(bad.body.errors).toEqual([{ field: 'body.code', message: 'must be 3-32 letters, digits or dashes' }]);

    expect(await factsAbout({ subjectId: b.id })).toEqual(before);
    expect(await PromoCodeRedemptionModel.countDocuments({ subscriptionId: b.id })).toBe(0);
  });

  test('when a one-box code has been used up on its box, then it cannot be applied again; another code can', async () => {
    const { clock, app, merchant, plan } = await setUp();
    const subscription = (await subscribe(app, merchant, plan)).res.body;
    await createCode(app, merchant, { code: 'ONCE', percentOff: 10 });
    await createCode(app, merchant, { code: 'LATER', percentOff: 5 });
    await apply(app, merchant, subscription.id, 'ONCE').expect(200);
    clock.set('2026-04-02T15:00:00Z'); // its box is charged
    const again = await apply(app, merchant, subscription.id, 'ONCE').expect(422);
    expect([again.body.reason, again.body.detail]).toEqual(['already_used', 'The promo code ONCE was used on this subscription already.']);
    const later = await apply(app, merchant, subscription.id, 'LATER').expect(200);
    expect(later.body.promoCode).toMatchObject({ code: 'LATER', fromCycleKey: '2026-05-02', untilCycleKey: '2026-05-02' });
  });

  test('when the same code is applied again, or the request is retried, then nothing changes twice and it counts once', async () => {
    const { app, merchant, plan, stripeCalls } = await setUp();
    const subscription = (await subscribe(app, merchant, plan)).res.body;
    const code = await createCode(app, merchant, { code: 'FOREVER', percentOff: 5, duration: 'forever' });
    const send = () => apply(app, merchant, subscription.id, 'forever').set('Idempotency-Key', 'apply-forever');
    const first = await send().expect(200);
    const replay = await send().expect(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    stripeCalls.length = 0;
    const again = await apply(app, merchant, subscription.id, 'FOREVER').expect(200); // a new request: the code it has already
    expect(again.body.promoCode).toEqual(first.body.promoCode);
    expect(again.body.nextCharge).toEqual(first.body.nextCharge);
    expect(stripeCalls).toEqual([]);
    const applied = (await factsAbout({ subjectId: subscription.id })).filter((f) => f.type === 'subscription.promo_code_applied');
    expect(applied).toHaveLength(1);
    expect(await redemptionCount(code.id)).toBe(1);
  });

  test('when 20 subscriptions apply a code limited to 5 uses at once, then exactly 5 get it and the count stops at 5', async () => {
    const { app, merchant, plan } = await setUp();
    const code = await createCode(app, merchant, { code: 'FIRST-FIVE', percentOff: 15, maxRedemptions: 5 });
    const subscriptions: string[] = [];
    for (let i = 0; i < 20; i += 1) subscriptions.push((await subscribe(app, merchant, plan)).res.body.id);
    const results = await Promise.all(subscriptions.map((id) => apply(app, merchant, id, 'FIRST-FIVE')));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 422)).toHaveLength(15);
    expect(new Set(results.filter((r) => r.status === 422).map((r) => r.body.reason))).toEqual(new Set(['used_up']));
    expect(await redemptionCount(code.id)).toBe(5);
    expect(await PromoCodeRedemptionModel.countDocuments({ promoCodeId: code.id })).toBe(5);
    const winners = results.filter((r) => r.status === 200).map((r) => r.body.id as string);
    expect((await PromoCodeRedemptionModel.find({ promoCodeId: code.id }).lean()).map((r) => r.subscriptionId).sort()).toEqual(winners.sort());
    expect((await request(app).get(`/api/v1/promo-codes/${code.id}`).set(merchant.auth).expect(200)).body).toMatchObject({ redemptionCount: 5, usable: false });
  });

  test('when one subscription applies a code in several requests at once, then it counts once and is recorded once', async () => {
    const { app, merchant, plan } = await setUp();
    const code = await createCode(app, merchant, { code: 'TWICE', percentOff: 10, maxRedemptions: 2 });
    const subscription = (await subscribe(app, merchant, plan)).res.body;
    const results = await Promise.all(Array.from({ length: 5 }, () => apply(app, merchant, subscription.id, 'TWICE')));
    expect(results.map((r) => r.status).every((s) => s === 200 || s === 409)).toBe(true);
    expect(results.some((r) => r.status === 200)).toBe(true);
    expect(await redemptionCount(code.id)).toBe(1);
    expect((await factsAbout({ subjectId: subscription.id })).filter((f) => f.type === 'subscription.promo_code_applied')).toHaveLength(1);
    await apply(app, merchant, subscription.id, 'TWICE').expect(200);
    expect(await redemptionCount(code.id)).toBe(1);
  });

  test('when a shopper applies a code with their session, then it is theirs on the timeline; another shopper gets 404', async () => {
    const { app, merchant, plan } = await setUp();
    await createCode(app, merchant, { code: 'MINE', percentOff: 10 });
    const { customerId, res } = await subscribe(app, merchant, plan);
    const other = await subscribe(app, merchant, plan);
    const session = async (id: string) => ({
      Authorization: `Bearer ${(await request(app).post(`/api/v1/customers/${id}/shopper-sessions`).set(merchant.auth).expect(201)).body.token}`,
    });
    const theirs = await session(other.customerId);
    const denied = await request(app).post(`/api/v1/shopper/subscriptions/${res.body.id}/promo-code`).set(theirs).send({ code: 'MINE' }).expect(404);
    expect(denied.body.type).toBe('/problems/not_found');
    const applied = await request(app)
      .post(`/api/v1/shopper/subscriptions/${res.body.id}/promo-code`)
      .set(await session(customerId))
      .send({ code: 'mine' })
      .expect(200);
    expect(applied.body.promoCode).toMatchObject({ code: 'MINE' });
    const fact = (await factsAbout({ subjectId: res.body.id })).find((f) => f.type === 'subscription.promo_code_applied');
    expect(fact!.actor).toEqual({ kind: 'shopper', id: customerId });
    // A merchant's key cannot call the shopper's operation.
    await request(app).post(`/api/v1/shopper/subscriptions/${res.body.id}/promo-code`).set(merchant.auth).send({ code: 'MINE' }).expect(401);
  });

  test('when the charge date of a covered box moves, then the boxes the code covers follow it', async () => {
    const { app, merchant, plan } = await setUp();
    const subscription = (await subscribe(app, merchant, plan)).res.body;
    await createCode(app, merchant, { code: 'TWO', percentOff: 10, duration: 'repeating', durationInBoxes: 2 });
    await apply(app, merchant, subscription.id, 'TWO').expect(200);
    const moved = await request(app).post(`/api/v1/subscriptions/${subscription.id}/charge-date`).set(merchant.auth).send({ date: '2026-04-06' }).expect(200);
    expect(moved.body.promoCode).toMatchObject({ fromCycleKey: '2026-04-06', untilCycleKey: '2026-05-06' });
    expect(moved.body.nextCharge).toMatchObject({ cycleKey: '2026-04-06', total: { amountMinor: 2340 } });
  });
});

describe('promo codes at sign-up', () => {
  useTestDatabase();

  test('when a shopper subscribes with a code and the plan has no first-box discount, then the first box has the code, with no first-box coupon, and it counts once', async () => {
    const { clock, app, merchant, plan, stripeCalls, driver } = await setUp();
    const code = await createCode(app, merchant, { code: 'HELLO', description: '20% off your first box', percentOff: 20, firstBoxOnly: true });
    stripeCalls.length = 0;
    const { res } = await subscribe(app, merchant, plan, { promoCode: 'hello' });
    expect(res.status).toBe(201);
    // The first box, built when Stripe says it is paid, has the code's line; the next one is at full price.
    await driver.pay(res.body.stripeSubscriptionId, clock.now(), 2080);
    expect(await firstBoxLines(res.body.id, '2026-03-02')).toEqual([
      ['plan', 2600],
      ['Promo code HELLO: 20% off your first box', -520],
    ]);
    expect(res.body.nextCharge).toMatchObject({ cycleKey: '2026-04-02', total: { amountMinor: 2600 } });
    expect(res.body.promoCode).toBeNull(); // its one box is charged
    expect(res.body.history[0]).toMatchObject({
      type: 'subscription.created',
      data: { promoCode: { code: 'HELLO', promoCodeId: code.id, fromCycleKey: '2026-03-02', untilCycleKey: '2026-03-02', winsFirstBox: true } },
    });
    expect(stripeCalls.filter((c) => c.path === '/v1/coupons')).toEqual([]); // the code's own coupon: no first-box coupon
    expect(await redemptionCount(code.id)).toBe(1);
  });

  test('when the Stripe subscription is made with a code that won the first box, then it carries the promotion code; otherwise the first-box coupon', async () => {
    const clock = new FakeClock(START);
    const real = createStripeGateway(testStripe());
    const creates: Array<Record<string, unknown>> = [];
    const { gateway, updates } = recordingGateway({
      ...real,
      createSubscription: async (input, key) => {
        creates.push({ ...input, key });
        return real.createSubscription(input, key);
      },
    });
    const testApp = buildTestApp({ clock, stripeGateway: gateway });
    const { app } = testApp;
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const plan = (
      await request(app)
        .post('/api/v1/plans')
        .set(merchant.auth)
        .send(buildPlanInput({ firstBoxDiscount: { type: 'percent', percentOff: 10 } }))
        .expect(201)
    ).body;
    const big = await createCode(app, merchant, { code: 'BIG', percentOff: 25, duration: 'repeating', durationInBoxes: 3 });
    const small = await createCode(app, merchant, { code: 'SMALL', percentOff: 5, duration: 'forever' });

    const driver = renewalDriver(testApp, gateway);

    // A bigger code for three boxes: it takes the first box (25% rather than 10%) and the two after.
    const won = (await subscribe(app, merchant, plan, { promoCode: 'BIG' })).res.body;
    expect(creates.at(-1)).toMatchObject({ promotionCodeId: big.stripe.promotionCodeId, key: `subscription:${won.id}:create` });
    expect(creates.at(-1)!.couponId).toBeUndefined();
    await driver.pay(won.stripeSubscriptionId, clock.now(), 1950);
    expect(await firstBoxLines(won.id, '2026-03-02')).toEqual([
      ['plan', 2600],
      ['Promo code BIG: A discount', -650],
    ]);
    expect(won.promoCode).toMatchObject({ fromCycleKey: '2026-03-02', untilCycleKey: '2026-05-02' });
    expect(won.nextCharge.lines.at(-1)).toEqual({ description: 'Promo code BIG: A discount', quantity: 1, amountMinor: -650 });

    // A smaller code lasting every box: the plan's discount keeps the first box; the code discounts the next ones.
    const lost = (await subscribe(app, merchant, plan, { promoCode: 'SMALL' })).res.body;
    expect(creates.at(-1)).toMatchObject({ couponId: expect.any(String) });
    expect(creates.at(-1)!.promotionCodeId).toBeUndefined();
    await driver.pay(lost.stripeSubscriptionId, clock.now(), 2340);
    expect(await firstBoxLines(lost.id, '2026-03-02')).toEqual([
      ['plan', 2600],
      ['First box discount', -260],
    ]);
    expect(lost.nextCharge).toMatchObject({ cycleKey: '2026-04-02', total: { amountMinor: 2470 } });
    expect(lost.nextCharge.lines.at(-1)).toEqual({ description: 'Promo code SMALL: A discount', quantity: 1, amountMinor: -130 });
    expect(await redemptionCount(small.id)).toBe(1);

    // After the first charge Stripe is brought in line: each code's coupon for the second box.
    clock.set('2026-03-02T18:31:00Z');
    await driver.syncStripe();
    expect(updates.filter((u) => u.key.includes(won.id) || u.key.includes(lost.id)).map((u) => [u.key, u.input.discounts])).toEqual([
      [`subscription:${won.id}:sync:r0:2026-04-02`, [{ couponId: big.stripe.couponId }]],
      [`subscription:${lost.id}:sync:r0:2026-04-02`, [{ couponId: small.stripe.couponId }]],
    ]);
  });

  test('when a trialing subscriber applies a code before the first charge, then it competes with the first-box discount, and Stripe keeps the one that won', async () => {
    const { app, merchant, updates } = await setUp();
    const plan = (
      await request(app)
        .post('/api/v1/plans')
        .set(merchant.auth)
        .send(buildPlanInput({ trialDays: 14, firstBoxDiscount: { type: 'percent', percentOff: 10 } }))
        .expect(201)
    ).body;
    await createCode(app, merchant, { code: 'SMALL-ONCE', percentOff: 5 });
    const big = await createCode(app, merchant, { code: 'BIG-ONCE', percentOff: 20 });
    const small = await createCode(app, merchant, { code: 'SMALL-FOREVER', percentOff: 5, duration: 'forever' });
    const trialing = (await subscribe(app, merchant, plan)).res.body;
    expect(trialing).toMatchObject({ status: 'trialing', nextCharge: { cycleKey: '2026-03-16' } });

    const refused = await apply(app, merchant, trialing.id, 'SMALL-ONCE').expect(422);
    expect(refused.body).toMatchObject({ reason: 'better_discount' });
    const won = await apply(app, merchant, trialing.id, 'BIG-ONCE').expect(200);
    expect(won.body.nextCharge).toMatchObject({ cycleKey: '2026-03-16', total: { amountMinor: 2080 } });
    expect(won.body.nextCharge.lines.map((l: { description: string }) => l.description)).not.toContain('First box discount');
    expect(updates.at(-1)!.input.discounts).toEqual([{ couponId: big.stripe.couponId }]);

    // A smaller code for every box: the first box keeps its discount (and Stripe its first-box coupon); the code follows.
    const other = (await subscribe(app, merchant, plan)).res.body;
    const kept = await apply(app, merchant, other.id, 'SMALL-FOREVER').expect(200);
    expect(kept.body.nextCharge.lines.at(-1)).toEqual({ description: 'First box discount', quantity: 1, amountMinor: -260 });
    expect(kept.body.promoCode).toMatchObject({ fromCycleKey: '2026-03-16', untilCycleKey: null });
    const firstBoxCoupon = (await SubscriptionModel.findById(other.id).lean())!.stripe.couponId;
    expect(updates.at(-1)!.input.discounts).toEqual([{ couponId: firstBoxCoupon }]);
    expect(small.stripe.couponId).not.toBe(firstBoxCoupon);
  });

  test('when a one-box code is worth less than the first-box discount, then the sign-up is refused and the code is not counted', async () => {
    const { app, merchant } = await setUp();
    const plan = (
      await request(app)
        .post('/api/v1/plans')
        .set(merchant.auth)
        .send(buildPlanInput({ firstBoxDiscount: { type: 'percent', percentOff: 50 } }))
        .expect(201)
    ).body;
    const code = await createCode(app, merchant, { code: 'TENNER', amountOffMinor: 1000 });
    const { customerId, res } = await subscribe(app, merchant, plan, { promoCode: 'TENNER' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      type: '/problems/promo_code_refused',
      reason: 'better_discount',
      detail: 'The first box already has a better discount (First box discount); the promo code TENNER does not add to it.',
    });
    expect(await redemptionCount(code.id)).toBe(0);
    expect((await request(app).get(`/api/v1/subscriptions?customerId=${customerId}`).set(merchant.auth).expect(200)).body.data).toEqual([]);
  });

  test('when a sign-up with a code fails at Stripe and is retried with its Idempotency-Key, then the code counts once', async () => {
    const clock = new FakeClock(START);
    const real = createStripeGateway(testStripe());
    let failures = 1;
    const gateway = {
      ...real,
      createSubscription: async (input: Parameters<typeof real.createSubscription>[0], key: string) => {
        if (failures-- > 0) throw new Error('Stripe timed out');
        return real.createSubscription(input, key);
      },
    };
    const { app } = buildTestApp({ clock, stripeGateway: gateway });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const code = await createCode(app, merchant, { code: 'RETRY', percentOff: 10, maxRedemptions: 1 });
    const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    const body = {
      customerId: customer.id,
      planId: plan.id,
      variantId: plan.variants[0].id,
      cadence: 'month-1',
      paymentMethodId: 'pm_card_visa',
      promoCode: 'RETRY',
    };
    const send = () => request(app).post('/api/v1/subscriptions').set(merchant.auth).set('Idempotency-Key', 'signup-retry').send(body);
    await send().expect(500);
    expect(await redemptionCount(code.id)).toBe(1); // counted before Stripe was asked: never past the limit
    const retried = await send().expect(201);
    expect(retried.body.history[0].data.promoCode).toMatchObject({ code: 'RETRY' });
    expect(await redemptionCount(code.id)).toBe(1); // the same subscription: its use counts once (and the limit of 1 does not refuse it)
  });

  test('when a shopper subscribes through Checkout with a code and pays the next day, then the Session redeems the promotion code and the covered boxes follow the billing anchor', async () => {
    const clock = new FakeClock('2026-03-10T15:00:00Z');
    const paid = new Date('2026-03-11T11:00:00Z');
    const base = createStripeGateway(testStripe());
    const sessions: Array<Record<string, unknown>> = [];
    const gateway = {
      ...base,
      createCheckoutSession: async (input: Parameters<typeof base.createCheckoutSession>[0], key: string) => {
        sessions.push({ ...input });
        return base.createCheckoutSession(input, key);
      },
      retrieveSubscription: async (id: string) => ({ id, status: 'active', itemId: 'si_checkout', billingCycleAnchor: paid }),
    };
    const testApp = buildTestApp({ clock, stripeGateway: gateway });
    const { app } = testApp;
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const code = await createCode(app, merchant, { code: 'DUO', percentOff: 10, duration: 'repeating', durationInBoxes: 2 });
    const { res } = await subscribe(app, merchant, plan, { paymentMethodId: undefined, checkout: true, promoCode: 'DUO' });
    expect(res.status).toBe(201);
    expect(sessions).toEqual([expect.objectContaining({ promotionCodeId: code.stripe.promotionCodeId })]);
    expect(res.body.promoCode).toMatchObject({ fromCycleKey: '2026-03-10', untilCycleKey: '2026-04-10' });

    const stored = await SubscriptionModel.findById(res.body.id).lean();
    const driver = renewalDriver(testApp, gateway);
    clock.set(paid);
    await driver.deliver('checkout.session.completed', {
      id: stored!.stripe.checkoutSessionId,
      object: 'checkout.session',
      mode: 'subscription',
      client_reference_id: res.body.id,
      subscription: 'sub_checkoutpromo',
      metadata: { boxcycle_merchant_id: merchant.id, boxcycle_subscription_id: res.body.id },
    });
    const view = (await request(app).get(`/api/v1/subscriptions/${res.body.id}`).set(merchant.auth).expect(200)).body;
    expect(view.promoCode).toMatchObject({ fromCycleKey: '2026-03-11', untilCycleKey: '2026-04-11' });
    expect(view.nextCharge).toMatchObject({ cycleKey: '2026-04-11', total: { amountMinor: 2340 } });
  });
});
