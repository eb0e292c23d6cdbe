import type { Express } from 'express';
import request from 'supertest';
import { LoyaltyEntryModel } from '../../src/loyalty/loyalty.model';
import { ApiKeyModel } from '../../src/merchants/api-key.model';
import { MerchantSignUpModel } from '../../src/merchants/merchant-sign-up.model';
import { FakeClock } from '../../src/shared/time';
import { buildCustomerInput } from '../factories/catalog.factory';
import { buildSignUp, createMerchant, type TestMerchant } from '../factories/merchant.factory';
import { queuedMessages } from '../helpers/messages';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

describe('Idempotency-Key', () => {
  useTestDatabase();

  test('when a request is retried with the same key, then the first result is returned and nothing changes twice', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const first = await request(app).post('/api/v1/api-keys').set(merchant.auth).set('Idempotency-Key', 'k-1').send({ name: 'Ops' }).expect(201);
    const retry = await request(app).post('/api/v1/api-keys').set(merchant.auth).set('Idempotency-Key', 'k-1').send({ name: 'Ops' }).expect(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual({ ...first.body, secret: null });
    expect(await ApiKeyModel.countDocuments({ merchantId: merchant.id })).toBe(2);
  });

  test('when the same key comes with another body, then it answers 422 and changes nothing', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    await request(app).post('/api/v1/api-keys').set(merchant.auth).set('Idempotency-Key', 'k-2').send({ name: 'Ops' }).expect(201);
    const res = await request(app).post('/api/v1/api-keys').set(merchant.auth).set('Idempotency-Key', 'k-2').send({ name: 'Other' }).expect(422);
    expect(res.body.type).toBe('/problems/idempotency_key_reused');
    expect(await ApiKeyModel.countDocuments({ merchantId: merchant.id })).toBe(2);
  });

  test('when the body has the same fields in another order, then it is the same request', async () => {
    const { app } = buildTestApp();
    const input = buildSignUp();
    const reordered = Object.fromEntries(Object.entries(input).reverse());
    const first = await request(app).post('/api/v1/merchants').set('Idempotency-Key', `signup-${input.email}`).send(input).expect(202);
    const retry = await request(app).post('/api/v1/merchants').set('Idempotency-Key', `signup-${input.email}`).send(reordered).expect(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await MerchantSignUpModel.countDocuments({ email: input.email })).toBe(1);
    expect(await queuedMessages({ to: input.email })).toHaveLength(1);
  });

  test('when two merchants use the same key, then their requests do not collide', async () => {
    const { app } = buildTestApp();
    const [a, b] = await Promise.all([createMerchant(), createMerchant()]);
    await request(app).post('/api/v1/api-keys').set(a.auth).set('Idempotency-Key', 'shared').send({ name: 'A' }).expect(201);
    const res = await request(app).post('/api/v1/api-keys').set(b.auth).set('Idempotency-Key', 'shared').send({ name: 'B' }).expect(201);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
  });

  test('when a refused request is retried with its key, then the same refusal is replayed', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const first = await request(app).post('/api/v1/api-keys/key_unknown/revoke').set(merchant.auth).set('Idempotency-Key', 'refused').expect(404);
    const retry = await request(app).post('/api/v1/api-keys/key_unknown/revoke').set(merchant.auth).set('Idempotency-Key', 'refused').expect(404);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(retry.body.type).toBe(first.body.type);
  });

  describe('scoped to the caller', () => {
    /** A merchant with a loyalty programme and two shoppers holding 1,000 points each, with a session each. */
    async function twoShoppers(
      app: Express,
    ): Promise<{ merchant: TestMerchant; x: { id: string; auth: { Authorization: string } }; y: { id: string; auth: { Authorization: string } } }> {
      const merchant = await createMerchant();
      await request(app)
        .put('/api/v1/loyalty-program')
        .set(merchant.auth)
        .send({
          enabled: true,
          pointsPerUnit: 1,
          redemption: { points: 100, creditMinor: 500 },
          autoApply: false,
          expiry: null,
          tierBasis: 'paid_boxes',
          tiers: [],
        })
        .expect(200);
      const shopper = async () => {
        const id = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body.id as string;
        await request(app).post(`/api/v1/customers/${id}/loyalty/adjustments`).set(merchant.auth).send({ points: 1000, reason: 'Welcome' }).expect(201);
        const token = (await request(app).post(`/api/v1/customers/${id}/shopper-sessions`).set(merchant.auth).expect(201)).body.token as string;
        return { id, auth: { Authorization: `Bearer ${token}` } };
      };
      return { merchant, x: await shopper(), y: await shopper() };
    }

    test("when shopper Y sends shopper X's key, then Y's own request runs and X's answer is never shown", async () => {
      const { app } = buildTestApp();
      const { x, y } = await twoShoppers(app);
      const mine = await request(app)
        .post('/api/v1/shopper/loyalty/redemptions')
        .set(x.auth)
        .set('Idempotency-Key', 'redeem-1')
        .send({ points: 300 })
        .expect(201);
      const theirs = await request(app)
        .post('/api/v1/shopper/loyalty/redemptions')
        .set(y.auth)
        .set('Idempotency-Key', 'redeem-1')
        .send({ points: 300 })
        .expect(201);
      expect(theirs.headers['idempotent-replayed']).toBeUndefined();
      expect(theirs.body.id).not.toBe(mine.body.id);
      expect(JSON.stringify(theirs.body)).not.toContain(x.id);
      expect((await request(app).get('/api/v1/shopper/loyalty').set(x.auth).expect(200)).body.points).toBe(700);
      expect((await request(app).get('/api/v1/shopper/loyalty').set(y.auth).expect(200)).body.points).toBe(700);
    });

    test("when a shopper used a key first, then the merchant's request with the same key still runs as its own", async () => {
      const { app } = buildTestApp();
      const { merchant, x } = await twoShoppers(app);
      await request(app).post('/api/v1/shopper/loyalty/redemptions').set(x.auth).set('Idempotency-Key', 'order-42').send({ points: 100 }).expect(201);
      const res = await request(app)
        .post(`/api/v1/customers/${x.id}/loyalty/redemptions`)
        .set(merchant.auth)
        .set('Idempotency-Key', 'order-42')
        .send({ points: 100 })
        .expect(201);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      expect(await LoyaltyEntryModel.countDocuments({ customerId: x.id, kind: 'redeem' })).toBe(2);
      // And the merchant's retry is still its own replay.
      const retry = await request(app)
        .post(`/api/v1/customers/${x.id}/loyalty/redemptions`)
        .set(merchant.auth)
        .set('Idempotency-Key', 'order-42')
        .send({ points: 100 })
        .expect(201);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body).toEqual(res.body);
    });

    test('when a shopper retries with a new session of theirs, then the first answer is replayed', async () => {
      const { app } = buildTestApp();
      const { merchant, x } = await twoShoppers(app);
      const first = await request(app)
        .post('/api/v1/shopper/loyalty/redemptions')
        .set(x.auth)
        .set('Idempotency-Key', 'redeem-2')
        .send({ points: 200 })
        .expect(201);
      const token = (await request(app).post(`/api/v1/customers/${x.id}/shopper-sessions`).set(merchant.auth).expect(201)).body.token as string;
      const retry = await request(app)
        .post('/api/v1/shopper/loyalty/redemptions')
        .set({ Authorization: `Bearer ${token}` })
        .set('Idempotency-Key', 'redeem-2')
        .send({ points: 200 })
        .expect(201);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body).toEqual(first.body);
    });

    test("when a merchant's session key retries what its secret key sent, then the first answer is replayed", async () => {
      const { app } = buildTestApp();
      const merchant = await createMerchant();
      const first = await request(app).post('/api/v1/api-keys').set(merchant.auth).set('Idempotency-Key', 'k-shared').send({ name: 'Ops' }).expect(201);
      const session = (await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: merchant.password }).expect(201)).body.apiKey
        .secret as string;
      const retry = await request(app)
        .post('/api/v1/api-keys')
        .set({ Authorization: `Bearer ${session}` })
        .set('Idempotency-Key', 'k-shared')
        .send({ name: 'Ops' })
        .expect(201);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body.id).toBe(first.body.id);
    });

    test("when a stranger reuses someone's key on a public route, then they get an answer of their own, neither the stored one nor a 422", async () => {
      const { app } = buildTestApp({ clock: new FakeClock('2026-06-01T09:00:00Z') });
      const [a, b] = [await createMerchant(), await createMerchant()];
      const first = await request(app)
        .post('/api/v1/merchants/login')
        .set('Idempotency-Key', 'login-1')
        .send({ email: a.email, password: a.password })
        .expect(201);
      const stranger = await request(app)
        .post('/api/v1/merchants/login')
        .set('Idempotency-Key', 'login-1')
        .send({ email: b.email, password: b.password })
        .expect(201);
      expect(stranger.headers['idempotent-replayed']).toBeUndefined();
      expect(stranger.body.merchant.id).toBe(b.id);
      // The owner's own retry (the same credentials) is still a replay, without the secret.
      const retry = await request(app)
        .post('/api/v1/merchants/login')
        .set('Idempotency-Key', 'login-1')
        .send({ email: a.email, password: a.password })
        .expect(201);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body).toEqual({ ...first.body, apiKey: { ...first.body.apiKey, secret: null } });
    });
  });

  test('when concurrent requests share a key, then exactly one runs', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => request(app).post('/api/v1/api-keys').set(merchant.auth).set('Idempotency-Key', 'race').send({ name: 'Race' })),
    );
    expect(results.every((res) => res.status === 201 || res.status === 409)).toBe(true);
    expect(await ApiKeyModel.countDocuments({ merchantId: merchant.id, name: 'Race' })).toBe(1);
  });

  test('when the key is malformed, then it answers 400 naming the header', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const res = await request(app).post('/api/v1/api-keys').set(merchant.auth).set('Idempotency-Key', 'has spaces').send({ name: 'x' }).expect(400);
    expect(res.body.errors[0].field).toBe('header.idempotency-key');
  });
});
