import type { Express } from 'express';
import request from 'supertest';
import { z } from 'zod';
import { apiRoutes } from '../../src/api';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildCustomerInput } from '../factories/catalog.factory';
import { buildSignUp, createMerchant } from '../factories/merchant.factory';
import { queuedMessages } from '../helpers/messages';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

/** Fields that hold a secret shown once. */
const SECRET_FIELDS = new Set(['secret', 'token']);

function hasSecretField(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(hasSecretField);
  if (!schema || typeof schema !== 'object') return false;
  const { properties } = schema as { properties?: Record<string, unknown> };
  if (properties && Object.keys(properties).some((name) => SECRET_FIELDS.has(name))) return true;
  return Object.values(schema).some(hasSecretField);
}

/** Each operation whose answer carries a secret: its path, and how to call it (set up from a fresh merchant). */
type Call = { path: string; send: (app: Express) => request.Test };
const CALLS: Record<string, (app: Express) => Promise<Call>> = {
  confirmMerchantSignUp: async (app) => {
    const input = buildSignUp();
    await request(app).post('/api/v1/merchants').send(input).expect(202);
    const [message] = await queuedMessages({ to: input.email, template: 'merchant.sign_up_confirmation' });
    const token = /bxc_[A-Za-z0-9]{32}/.exec(message!.text)![0];
    const path = '/api/v1/merchants/confirmations';
    return { path, send: () => request(app).post(path).send({ token }) };
  },
  logInMerchant: async (app) => {
    const merchant = await createMerchant();
    const path = '/api/v1/merchants/login';
    return { path, send: () => request(app).post(path).send({ email: merchant.email, password: merchant.password }) };
  },
  createApiKey: async (app) => {
    const merchant = await createMerchant();
    const path = '/api/v1/api-keys';
    return { path, send: () => request(app).post(path).set(merchant.auth).send({ name: 'Warehouse' }) };
  },
  createShopperSession: async (app) => {
    const merchant = await createMerchant();
    const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body.id as string;
    const path = `/api/v1/customers/${customer}/shopper-sessions`;
    return { path, send: () => request(app).post(path).set(merchant.auth) };
  },
};

describe('responses that carry a secret', () => {
  useTestDatabase();
  const routes = apiRoutes({
    clock: new FakeClock(),
    logger: silentLogger,
    stripe: createStripeGateway(testStripe()),
    version: 't',
    publicUrl: 'http://x',
    checkResponses: true,
  });

  test('when a response schema has a secret or token field, then its route is marked secret, and every such route is tested here', () => {
    const carrying = routes.filter((route) => hasSecretField(z.toJSONSchema(route.response.schema, { io: 'output', unrepresentable: 'any' })));
    expect(carrying.map((route) => route.operationId).sort()).toEqual(Object.keys(CALLS).sort());
    expect(
      routes
        .filter((route) => route.secret)
        .map((route) => route.operationId)
        .sort(),
    ).toEqual(Object.keys(CALLS).sort());
  });

  test.each(Object.keys(CALLS))(
    'when %s answers, then it says Cache-Control: no-store and Pragma: no-cache, in replays and refusals too',
    async (operationId) => {
      const { app } = buildTestApp();
      const call = await CALLS[operationId]!(app);
      const first = await call.send(app).set('Idempotency-Key', 'no-store').expect(201);
      const replay = await call.send(app).set('Idempotency-Key', 'no-store').expect(201).expect('idempotent-replayed', 'true');
      // A bad key or a bad body: refused before anything runs.
      const refused = await request(app).post(call.path).set('Authorization', 'Bearer bxk_unknownunknownunknownunknown00').send({});
      expect([400, 401]).toContain(refused.status);
      for (const res of [first, replay, refused]) {
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers.pragma).toBe('no-cache');
      }
    },
  );

  test('when an answer carries no secret, then it may be cached as usual', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const res = await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200);
    expect(res.headers['cache-control']).toBeUndefined();
  });
});
