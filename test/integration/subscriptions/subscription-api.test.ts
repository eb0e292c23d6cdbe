import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('subscriptions', () => {
  useTestDatabase();

  async function planAndCustomer(app: Parameters<typeof request>[0], auth: { Authorization: string }, plan = buildPlanInput()) {
    const created = (await request(app).post('/api/v1/plans').set(auth).send(plan).expect(201)).body;
    const customer = (await request(app).post('/api/v1/customers').set(auth).send(buildCustomerInput()).expect(201)).body;
    return { plan: created, customer };
  }

  test('when a shopper subscribes through Checkout, then the subscription waits incomplete with a Checkout URL, its first box awaiting payment', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const { plan, customer } = await planAndCustomer(app, merchant.auth);
    stripeCalls.length = 0;
    const res = await request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: customer.id, planId: plan.id, variantId: plan.variants[0].id, cadence: 'week-2', checkout: true })
      .expect(201);
    expect(res.body).toMatchObject({
      status: 'incomplete',
      checkoutUrl: expect.stringMatching(/^https?:\/\//),
      // The first box is what the shopper pays at Checkout; nothing after it is due yet.
      nextCharge: { cycleKey: '2026-03-01', total: { amountMinor: 2400 } },
      upcomingCycles: [expect.objectContaining({ cycleKey: '2026-03-01', state: 'awaiting_payment' })],
      stripeSubscriptionId: null,
    });
    expect(stripeCalls).toEqual([{ method: 'POST', path: '/v1/checkout/sessions', idempotencyKey: `subscription:${res.body.id}:checkout` }]);
    const skip = await request(app).post(`/api/v1/subscriptions/${res.body.id}/skip`).set(merchant.auth).send({}).expect(409);
    expect(skip.body.detail).toBe('A incomplete subscription cannot skip a box.');
  });

  test('when a plan has a trial, then the first charge is when it ends, with the first-box discount shown', async () => {
    const clock = new FakeClock('2026-01-10T18:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'Europe/Berlin', defaultCurrency: 'EUR' }, clock);
    const { subscription } = await subscribeShopper(app, merchant, { trialDays: 14, firstBoxDiscount: { type: 'amount', amountOffMinor: 500 } });
    expect(subscription).toMatchObject({
      status: 'trialing',
      nextCharge: {
        cycleKey: '2026-01-24',
        chargeAt: '2026-01-24T18:00:00.000Z',
        lines: [expect.objectContaining({ amountMinor: 2600 }), { description: 'First box discount', quantity: 1, amountMinor: -500 }],
        total: { amountMinor: 2100, currency: 'EUR' },
      },
    });
  });

  test.each([
    ['both a payment method and checkout', { paymentMethodId: 'pm_card_visa', checkout: true }, 'body.paymentMethodId'],
    ['neither a payment method nor checkout', {}, 'body.paymentMethodId'],
    ['a cadence the plan does not offer', { cadence: 'week-3', paymentMethodId: 'pm_card_visa' }, 'body.cadence'],
    ["another merchant's customer", { customerId: 'foreign', paymentMethodId: 'pm_card_visa' }, 'body.customerId'],
  ])('when a subscription has %s, then it answers 400 naming the field', async (_what, change, field) => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { plan, customer } = await planAndCustomer(app, merchant.auth);
    const res = await request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: customer.id, planId: plan.id, variantId: plan.variants[0].id, cadence: 'month-1', ...change })
      .expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  test('when a plan is archived, then it takes no new subscribers but existing ones keep it', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { planId, customerId, variantIds, subscription } = await subscribeShopper(app, merchant);
    await request(app).post(`/api/v1/plans/${planId}/archive`).set(merchant.auth).expect(200);
    const res = await request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId, planId, variantId: variantIds[0], cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
      .expect(409);
    expect(res.body.type).toBe('/problems/invalid_state');
    const kept = await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200);
    expect(kept.body).toMatchObject({ status: 'active', box: { planId } });
  });

  test('when the plan price changes, then the subscriber keeps their price', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { planId, subscription } = await subscribeShopper(app, merchant);
    await request(app)
      .patch(`/api/v1/plans/${planId}`)
      .set(merchant.auth)
      .send({ cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 3100 }] })
      .expect(200);
    const res = await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200);
    expect(res.body.nextCharge.total.amountMinor).toBe(2600);
  });

  test('when a subscription is cancelled now, then Stripe cancels it and no action is allowed after', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const { subscription } = await subscribeShopper(app, merchant);
    const bad = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/cancel`)
      .set(merchant.auth)
      .send({ mode: 'now', reason: 'because' })
      .expect(400);
    expect(bad.body.errors[0].field).toBe('body.reason');
    stripeCalls.length = 0;
    const res = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/cancel`)
      .set(merchant.auth)
      .send({ mode: 'now', reason: 'too_expensive', comment: 'Budget' })
      .expect(200);
    expect(res.body).toMatchObject({
      status: 'cancelled',
      nextCharge: null,
      upcomingCycles: [],
      cancellation: { mode: 'now', reason: 'too_expensive', comment: 'Budget' },
    });
    expect(stripeCalls).toEqual([
      {
        method: 'DELETE',
        path: `/v1/subscriptions/${subscription.stripeSubscriptionId as string}?prorate=false`,
        idempotencyKey: `subscription:${subscription.id}:cancel`,
      },
    ]);
    for (const [action, body] of [
      ['skip', {}],
      ['pause', { cycles: 1 }],
      ['resume', {}],
      ['reactivate', {}],
      ['cancel', { mode: 'now', reason: 'other' }],
    ] as const) {
      const refused = await request(app).post(`/api/v1/subscriptions/${subscription.id}/${action}`).set(merchant.auth).send(body).expect(409);
      expect(refused.body.type).toBe('/problems/invalid_state');
    }
  });

  test('when a pause is given a date, then the first box on or after it is the next charge; resume and reactivate refuse when nothing to undo', async () => {
    const clock = new FakeClock('2026-06-15T12:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/resume`).set(merchant.auth).send({}).expect(409);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/reactivate`).set(merchant.auth).send({}).expect(409);
    const past = await request(app).post(`/api/v1/subscriptions/${subscription.id}/pause`).set(merchant.auth).send({ until: '2026-06-01' }).expect(400);
    expect(past.body.errors[0].field).toBe('body.until');
    const res = await request(app).post(`/api/v1/subscriptions/${subscription.id}/pause`).set(merchant.auth).send({ until: '2026-09-01' }).expect(200);
    expect(res.body).toMatchObject({ status: 'paused', pause: { startsOn: '2026-07-15', resumeOn: '2026-09-15' }, nextCharge: { cycleKey: '2026-09-15' } });
  });

  test('when subscriptions are listed with filters, then only the matching ones of this merchant come back', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const a = await subscribeShopper(app, merchant);
    const b = await subscribeShopper(app, merchant);
    await request(app).post(`/api/v1/subscriptions/${b.subscription.id}/pause`).set(merchant.auth).send({ cycles: 1 }).expect(200);
    const paused = await request(app).get('/api/v1/subscriptions?status=paused').set(merchant.auth).expect(200);
    expect(paused.body.data.map((s: { id: string }) => s.id)).toEqual([b.subscription.id]);
    const byPlan = await request(app).get(`/api/v1/subscriptions?planId=${a.planId}`).set(merchant.auth).expect(200);
    expect(byPlan.body.data.map((s: { id: string }) => s.id)).toEqual([a.subscription.id]);
    const byCustomer = await request(app).get(`/api/v1/subscriptions?customerId=${b.customerId}`).set(merchant.auth).expect(200);
    expect(byCustomer.body.data.map((s: { id: string }) => s.id)).toEqual([b.subscription.id]);
    expect(byCustomer.body.data[0]).not.toHaveProperty('history');
  });

  test('when a skip is retried with its Idempotency-Key, then it is answered again and skips nothing more', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { subscription } = await subscribeShopper(app, merchant);
    const first = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/skip`)
      .set(merchant.auth)
      .set('Idempotency-Key', 'skip-1')
      .send({})
      .expect(200);
    const retry = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/skip`)
      .set(merchant.auth)
      .set('Idempotency-Key', 'skip-1')
      .send({})
      .expect(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.upcomingCycles).toEqual(first.body.upcomingCycles);
    const now = await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200);
    expect(now.body.upcomingCycles.filter((c: { state: string }) => c.state === 'skipped')).toHaveLength(1);
  });
});

