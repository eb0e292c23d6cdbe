import mongoose from 'mongoose';
import request from 'supertest';
import { buildApp } from '../../../src/app';
import { createMetrics } from '../../../src/ops/metrics';
import type { Logger } from '../../../src/shared/logger';
import { FakeClock } from '../../../src/shared/time';
import { WebhookEventModel } from '../../../src/webhooks/webhook-event.model';
import { capturedLogger } from '../../helpers/captured-log';
import { buildEvent, signEvent, TEST_WEBHOOK_SECRET } from '../../helpers/stripe-events';
import { testConfig, testStripe, useTestDatabase } from '../../helpers/test-env';

/** What Stripe's deliveries take instead of the pages' middleware: the request id, headers and a log line of their own. */
describe('POST /webhooks/stripe: what operations see of a delivery', () => {
  useTestDatabase();

  function appLoggingTo(logger: Logger, clock: FakeClock) {
    const queued: string[] = [];
    const app = buildApp({
      config: testConfig(),
      logger,
      clock,
      connection: mongoose.connection,
      stripe: testStripe(),
      stripeMode: 'stripe-mock',
      webhookSecret: TEST_WEBHOOK_SECRET,
      enqueue: async (_name, data) => {
        queued.push(String(data.eventId));
      },
      metrics: createMetrics({ defaultMetrics: false }),
    });
    return { app, queued };
  }

  const post = (app: Parameters<typeof request>[0], signed: { payload: string; header: string }) =>
    request(app).post('/webhooks/stripe').set('content-type', 'application/json').set('stripe-signature', signed.header).send(signed.payload);

  const expectWebhookSecurityHeaders = (headers: Record<string, string | undefined>) => {
    // A JSON answer to Stripe's servers: a deny-all CSP (not the pages' Stripe.js one), HTTPS only, no sniffing.
    expect(headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(headers['x-powered-by']).toBeUndefined();
  };

  test('when a delivery is acknowledged, then the answer carries its request id and security headers, and its log line names the request and the event', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { logger, lines } = capturedLogger('debug');
    const { app } = appLoggingTo(logger, clock);
    const event = buildEvent('invoice.paid', { id: 'in_ops1', object: 'invoice' }, clock.now());

    const res = await post(app, signEvent(testStripe(), event, clock.now()))
      .set('x-request-id', 'req-wh-1')
      .expect(200);

    expect(res.body).toEqual({ received: true, duplicate: false });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-request-id']).toBe('req-wh-1');
    expectWebhookSecurityHeaders(res.headers);
    const delivery = lines().filter((line) => line.msg === 'request completed');
    expect(delivery).toEqual([
      expect.objectContaining({
        level: 20,
        reqId: 'req-wh-1',
        eventId: event.id,
        duplicate: false,
        req: { method: 'POST', url: '/webhooks/stripe' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
      }),
    ]);
  });

  test('when a delivery comes again without a request id, then a fresh id is issued and the line says it was a duplicate', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { logger, lines } = capturedLogger('debug');
    const { app, queued } = appLoggingTo(logger, clock);
    const signed = signEvent(testStripe(), buildEvent('invoice.paid', { id: 'in_ops2', object: 'invoice' }, clock.now()), clock.now());
    await post(app, signed).expect(200);

    const again = await post(app, signed).set('x-request-id', 'not a safe id').expect(200);

    expect(again.body).toEqual({ received: true, duplicate: true });
    expect(again.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const delivery = lines().filter((line) => line.msg === 'request completed');
    expect(delivery.map((line) => [line.reqId, line.duplicate])).toEqual([
      [expect.stringMatching(/^[0-9a-f-]{36}$/), false],
      [again.headers['x-request-id'], true],
    ]);
    expect(queued).toHaveLength(1);
  });

  test('when a delivery is refused for its signature, then nothing is stored or queued, the answer keeps its headers and both lines name the request', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { logger, lines } = capturedLogger('debug');
    const { app, queued } = appLoggingTo(logger, clock);
    const event = buildEvent('invoice.paid', { id: 'in_ops3', object: 'invoice' }, clock.now());
    const forged = signEvent(testStripe(), event, clock.now(), 'whsec_not_ours');

    const res = await post(app, forged).set('x-request-id', 'req-wh-forged').expect(400);

    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: '/problems/invalid_signature', requestId: 'req-wh-forged' });
    expect(res.headers['x-request-id']).toBe('req-wh-forged');
    expectWebhookSecurityHeaders(res.headers);
    expect(await WebhookEventModel.countDocuments({ _id: event.id })).toBe(0);
    expect(queued).toEqual([]);
    const refused = lines().find((line) => line.msg === 'request refused');
    expect(refused).toMatchObject({ level: 30, reqId: 'req-wh-forged', problem: '/problems/invalid_signature' });
    const completed = lines().find((line) => line.msg === 'request completed');
    expect(completed).toMatchObject({ level: 30, reqId: 'req-wh-forged', res: { statusCode: 400 } });
    // A forged body's id is not the event's: no line names it.
    expect(lines().some((line) => 'eventId' in line)).toBe(false);
  });

  test('when the log level is info, then an acknowledged delivery writes no line and a refused one still does', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { logger, lines } = capturedLogger('info');
    const { app } = appLoggingTo(logger, clock);
    await post(app, signEvent(testStripe(), buildEvent('invoice.paid', { id: 'in_ops4', object: 'invoice' }, clock.now()), clock.now())).expect(200);
    expect(lines()).toEqual([]);

    await post(app, { payload: '{}', header: 't=1,v1=forged' }).expect(400);

    expect(lines().map((line) => line.msg)).toEqual(['request refused', 'request completed']);
  });

  test('when another route is asked, then it still gets the Helmet headers of the pages, not the webhook ones', async () => {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const { app } = appLoggingTo(capturedLogger('info').logger, clock);

    const res = await request(app).get('/webhooks/stripe').expect(404);

    expect(res.headers['content-security-policy']).toContain('https://js.stripe.com');
    expect(res.headers['x-request-id']).toBeDefined();
  });
});
