import request from 'supertest';
import { syncCatalogToStripeJob } from '../../../jobs/catalog.sync-to-stripe.job';
import type { JobDeps } from '../../../jobs/job-definition';
import { PromoCodeModel } from '../../../src/promotions/promotion.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway, type StripeGateway } from '../../../src/stripe/stripe-gateway';
import { createMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

const stripePath = (path: string) => path.replace(/\/(promo|co)_?\w+$/, '/:id');

describe('promo codes: the API', () => {
  useTestDatabase();

  test('when a merchant creates a code, then it is stored in upper case and backed by a Stripe coupon and promotion code keyed by its id', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const res = await request(app)
      .post('/api/v1/promo-codes')
      .set(merchant.auth)
      .send({ code: 'spring-20', description: '20% off three boxes', percentOff: 20, duration: 'repeating', durationInBoxes: 3, maxRedemptions: 100 })
      .expect(201);
    expect(res.body).toMatchObject({
      object: 'promo_code',
      code: 'SPRING-20',
      description: '20% off three boxes',
      percentOff: 20,
      amountOff: null,
      duration: 'repeating',
      durationInBoxes: 3,
      firstBoxOnly: false,
      maxRedemptions: 100,
      redemptionCount: 0,
      expiresAt: null,
      status: 'active',
      usable: true,
      stripe: { state: 'synced', couponId: expect.any(String), promotionCodeId: expect.stringMatching(/^promo_/), active: true, lastError: null },
    });
    expect(res.body.id).toMatch(/^pcode_/);
    expect(stripeCalls.map((c) => [c.method, c.path, c.idempotencyKey])).toEqual([
      ['POST', '/v1/coupons', `promo:${res.body.id}:coupon`],
      ['POST', '/v1/promotion_codes', `promo:${res.body.id}:promotion-code`],
    ]);

    const amount = await request(app)
      .post('/api/v1/promo-codes')
      .set(merchant.auth)
      .send({ code: 'TENOFF', description: '$10 off your next box', amountOffMinor: 1000 })
      .expect(201);
    expect(amount.body).toMatchObject({ amountOff: { amountMinor: 1000, currency: 'USD' }, percentOff: null, duration: 'once', durationInBoxes: null });
  });

  test('when a code is invalid, then each bad field is named and nothing is stored or sent to Stripe', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const refused = async (body: Record<string, unknown>) =>
      (
        await request(app)
          .post('/api/v1/promo-codes')
          .set(merchant.auth)
          .send({ code: 'GOOD-1', description: 'Ten off', percentOff: 10, ...body })
          .expect(400)
      ).body.errors as Array<{ field: string; message: string }>;
    expect(await refused({ code: 'no spaces' })).toEqual([{ field: 'body.code', message: 'must be 3-32 letters, digits or dashes' }]);
    expect((await refused({ code: 'AB' }))[0]!.field).toBe('body.code');
    expect((await refused({ code: 'A'.repeat(33) }))[0]!.field).toBe('body.code');
    expect((await refused({ code: 'CAFÉ' }))[0]!.field).toBe('body.code');
    expect(await refused({ amountOffMinor: 500 })).toEqual([{ field: 'body.percentOff', message: 'give either percentOff or amountOffMinor' }]);
    expect((await refused({ percentOff: 101 }))[0]!.field).toBe('body.percentOff');
    expect((await refused({ percentOff: 0 }))[0]!.field).toBe('body.percentOff');
    expect(await refused({ currency: 'EUR' })).toEqual([{ field: 'body.currency', message: 'goes with amountOffMinor only' }]);
    expect(await refused({ duration: 'repeating' })).toEqual([{ field: 'body.durationInBoxes', message: 'is required for a repeating code' }]);
    expect(await refused({ durationInBoxes: 3 })).toEqual([{ field: 'body.durationInBoxes', message: 'goes with duration: repeating only' }]);
    expect((await refused({ maxRedemptions: 0 }))[0]!.field).toBe('body.maxRedemptions');
    expect((await refused({ expiresAt: 'tomorrow' }))[0]!.field).toBe('body.expiresAt');
    expect(await refused({ expiresAt: '2020-01-01T00:00:00Z' })).toEqual([{ field: 'body.expiresAt', message: 'must be in the future' }]);
    expect((await refused({ unknown: true }))[0]!.field).toBe('body.unknown');
    expect(await PromoCodeModel.countDocuments({ merchantId: merchant.id })).toBe(0);
    expect(stripeCalls).toEqual([]);
  });

  test('when a code is taken in any case, then it is refused; another merchant may use the same code', async () => {
    const { app } = buildTestApp();
    const [merchant, other] = await Promise.all([createMerchant(), createMerchant()]);
    await request(app).post('/api/v1/promo-codes').set(merchant.auth).send({ code: 'WELCOME', description: 'Welcome', percentOff: 10 }).expect(201);
    const taken = await request(app).post('/api/v1/promo-codes').set(merchant.auth).send({ code: 'welcome', description: 'Again', percentOff: 15 }).expect(409);
    expect(taken.body).toMatchObject({
      type: '/problems/promo_code_taken',
      detail: 'The code WELCOME is one of your promo codes already (codes ignore case); choose another.',
    });
    await request(app).post('/api/v1/promo-codes').set(other.auth).send({ code: 'Welcome', description: 'Welcome', percentOff: 10 }).expect(201);
  });

  test('when a create is retried with its Idempotency-Key, then one code and one set of Stripe objects exist', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const send = () =>
      request(app)
        .post('/api/v1/promo-codes')
        .set(merchant.auth)
        .set('Idempotency-Key', 'create-spring')
        .send({ code: 'SPRING', description: 'Spring', percentOff: 10 });
    const first = await send().expect(201);
    const again = await send().expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await PromoCodeModel.countDocuments({ merchantId: merchant.id })).toBe(1);
    expect(stripeCalls.filter((c) => c.path === '/v1/coupons')).toHaveLength(1);
  });

  test('when codes are listed, then newest come first, a page at a time, filtered by status', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant();
    const ids: string[] = [];
    for (const code of ['ONE', 'TWO', 'THREE']) {
      ids.push((await request(app).post('/api/v1/promo-codes').set(merchant.auth).send({ code, description: code, percentOff: 5 }).expect(201)).body.id);
      clock.advance(1000);
    }
    await request(app).post(`/api/v1/promo-codes/${ids[1]}/archive`).set(merchant.auth).expect(200);
    const page = (await request(app).get('/api/v1/promo-codes?limit=2').set(merchant.auth).expect(200)).body;
    expect(page.data.map((c: { code: string }) => c.code)).toEqual(['THREE', 'TWO']);
    expect(page.hasMore).toBe(true);
    const next = (await request(app).get(`/api/v1/promo-codes?limit=2&startingAfter=${page.nextCursor}`).set(merchant.auth).expect(200)).body;
    expect(next.data.map((c: { code: string }) => c.code)).toEqual(['ONE']);
    expect(next.hasMore).toBe(false);
    const active = (await request(app).get('/api/v1/promo-codes?status=active').set(merchant.auth).expect(200)).body;
    expect(active.data.map((c: { code: string }) => c.code)).toEqual(['THREE', 'ONE']);
    const archived = (await request(app).get('/api/v1/promo-codes?status=archived').set(merchant.auth).expect(200)).body;
    expect(archived.data.map((c: { code: string }) => c.code)).toEqual(['TWO']);
    await request(app).get('/api/v1/promo-codes?status=expired').set(merchant.auth).expect(400);
  });

  test('when a code is archived, then its Stripe promotion code is deactivated once and it cannot be archived again', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const created = (await request(app).post('/api/v1/promo-codes').set(merchant.auth).send({ code: 'BYE', description: 'Bye', percentOff: 5 }).expect(201))
      .body;
    stripeCalls.length = 0;
    const archived = await request(app).post(`/api/v1/promo-codes/${created.id}/archive`).set(merchant.auth).expect(200);
    expect(archived.body).toMatchObject({ status: 'archived', usable: false, archivedAt: expect.any(String), stripe: { state: 'synced', active: false } });
    expect(stripeCalls.map((c) => [c.method, stripePath(c.path), c.idempotencyKey])).toEqual([
      ['POST', '/v1/promotion_codes/:id', `promo:${created.id}:promotion-code:deactivate`],
    ]);
    const again = await request(app).post(`/api/v1/promo-codes/${created.id}/archive`).set(merchant.auth).expect(409);
    expect(again.body.detail).toBe('This promo code is archived already.');
    expect(stripeCalls).toHaveLength(1);
  });

  test('when Stripe fails at creation, then the code is pending and the catalog sync job mirrors it later with the same keys', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const stripe = testStripe();
    const real = createStripeGateway(stripe);
    const down: StripeGateway = {
      ...real,
      createPromotionCode: () => Promise.reject(new Error('Stripe is unavailable')),
    };
    const { app } = buildTestApp({ clock, stripeGateway: down });
    const calls: string[] = [];
    stripe.on('request', (event: { idempotency_key?: string }) => calls.push(event.idempotency_key ?? ''));
    const merchant = await createMerchant({}, clock);
    const created = (await request(app).post('/api/v1/promo-codes').set(merchant.auth).send({ code: 'LATER', description: 'Later', percentOff: 5 }).expect(201))
      .body;
    expect(created.stripe).toEqual({
      state: 'pending',
      couponId: expect.any(String),
      promotionCodeId: null,
      active: false,
      lastError: 'Stripe is unavailable',
    });
    expect(calls).toEqual([`promo:${created.id}:coupon`]);

    calls.length = 0;
    const jobDeps: JobDeps = { clock, logger: silentLogger, stripe: createStripeGateway(stripe), workerName: 'test' };
    await syncCatalogToStripeJob.handler(jobDeps)({} as never);
    await syncCatalogToStripeJob.handler(jobDeps)({} as never); // a second run finds nothing to do
    expect(calls).toEqual([`promo:${created.id}:promotion-code`]);
    const after = (await request(app).get(`/api/v1/promo-codes/${created.id}`).set(merchant.auth).expect(200)).body;
    expect(after.stripe).toEqual({ state: 'synced', couponId: created.stripe.couponId, promotionCodeId: expect.any(String), active: true, lastError: null });
  });

  test('when a code expires on the clock, then it is no longer usable and the catalog sync job deactivates its Stripe promotion code once', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const stripe = testStripe();
    const { app } = buildTestApp({ clock, stripeGateway: createStripeGateway(stripe) });
    const merchant = await createMerchant({}, clock);
    const created = (
      await request(app)
        .post('/api/v1/promo-codes')
        .set(merchant.auth)
        .send({ code: 'MARCH', description: 'March only', percentOff: 5, expiresAt: '2026-03-31T23:59:59-04:00' })
        .expect(201)
    ).body;
    expect(created).toMatchObject({ expiresAt: '2026-04-01T03:59:59.000Z', usable: true });
    const calls: string[] = [];
    stripe.on('request', (event: { idempotency_key?: string }) => calls.push(event.idempotency_key ?? ''));
    const jobDeps: JobDeps = { clock, logger: silentLogger, stripe: createStripeGateway(stripe), workerName: 'test' };
    await syncCatalogToStripeJob.handler(jobDeps)({} as never);
    expect(calls).toEqual([]); // not expired yet

    clock.set('2026-04-01T04:00:00Z');
    expect((await request(app).get(`/api/v1/promo-codes/${created.id}`).set(merchant.auth).expect(200)).body).toMatchObject({
      status: 'active',
      usable: false,
    });
    await syncCatalogToStripeJob.handler(jobDeps)({} as never);
    await syncCatalogToStripeJob.handler(jobDeps)({} as never);
    expect(calls).toEqual([`promo:${created.id}:promotion-code:deactivate`]);
    expect((await request(app).get(`/api/v1/promo-codes/${created.id}`).set(merchant.auth).expect(200)).body.stripe).toMatchObject({ active: false });
  });
});