describe('subscription dates', () => {
  useTestDatabase();

  test.each([
    ['skip', { cycleKey: '2026-02-30' }, 'body.cycleKey'],
    ['unskip', { cycleKey: '2026-13-01' }, 'body.cycleKey'],
    ['pause', { until: '2026-13-01' }, 'body.until'],
    ['pause', { until: '9999-12-30' }, 'body.until'],
    ['pause', { until: '2026-02-30' }, 'body.until'],
    ['charge-date', { date: '2026-02-30' }, 'body.date'],
  ])('when %s gets the impossible date %j, then it answers 400 naming the field', async (action, body, field) => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { subscription } = await subscribeShopper(app, merchant);
    const res = await request(app).post(`/api/v1/subscriptions/${subscription.id}/${action}`).set(merchant.auth).send(body).expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });
});

describe('price migration', () => {
  useTestDatabase();

  test('when the merchant migrates a cadence, then its subscribers pay the current price from their next open box, once', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { planId, subscription } = await subscribeShopper(app, merchant);
    const weekly = await subscribeShopper(app, merchant, {}, 'week-2');
    await request(app)
      .patch(`/api/v1/plans/${planId}`)
      .set(merchant.auth)
      .send({ cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 3100 }] })
      .expect(200);

    const res = await request(app).post(`/api/v1/plans/${planId}/price-migrations`).set(merchant.auth).send({ cadence: 'month-1' }).expect(200);
    expect(res.body).toMatchObject({ object: 'price_migration', migrated: 1 });
    const moved = await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200);
    expect(moved.body.nextCharge.total.amountMinor).toBe(3100);
    expect(moved.body.history.at(-1)).toMatchObject({ type: 'subscription.price_migrated', data: { toPriceId: res.body.priceId } });

    expect(
      (await request(app).post(`/api/v1/plans/${planId}/price-migrations`).set(merchant.auth).send({ cadence: 'month-1' }).expect(200)).body.migrated,
    ).toBe(0);
    const untouched = await request(app).get(`/api/v1/subscriptions/${weekly.subscription.id}`).set(merchant.auth).expect(200);
    expect(untouched.body.nextCharge.total.amountMinor).toBe(2400);
  });
});
