import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { apiRoutes } from '../../src/api';
import { PlanModel } from '../../src/plans/plan.model';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { WebhookEventModel } from '../../src/webhooks/webhook-event.model';
import { buildCustomerInput, buildPlanInput } from '../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../factories/merchant.factory';
import { subscribeShopper } from '../factories/subscription.factory';
import { buildEvent, signEvent } from '../helpers/stripe-events';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

/** Bodies a careless or hostile client might send: wrong shapes, operator injection, odd values. */
const BAD_BODIES: unknown[] = [
  null,
  [],
  'text',
  42,
  { $where: 'sleep(1000)' },
  { name: { $gt: '' }, email: { $ne: null }, planId: { $exists: true }, id: { $regex: '.*' } },
  { name: 'x'.repeat(100_000) },
  { priceMinor: 1e308, quantity: -1, cycles: 1.5, date: '2026-02-30', cycleKey: '9999-99-99', cadence: 'month-999' },
  { variants: [{ name: {}, sku: [] }], cadences: [{ interval: 'day', intervalCount: 0, priceMinor: '12' }] },
  { shippingAddress: 'not an object', birthday: '13-45', marketingConsent: 'yes' },
  { mode: 'later', reason: { $ne: 'x' } },
  JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
];
const BAD_IDS = ['nope', "'; drop table", '%24where', 'a'.repeat(300), '..%2F..%2Fetc'];
const BAD_QUERIES = ['?limit=-1', '?limit=abc', '?startingAfter=%ZZ', '?status[$ne]=active', '?planId[$gt]=', '?email=notanemail', '?unknown=1'];

