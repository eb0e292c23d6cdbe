import request from 'supertest';
import { ApiKeyModel } from '../../src/merchants/api-key.model';
import { buildSignUp, createMerchant } from '../factories/merchant.factory';
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
    const first = await request(app).post('/api/v1/merchants').set('Idempotency-Key', `signup-${input.email}`).send(input).expect(201);
    const retry = await request(app).post('/api/v1/merchants').set('Idempotency-Key', `signup-${input.email}`).send(reordered).expect(201);
    expect(retry.body.merchant).toEqual(first.body.merchant);
    expect(retry.body.apiKey.secret).toBeNull();
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
    const input = buildSignUp({ email: merchant.email });
    const first = await request(app).post('/api/v1/merchants').set('Idempotency-Key', 'dup-email').send(input).expect(409);
    const retry = await request(app).post('/api/v1/merchants').set('Idempotency-Key', 'dup-email').send(input).expect(409);
    expect(retry.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(retry.body.type).toBe(first.body.type);
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
