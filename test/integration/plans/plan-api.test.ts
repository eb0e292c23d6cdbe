import request from 'supertest';
import { syncPendingCatalogItems } from '../../../src/catalog/catalog-sync-job.service';
import { catalogKinds } from '../../../src/catalog/catalog-kinds';
import { PlanModel } from '../../../src/plans/plan.model';
import { createStripeGateway, type StripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { buildTestApp, recordStripeCalls } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

describe('plans', () => {
  useTestDatabase();

  test('when a plan is created, then it is stored in the merchant currency and mirrored to Stripe with keyed writes', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant({ defaultCurrency: 'EUR' });
    const res = await request(app)
      .post('/api/v1/plans')
      .set(merchant.auth)
      .send(buildPlanInput({ trialDays: 7, firstBoxDiscount: { type: 'percent', percentOff: 50 } }))
      .expect(201);
    const plan = res.body;
    expect(plan).toMatchObject({ object: 'plan', status: 'active', currency: 'EUR', trialDays: 7, firstBoxDiscount: { type: 'percent', percentOff: 50 } });
    expect(plan.cadences.map((c: { key: string; price: { amountMinor: number } }) => [c.key, c.price.amountMinor])).toEqual([
      ['week-2', 2400],
      ['month-1', 2600],
    ]);
    expect(plan.stripe).toEqual({ productId: expect.stringMatching(/^prod_/), state: 'synced', lastError: null });
    for (const cadence of plan.cadences) expect(cadence.price.stripePriceId).toMatch(/^price_/);

    expect(stripeCalls).toEqual([
      { method: 'POST', path: '/v1/products', idempotencyKey: `plan:${plan.id}:product` },
      { method: 'POST', path: '/v1/prices', idempotencyKey: `price:${plan.cadences[0].price.id}:create` },
      { method: 'POST', path: '/v1/prices', idempotencyKey: `price:${plan.cadences[1].price.id}:create` },
    ]);
    const stored = await PlanModel.findById(plan.id).lean();
    expect(stored?.merchantId).toBe(merchant.id);
  });

  test.each([
    ['an unknown field', { color: 'red' }, 'body.color'],
    ['no variants', { variants: [] }, 'body.variants'],
    [
      'a repeated sku',
      {
        variants: [
          { name: 'A', sku: 'X' },
          { name: 'B', sku: 'X' },
        ],
      },
      'body.variants',
    ],
    ['a cadence of 13 months', { cadences: [{ interval: 'month', intervalCount: 13, priceMinor: 100 }] }, 'body.cadences.0.intervalCount'],
    ['a fractional price', { cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 24.5 }] }, 'body.cadences.0.priceMinor'],
    ['a first-box discount above the price', { firstBoxDiscount: { type: 'amount', amountOffMinor: 5000 } }, 'body.firstBoxDiscount.amountOffMinor'],
  ])('when a plan has %s, then it answers 400 naming the field and nothing is stored or sent to Stripe', async (_what, change, field) => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const res = await request(app)
      .post('/api/v1/plans')
      .set(merchant.auth)
      .send({ ...buildPlanInput(), ...change })
      .expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await PlanModel.countDocuments({ merchantId: merchant.id })).toBe(0);
    expect(stripeCalls).toEqual([]);
  });

  test('when a price changes, then new subscribers get a new price and the old one is kept and retired in Stripe', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const created = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const old = created.cadences[1].price;
    stripeCalls.length = 0;

    const res = await request(app)
      .patch(`/api/v1/plans/${created.id}`)
      .set(merchant.auth)
      .send({ cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 2800 }] })
      .expect(200);
    const fresh = res.body.cadences[1].price;
    expect(fresh).toMatchObject({ amountMinor: 2800, stripePriceId: expect.stringMatching(/^price_/) });
    expect(fresh.id).not.toBe(old.id);
    expect(res.body.cadences[0].price).toEqual(created.cadences[0].price);

    const stored = await PlanModel.findById(created.id).lean();
    expect(stored?.prices.find((p) => p._id === old.id)).toMatchObject({ active: false, amountMinor: 2600, stripeDeactivatedAt: expect.any(Date) });
    expect(stripeCalls).toEqual([
      { method: 'POST', path: `/v1/products/${created.stripe.productId}`, idempotencyKey: `plan:${created.id}:product:r1` },
      { method: 'POST', path: '/v1/prices', idempotencyKey: `price:${fresh.id}:create` },
      { method: 'POST', path: `/v1/prices/${old.stripePriceId}`, idempotencyKey: `price:${old.id}:deactivate` },
    ]);
  });

  test('when variants are added, changed and archived, then ids stay stable and at least one stays active', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const [first, second] = plan.variants;
    const res = await request(app)
      .patch(`/api/v1/plans/${plan.id}`)
      .set(merchant.auth)
      .send({
        variants: [
          { id: first.id, name: 'Whole bean, dark' },
          { id: second.id, status: 'archived' },
          { name: 'Espresso', sku: 'ESP-1' },
        ],
      })
      .expect(200);
    expect(res.body.variants.map((v: { id: string; name: string; status: string }) => [v.id, v.name, v.status])).toEqual([
      [first.id, 'Whole bean, dark', 'active'],
      [second.id, second.name, 'archived'],
      [expect.stringMatching(/^var_/), 'Espresso', 'active'],
    ]);
    const refused = await request(app)
      .patch(`/api/v1/plans/${plan.id}`)
      .set(merchant.auth)
      .send({ variants: res.body.variants.map((v: { id: string }) => ({ id: v.id, status: 'archived' })) })
      .expect(400);
    expect(refused.body.errors[0]).toEqual({ field: 'body.variants', message: 'a plan needs at least one active variant' });
  });

  test('when a plan is archived, then it is listed as archived and can be offered again', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    await request(app).post(`/api/v1/plans/${plan.id}/archive`).set(merchant.auth).expect(200);
    const archived = await request(app).get('/api/v1/plans?status=archived').set(merchant.auth).expect(200);
    expect(archived.body.data.map((p: { id: string }) => p.id)).toEqual([plan.id]);
    expect((await request(app).get('/api/v1/plans?status=active').set(merchant.auth).expect(200)).body.data).toEqual([]);
    const again = await request(app).post(`/api/v1/plans/${plan.id}/unarchive`).set(merchant.auth).expect(200);
    expect(again.body.status).toBe('active');
  });

  test('when plans are listed page by page, then every plan comes once, newest first', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push((await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body.id);
      clock.advance(i === 2 ? 0 : 1000); // two plans share a creation instant
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await request(app)
        .get(`/api/v1/plans?limit=2${cursor ? `&startingAfter=${cursor}` : ''}`)
        .set(merchant.auth)
        .expect(200);
      seen.push(...page.body.data.map((p: { id: string }) => p.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen[0]).toBe(ids[4]);
    await request(app).get('/api/v1/plans?startingAfter=garbage').set(merchant.auth).expect(400);
    await request(app).get('/api/v1/plans?limit=1000').set(merchant.auth).expect(400);
  });

  test('when a slug is taken, then a made-up slug gets a suffix and a chosen one is refused', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const a = (
      await request(app)
        .post('/api/v1/plans')
        .set(merchant.auth)
        .send(buildPlanInput({ name: 'Morning Box' }))
        .expect(201)
    ).body;
    const b = (
      await request(app)
        .post('/api/v1/plans')
        .set(merchant.auth)
        .send(buildPlanInput({ name: 'Morning Box' }))
        .expect(201)
    ).body;
    expect([a.slug, b.slug]).toEqual(['morning-box', 'morning-box-2']);
    const res = await request(app)
      .post('/api/v1/plans')
      .set(merchant.auth)
      .send(buildPlanInput({ slug: 'morning-box' }))
      .expect(409);
    expect(res.body.type).toBe('/problems/slug_taken');
  });

  test('when Stripe fails during creation, then the plan is kept pending and the sync job mirrors it once', async () => {
    const failing: StripeGateway = { ...createStripeGateway(testStripe()), createProduct: async () => Promise.reject(new Error('Stripe is down')) };
    const { app, clock } = buildTestApp({ stripeGateway: failing });
    const merchant = await createMerchant();
    const res = await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201);
    expect(res.body.stripe).toEqual({ productId: null, state: 'pending', lastError: 'Stripe is down' });

    const stripe = testStripe();
    const calls = recordStripeCalls(stripe);
    const deps = { clock, stripe: createStripeGateway(stripe), logger: silentLogger };
    await syncPendingCatalogItems(deps, catalogKinds());
    const synced = await PlanModel.findById(res.body.id).lean();
    expect(synced?.stripe).toMatchObject({ state: 'synced', productId: expect.stringMatching(/^prod_/), syncedRevision: 0 });
    expect(calls.map((c) => c.idempotencyKey)).toEqual([`plan:${res.body.id}:product`, ...synced!.prices.map((p) => `price:${p._id}:create`)]);

    calls.length = 0;
    await syncPendingCatalogItems(deps, catalogKinds());
    expect(calls).toEqual([]);
  });
});
