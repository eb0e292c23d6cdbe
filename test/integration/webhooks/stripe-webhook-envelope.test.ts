import mongoose from 'mongoose';
import request from 'supertest';
import { buildApp } from '../../../src/app';
import { FakeClock } from '../../../src/shared/time';
import { WebhookEventModel } from '../../../src/webhooks/webhook-event.model';
import { buildEvent, TEST_WEBHOOK_SECRET } from '../../helpers/stripe-events';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testConfig, testStripe, useTestDatabase } from '../../helpers/test-env';

const NOW = '2026-04-01T10:00:00Z';

/** Posts `payload` exactly as given, correctly signed with the test secret: only the content is wrong. */
function postSigned(app: Parameters<typeof request>[0], payload: string, clock: FakeClock) {
  const header = testStripe().webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET, timestamp: Math.floor(clock.now().getTime() / 1000) });
  return request(app).post('/webhooks/stripe').set('stripe-signature', header).set('content-type', 'application/json').send(payload);
}

const event = (overrides: Record<string, unknown> = {}, omit: string[] = []) => {
  const built: Record<string, unknown> = { ...buildEvent('invoice.upcoming', { id: 'in_env', object: 'invoice' }, new Date(NOW)), ...overrides };
  for (const key of omit) delete built[key];
  return JSON.stringify(built);
};

const nested = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/** Correctly signed bodies that are not Stripe events. */
const NOT_EVENTS: Array<[string, string]> = [
  ['{}', '{}'],
  ['null', 'null'],
  ['[]', '[]'],
  ['a string', '"evt_1"'],
  ['a number', '42'],
  ['an event without type', event({}, ['type'])],
  ['an event without id', event({}, ['id'])],
  ['an object as id', event({ id: { $gt: '' } })],
  ['an id that is not an event id', event({ id: 'in_123' })],
  ['a number as type', event({ type: 7 })],
  ['created "abc"', event({ created: 'abc' })],
  ['a fractional created', event({ created: 1.5 })],
  ['livemode "no"', event({ livemode: 'no' })],
  ['no data', event({}, ['data'])],
  ['an array as data.object', event({ data: { object: [] } })],
  ['null as data.object', event({ data: { object: null } })],
  ['a number as api_version', event({ api_version: 2026 })],
  ['deeply nested arrays', nested(100_000)],
  ['deeply nested arrays in the object', event({ data: { object: { id: 'in_deep', lines: JSON.parse(nested(500)) as unknown } } })],
];

describe('POST /webhooks/stripe: the event envelope', () => {
  useTestDatabase();

  test.each(NOT_EVENTS)('when a correctly signed body is %s, then it answers 400 and stores and queues nothing', async (_what, payload) => {
    const clock = new FakeClock(NOW);
    const { app, queued } = buildTestApp({ clock });
    const res = await postSigned(app, payload, clock);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('/problems/invalid_request');
    expect(await WebhookEventModel.countDocuments({})).toBe(0);
    expect(queued).toEqual([]);
  });

  test('when a correctly signed body is not JSON, then it answers 400 malformed_body and stores nothing', async () => {
    const clock = new FakeClock(NOW);
    const { app } = buildTestApp({ clock });
    const res = await postSigned(app, '{"id": "evt_1", ', clock).expect(400);
    expect(res.body.type).toBe('/problems/malformed_body');
    expect(await WebhookEventModel.countDocuments({})).toBe(0);
  });

  test('when a well-formed event has fields Stripe may add later, then it is stored as sent', async () => {
    const clock = new FakeClock(NOW);
    const { app, queued } = buildTestApp({ clock });
    const payload = event({
      context: 'acct_1',
      api_version: null,
      data: { object: { id: 'in_ok', object: 'invoice' }, previous_attributes: { status: 'draft' } },
    });
    await postSigned(app, payload, clock).expect(200);
    const id = (JSON.parse(payload) as { id: string }).id;
    expect(await WebhookEventModel.findById(id).lean()).toMatchObject({ type: 'invoice.upcoming', livemode: false, state: 'pending' });
    expect(queued).toHaveLength(1);
  });
});

describe('POST /webhooks/stripe: the event mode must be the key mode', () => {
  useTestDatabase();

  function liveApp(clock: FakeClock) {
    const queued: unknown[] = [];
    const app = buildApp({
      webhookSecret: TEST_WEBHOOK_SECRET,
      enqueue: async (name, data) => {
        queued.push({ name, data });
      },
      config: testConfig(),
      logger: silentLogger,
      clock,
      connection: mongoose.connection,
      stripe: testStripe(),
      stripeMode: 'stripe-live',
    });
    return { app, queued };
  }

  test('when a live event reaches a test installation, then it answers 400 livemode_mismatch and stores and queues nothing', async () => {
    const clock = new FakeClock(NOW);
    const { app, queued } = buildTestApp({ clock });
    const payload = event({ livemode: true });
    const res = await postSigned(app, payload, clock).expect(400);
    expect(res.body.type).toBe('/problems/livemode_mismatch');
    expect(res.body.detail).toMatch(/live-mode event/);
    expect(await WebhookEventModel.countDocuments({})).toBe(0);
    expect(queued).toEqual([]);
  });

  test('when a test event reaches a live installation, then it answers 400 livemode_mismatch and stores nothing; a live event is received', async () => {
    const clock = new FakeClock(NOW);
    const { app, queued } = liveApp(clock);
    const refused = await postSigned(app, event({ livemode: false }), clock).expect(400);
    expect(refused.body.type).toBe('/problems/livemode_mismatch');
    expect(await WebhookEventModel.countDocuments({})).toBe(0);
    expect(queued).toEqual([]);

    const live = event({ livemode: true });
    await postSigned(app, live, clock).expect(200);
    expect(await WebhookEventModel.findById((JSON.parse(live) as { id: string }).id).lean()).toMatchObject({ livemode: true });
    expect(queued).toHaveLength(1);
  });
});
