import request from 'supertest';
import { buildApp } from '../../src/app';
import type { Readiness } from '../../src/health/health.service';
import { seedDemoMerchant } from '../../src/merchants/demo-seed.service';
import { FakeClock } from '../../src/shared/time';
import { silentLogger, testConfig, testStripe, useTestDatabase } from '../helpers/test-env';

describe('the web app', () => {
  const db = useTestDatabase();
  const ok: Readiness = { status: 'ok', checks: { database: { status: 'ok' }, stripe: { status: 'ok' }, worker: { status: 'ok' } } };

  const app = (overrides: { draining?: boolean; readiness?: Readiness; bodyLimit?: string } = {}) =>
    buildApp({
      config: testConfig(overrides.bodyLimit ? { BODY_LIMIT: overrides.bodyLimit } : {}),
      logger: silentLogger,
      clock: new FakeClock(),
      connection: db.connection(),
      stripe: testStripe(),
      stripeMode: 'stripe-mock',
      checkReadiness: async () => overrides.readiness ?? ok,
      isDraining: () => overrides.draining ?? false,
    });

  test('when /healthz is asked, then it answers 200 JSON without touching dependencies', async () => {
    const res = await request(app()).get('/healthz').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ status: 'ok', version: expect.any(String), uptimeSeconds: expect.any(Number) });
  });

  test('when a dependency fails, then /readyz answers 503 with the failing check', async () => {
    const failing: Readiness = { ...ok, status: 'failing', checks: { ...ok.checks, worker: { status: 'failing', detail: 'no worker has reported yet' } } };
    const res = await request(app({ readiness: failing }))
      .get('/readyz')
      .expect(503);
    expect(res.body.checks.worker).toEqual({ status: 'failing', detail: 'no worker has reported yet' });
    await request(app()).get('/readyz').expect(200);
  });

  test('when the process is draining, then /readyz answers 503 draining', async () => {
    const res = await request(app({ draining: true }))
      .get('/readyz')
      .expect(503);
    expect(res.body).toEqual({ status: 'draining' });
  });

  test('when an API route does not exist, then the answer is a 404 problem+json with a stable type', async () => {
    const res = await request(app()).get('/api/v1/nothing-here').set('x-request-id', 'req-123').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('req-123');
    expect(JSON.parse(res.text)).toEqual({
      type: '/problems/not_found',
      title: 'Not found',
      status: 404,
      detail: 'No route for GET /api/v1/nothing-here.',
      instance: '/api/v1/nothing-here',
      requestId: 'req-123',
    });
  });

  test('when a browser asks for a missing page, then it gets an HTML 404 page', async () => {
    const res = await request(app()).get('/no-such-page').set('accept', 'text/html').expect(404);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('Page not found');
  });

  test('when a body is not valid JSON, then the answer is 400 malformed_body, not 5xx', async () => {
    const res = await request(app()).post('/api/v1/anything').set('content-type', 'application/json').send('{"a":').expect(400);
    expect(JSON.parse(res.text)).toMatchObject({ type: '/problems/malformed_body', status: 400 });
  });

  test('when a body exceeds the limit, then the answer is 413 payload_too_large', async () => {
    const res = await request(app({ bodyLimit: '1kb' }))
      .post('/api/v1/anything')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ blob: 'x'.repeat(2048) }))
      .expect(413);
    expect(JSON.parse(res.text)).toMatchObject({ type: '/problems/payload_too_large', status: 413 });
  });

  test('when a request id is missing or unsafe, then a fresh one is issued', async () => {
    const res = await request(app()).get('/healthz').set('x-request-id', 'bad id with spaces').expect(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('when any page is served, then security headers allow Stripe.js and Checkout but nothing else foreign', async () => {
    const res = await request(app()).get('/healthz').expect(200);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self' https://js.stripe.com");
    expect(csp).toContain("form-action 'self' https://checkout.stripe.com");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  test('when the demo store is seeded, then the home page shows its real plans and prices from the database', async () => {
    await seedDemoMerchant(new FakeClock());
    const res = await request(app()).get('/').expect(200);
    expect(res.text).toContain('Demo Roasters &amp; Co.');
    expect(res.text).toContain('Single-origin coffee box');
    expect(res.text).toContain('Daily vitamin box');
    expect(res.text).toContain('$24.00');
    expect(res.text).toContain('$105.00');
    expect(res.text).toContain('stripe-mock');
  });
});