describe('bad input never gives a 5xx', () => {
  useTestDatabase();
  const { app } = buildTestApp();
  let merchant: TestMerchant;
  let subscriptionId: string;
  const routes = apiRoutes({
    clock: new FakeClock(),
    logger: silentLogger,
    stripe: createStripeGateway(testStripe()),
    version: 't',
    publicUrl: 'http://x',
    checkResponses: true,
  });

  beforeAll(async () => {
    merchant = await createMerchant();
    subscriptionId = (await subscribeShopper(app, merchant)).subscription.id;
  });

  test.each(routes.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route] as const))('%s', async (_name, route) => {
    const statuses: number[] = [];
    const paths = route.path.includes(':id')
      ? [...BAD_IDS, subscriptionId].map((id) => route.path.replace(':id', encodeURIComponent(id)).replace(':lineId', 'x'))
      : [route.path];
    for (const path of paths) {
      if (route.method === 'get') {
        for (const query of ['', ...BAD_QUERIES]) {
          statuses.push((await request(app).get(`/api/v1${path}${query}`).set(merchant.auth)).status);
        }
        continue;
      }
      for (const body of BAD_BODIES) {
        const res = await request(app)[route.method](`/api/v1${path}`).set(merchant.auth).set('content-type', 'application/json').send(JSON.stringify(body));
        statuses.push(res.status);
        if (res.status >= 500) throw new Error(`${route.method} ${path} with ${JSON.stringify(body).slice(0, 200)} answered ${res.status}: ${res.text}`);
      }
    }
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/**
 * Bodies that are not what their Content-Encoding says: not compressed at all, cut short, another algorithm,
 * or an encoding nobody knows. The body parser fails on each; the answer is the client's 4xx, never a 500.
 */
const JSON_TEXT = '{"not":"compressed"}';
const BAD_ENCODINGS: Array<[string, string, Buffer | string]> = [
  ['gzip, not compressed', 'gzip', JSON_TEXT],
  ['deflate, not compressed', 'deflate', JSON_TEXT],
  ['br, not compressed', 'br', JSON_TEXT],
  ['gzip, cut short', 'gzip', gzipSync(Buffer.from(JSON_TEXT)).subarray(0, 12)],
  ['gzip, but deflated', 'gzip', deflateSync(Buffer.from(JSON_TEXT))],
  ['deflate, but brotli', 'deflate', brotliCompressSync(Buffer.from(JSON_TEXT))],
  ['an unknown encoding', 'x-unknown', JSON_TEXT],
];

describe('a body not in its declared Content-Encoding never gives a 5xx', () => {
  useTestDatabase();
  const { app, stripe, clock } = buildTestApp();
  let merchant: TestMerchant;
  const routes = apiRoutes({
    clock: new FakeClock(),
    logger: silentLogger,
    stripe: createStripeGateway(testStripe()),
    version: 't',
    publicUrl: 'http://x',
    checkResponses: true,
  });

  beforeAll(async () => {
    merchant = await createMerchant();
  });

  test.each(routes.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route] as const))('%s', async (_name, route) => {
    const path = `/api/v1${route.path.replace(':id', 'x').replace(':lineId', 'x').replace(':sku', 'x')}`;
    const answers: string[] = [];
    for (const [what, encoding, body] of BAD_ENCODINGS) {
      const res = await request(app)
        [route.method](path)
        .set(merchant.auth)
        .set('content-type', 'application/json')
        .set('content-encoding', encoding)
        .send(body);
      answers.push(`${what}: ${res.status} ${res.headers['content-type'] ?? ''}`);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect(answers.filter((answer) => / 5\d\d /.test(answer))).toEqual([]);
  });

  test('when log-in gets a body that is not gzip but says so, then it answers 400 malformed_body', async () => {
    const res = await request(app)
      .post('/api/v1/merchants/login')
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .send(JSON.stringify({ email: merchant.email, password: merchant.password }));
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('/problems/malformed_body');
  });

  test.each(BAD_ENCODINGS)('when the Stripe webhook gets a body with %s, then it answers 4xx and stores nothing', async (_what, encoding, body) => {
    const signed = signEvent(stripe, buildEvent('invoice.upcoming', { id: 'in_enc', object: 'invoice' }, clock.now()), clock.now());
    const res = await request(app)
      .post('/webhooks/stripe')
      .set('stripe-signature', signed.header)
      .set('content-type', 'application/json')
      .set('content-encoding', encoding)
      .send(body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await WebhookEventModel.countDocuments({})).toBe(0);
  });
});

/** Keys that JavaScript objects or Mongoose maps treat specially, used as variant option names. */
const RESERVED_OPTION_NAMES = ['constructor', 'prototype', '__proto__', 'hasOwnProperty', 'toString', 'valueOf', '$where', 'a.b'];

describe('variant option names that objects or Mongoose choke on are refused', () => {
  useTestDatabase();
  const { app } = buildTestApp();
  let merchant: TestMerchant;

  beforeAll(async () => {
    merchant = await createMerchant();
  });

  test.each(RESERVED_OPTION_NAMES)('when a plan is created with an option named %s, then it answers 400 and creates nothing', async (name) => {
    const input = buildPlanInput();
    const body = JSON.stringify({ ...input, variants: [{ ...input.variants[0], options: {} }, input.variants[1]] }).replace(
      '"options":{}',
      `"options":{${JSON.stringify(name)}:"x"}`,
    );
    const res = await request(app).post('/api/v1/plans').set(merchant.auth).set('content-type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe(name === '__proto__' ? '/problems/malformed_body' : '/problems/invalid_request');
    expect(await PlanModel.countDocuments({ merchantId: merchant.id, name: input.name })).toBe(0);
  });

  test.each(RESERVED_OPTION_NAMES)('when a variant is changed to have an option named %s, then it answers 400 and the plan is unchanged', async (name) => {
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const body = `{"variants":[{"id":${JSON.stringify(plan.variants[0].id)},"options":{${JSON.stringify(name)}:"x"}}]}`;
    const res = await request(app).patch(`/api/v1/plans/${plan.id}`).set(merchant.auth).set('content-type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe(name === '__proto__' ? '/problems/malformed_body' : '/problems/invalid_request');
    expect((await request(app).get(`/api/v1/plans/${plan.id}`).set(merchant.auth).expect(200)).body.variants).toEqual(plan.variants);
  });

  test('when option names are ordinary words, then they are kept', async () => {
    const input = buildPlanInput();
    const options = { roast: 'dark', grind_size: 'fine', origin2: 'Kenya' };
    const plan = (
      await request(app)
        .post('/api/v1/plans')
        .set(merchant.auth)
        .send({ ...input, variants: [{ ...input.variants[0], options }, input.variants[1]] })
        .expect(201)
    ).body;
    expect(plan.variants[0].options).toEqual(options);
  });
});

describe('a country must be an assigned ISO 3166-1 alpha-2 code', () => {
  useTestDatabase();
  const { app } = buildTestApp();
  let merchant: TestMerchant;

  beforeAll(async () => {
    merchant = await createMerchant();
  });

  const address = (country: string) => ({ line1: '1 Main St', city: 'Springfield', postalCode: '62701', country });

  test.each(['ZZ', 'EU', 'UN', 'UK', 'XK', 'us'])(
    'when a customer is created or changed with country %s, then it answers 400 naming the field',
    async (country) => {
      const created = await request(app)
        .post('/api/v1/customers')
        .set(merchant.auth)
        .send(buildCustomerInput({ shippingAddress: address(country) }));
      expect(created.status).toBe(400);
      expect(created.body.errors).toEqual([expect.objectContaining({ field: 'body.shippingAddress.country' })]);
      const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
      const changed = await request(app)
        .patch(`/api/v1/customers/${customer.id}`)
        .set(merchant.auth)
        .send({ shippingAddress: address(country) });
      expect(changed.status).toBe(400);
      expect(changed.body.errors).toEqual([expect.objectContaining({ field: 'body.shippingAddress.country' })]);
    },
  );

  test.each(['GB', 'AX', 'SS', 'BQ'])('when a customer is created with country %s, then it is kept', async (country) => {
    const created = await request(app)
      .post('/api/v1/customers')
      .set(merchant.auth)
      .send(buildCustomerInput({ shippingAddress: address(country) }))
      .expect(201);
    expect(created.body.shippingAddress.country).toBe(country);
  });
});
