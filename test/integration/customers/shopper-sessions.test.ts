import type { Express } from 'express';
import request from 'supertest';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('shopper sessions', () => {
  useTestDatabase();

  async function customerOf(app: Express, merchant: TestMerchant): Promise<string> {
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
    return (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body.id as string;
  }

  test('when sessions are issued, then they are listed newest first by id and prefix, never with their token', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant();
    const customer = await customerOf(app, merchant);
    const first = (await request(app).post(`/api/v1/customers/${customer}/shopper-sessions`).set(merchant.auth).expect(201)).body;
    clock.advance(60_000);
    const second = (await request(app).post(`/api/v1/customers/${customer}/shopper-sessions`).set(merchant.auth).expect(201)).body;
    expect(second).toMatchObject({
      id: expect.stringMatching(/^key_/),
      object: 'shopper_session',
      customerId: customer,
      prefix: second.token.slice(0, 12),
      createdAt: clock.now().toISOString(),
      expiresAt: new Date(clock.now().getTime() + 24 * 3_600_000).toISOString(),
      revokedAt: null,
    });

    const listed = await request(app).get(`/api/v1/customers/${customer}/shopper-sessions`).set(merchant.auth).expect(200);
    expect(listed.body.data.map((session: { id: string }) => session.id)).toEqual([second.id, first.id]);
    expect(listed.body.data[0]).not.toHaveProperty('token');
    expect(JSON.stringify(listed.body)).not.toContain(first.token);
    expect(JSON.stringify(listed.body)).not.toContain(second.token);
    // They are not among the merchant's API keys.
    const keys = await request(app).get('/api/v1/api-keys').set(merchant.auth).expect(200);
    expect(keys.body.data.map((key: { id: string }) => key.id)).not.toContain(first.id);
  });

  test('when a session is revoked, then its token answers 401 at once, the others still work, and revoking again changes nothing', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant();
    const customer = await customerOf(app, merchant);
    const lost = (await request(app).post(`/api/v1/customers/${customer}/shopper-sessions`).set(merchant.auth).expect(201)).body;
    const kept = (await request(app).post(`/api/v1/customers/${customer}/shopper-sessions`).set(merchant.auth).expect(201)).body;
    await request(app).get('/api/v1/shopper/loyalty').set('Authorization', `Bearer ${lost.token}`).expect(200);

    clock.advance(5 * 60_000);
    const revoked = await request(app).post(`/api/v1/customers/${customer}/shopper-sessions/${lost.id}/revoke`).set(merchant.auth).expect(200);
    expect(revoked.body).toMatchObject({ id: lost.id, object: 'shopper_session', revokedAt: clock.now().toISOString() });
    expect(revoked.body).not.toHaveProperty('token');
    const refused = await request(app).get('/api/v1/shopper/loyalty').set('Authorization', `Bearer ${lost.token}`).expect(401);
    expect(refused.body.type).toBe('/problems/unauthorized');
    await request(app).get('/api/v1/shopper/loyalty').set('Authorization', `Bearer ${kept.token}`).expect(200);

    clock.advance(60_000);
    const again = await request(app).post(`/api/v1/customers/${customer}/shopper-sessions/${lost.id}/revoke`).set(merchant.auth).expect(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    const listed = await request(app).get(`/api/v1/customers/${customer}/shopper-sessions`).set(merchant.auth).expect(200);
    expect(listed.body.data.find((session: { id: string }) => session.id === lost.id).revokedAt).toBe(revoked.body.revokedAt);
  });

  test('when a session has expired, then it is no longer listed', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant();
    const customer = await customerOf(app, merchant);
    await request(app).post(`/api/v1/customers/${customer}/shopper-sessions`).set(merchant.auth).expect(201);
    clock.advance(24 * 3_600_000);
    expect((await request(app).get(`/api/v1/customers/${customer}/shopper-sessions`).set(merchant.auth).expect(200)).body.data).toEqual([]);
  });

  test("when a session is revoked under another customer's id, then it is 404 and the session still works", async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const [ana, ben] = [await customerOf(app, merchant), await customerOf(app, merchant)];
    const session = (await request(app).post(`/api/v1/customers/${ana}/shopper-sessions`).set(merchant.auth).expect(201)).body;
    const res = await request(app).post(`/api/v1/customers/${ben}/shopper-sessions/${session.id}/revoke`).set(merchant.auth).expect(404);
    expect(res.body.type).toBe('/problems/not_found');
    await request(app).get('/api/v1/shopper/loyalty').set('Authorization', `Bearer ${session.token}`).expect(200);
    // Nor can a merchant key's id be revoked here.
    const keyId = (await request(app).get('/api/v1/api-keys').set(merchant.auth).expect(200)).body.data[0].id as string;
    await request(app).post(`/api/v1/customers/${ana}/shopper-sessions/${keyId}/revoke`).set(merchant.auth).expect(404);
    await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200);
  });

  test('when a shopper session lists or revokes sessions, then it is refused: only the merchant can', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const customer = await customerOf(app, merchant);
    const session = (await request(app).post(`/api/v1/customers/${customer}/shopper-sessions`).set(merchant.auth).expect(201)).body;
    const asShopper = { Authorization: `Bearer ${session.token}` };
    await request(app).get(`/api/v1/customers/${customer}/shopper-sessions`).set(asShopper).expect(401);
    await request(app).post(`/api/v1/customers/${customer}/shopper-sessions/${session.id}/revoke`).set(asShopper).expect(401);
  });
});
