import request from 'supertest';
import { buildSignUp, createMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('merchant accounts and API keys', () => {
  useTestDatabase();

  test('when a merchant signs up, then it gets its merchant and a secret key shown once, and the key works', async () => {
    const { app } = buildTestApp();
    const input = buildSignUp({ email: 'Owner@Example.COM', timezone: 'Europe/Berlin', defaultCurrency: 'EUR' });
    const res = await request(app).post('/api/v1/merchants').send(input).expect(201);
    expect(res.body.merchant).toMatchObject({ object: 'merchant', name: input.name, email: 'owner@example.com', defaultCurrency: 'EUR', timezone: 'Europe/Berlin' });
    expect(res.body.merchant).not.toHaveProperty('passwordHash');
    expect(res.body.apiKey).toMatchObject({ object: 'api_key', kind: 'secret', revokedAt: null });
    expect(res.body.apiKey.secret).toMatch(/^bxk_[A-Za-z0-9]{32}$/);
    expect(res.body.apiKey.prefix).toBe(res.body.apiKey.secret.slice(0, 12));

    const me = await request(app).get('/api/v1/merchants/me').set('Authorization', `Bearer ${res.body.apiKey.secret}`).expect(200);
    expect(me.body).toEqual(res.body.merchant);
    const keys = await request(app).get('/api/v1/api-keys').set('Authorization', `Bearer ${res.body.apiKey.secret}`).expect(200);
    expect(keys.body.data).toHaveLength(1);
    expect(keys.body.data[0]).not.toHaveProperty('secret');
    expect(JSON.stringify(keys.body)).not.toContain(res.body.apiKey.secret);
  });

  test('when the e-mail is taken, then sign-up answers 409 email_taken', async () => {
    const { app } = buildTestApp();
    const existing = await createMerchant();
    const res = await request(app).post('/api/v1/merchants').send(buildSignUp({ email: existing.email.toUpperCase() })).expect(409);
    expect(res.body).toMatchObject({ type: '/problems/email_taken' });
  });

  test.each([
    ['an unknown field', { role: 'admin' }, 'body.role'],
    ['a bad currency', { defaultCurrency: 'usd' }, 'body.defaultCurrency'],
    ['a bad time zone', { timezone: 'Mars/Olympus' }, 'body.timezone'],
    ['a short password', { password: 'short' }, 'body.password'],
    ['a wrong type', { name: 42 }, 'body.name'],
  ])('when sign-up has %s, then it answers 400 naming the field and stores nothing', async (_what, change, field) => {
    const { app } = buildTestApp();
    const res = await request(app).post('/api/v1/merchants').send({ ...buildSignUp(), ...change }).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('/problems/invalid_request');
    expect(res.body.errors.map((error: { field: string }) => error.field)).toContain(field);
  });

  test('when a merchant logs in, then a session key is issued that expires after 12 hours', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant();
    const res = await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: merchant.password }).expect(201);
    expect(res.body.apiKey).toMatchObject({ kind: 'session', expiresAt: new Date(clock.now().getTime() + 12 * 3_600_000).toISOString() });
    const session = { Authorization: `Bearer ${res.body.apiKey.secret}` };
    await request(app).get('/api/v1/merchants/me').set(session).expect(200);
    clock.advance(12 * 3_600_000);
    await request(app).get('/api/v1/merchants/me').set(session).expect(401);
  });

  test('when the password or e-mail is wrong, then log-in answers 401 without saying which', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const wrongPassword = await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: 'wrong password!' }).expect(401);
    const unknownEmail = await request(app).post('/api/v1/merchants/login').send({ email: 'nobody@example.com', password: 'wrong password!' }).expect(401);
    expect(wrongPassword.body.detail).toBe(unknownEmail.body.detail);
  });

  test('when log-in is tried too often for one e-mail, then it answers 429 with Retry-After until the window ends', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant();
    for (let i = 0; i < 10; i += 1) {
      await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: 'wrong password!' }).expect(401);
    }
    const limited = await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: merchant.password }).expect(429);
    expect(limited.body.type).toBe('/problems/rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    clock.advance(15 * 60_000);
    await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: merchant.password }).expect(201);
  });

  test('when a key is revoked, then it stops working at once and revoking again changes nothing', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const created = await request(app).post('/api/v1/api-keys').set(merchant.auth).send({ name: 'Warehouse' }).expect(201);
    const second = { Authorization: `Bearer ${created.body.secret}` };
    await request(app).get('/api/v1/merchants/me').set(second).expect(200);
    const revoked = await request(app).post(`/api/v1/api-keys/${created.body.id}/revoke`).set(merchant.auth).expect(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    await request(app).get('/api/v1/merchants/me').set(second).expect(401);
    const again = await request(app).post(`/api/v1/api-keys/${created.body.id}/revoke`).set(merchant.auth).expect(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
  });

  test('when a merchant touches another merchant\'s key, then it is 404 and the key still works', async () => {
    const { app } = buildTestApp();
    const [owner, other] = await Promise.all([createMerchant(), createMerchant()]);
    const keys = await request(app).get('/api/v1/api-keys').set(owner.auth).expect(200);
    const res = await request(app).post(`/api/v1/api-keys/${keys.body.data[0].id}/revoke`).set(other.auth).expect(404);
    expect(res.body.type).toBe('/problems/not_found');
    await request(app).get('/api/v1/merchants/me').set(owner.auth).expect(200);
  });

  test.each([
    ['no header', undefined],
    ['a malformed header', 'Token abc'],
    ['an unknown key', 'Bearer bxk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
  ])('when a merchant route is called with %s, then it answers 401', async (_what, header) => {
    const { app } = buildTestApp();
    const call = request(app).get('/api/v1/merchants/me');
    const res = await (header ? call.set('Authorization', header) : call).expect(401);
    expect(res.body.type).toBe('/problems/unauthorized');
  });
});
