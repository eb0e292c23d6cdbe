import http from 'node:http';
import mongoose from 'mongoose';
import { FactModel } from '../../src/events/fact.model';
import { BoxOrderModel } from '../../src/orders/box-order.model';
import { connectDatabase, disconnectDatabase, syncIndexes } from '../../src/shared/db';
import { FakeClock, systemClock } from '../../src/shared/time';
import { WebhookEventModel } from '../../src/webhooks/webhook-event.model';
import { cloneSubscriptions, paidInvoiceEvents } from '../factories/bulk.factory';
import { createMerchant } from '../factories/merchant.factory';
import { subscribeShopper } from '../factories/subscription.factory';
import { buildAppOnce, cleanEnv, startAppProcess, terminate, type AppProcess } from '../helpers/app-process';
import { signEvent, TEST_WEBHOOK_SECRET } from '../helpers/stripe-events';
import { buildTestApp } from '../helpers/test-app';
import { testMongoUri, testStripe, testStripeTarget, uniqueDbName } from '../helpers/test-env';

jest.setTimeout(240_000);

const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;
const SUBSCRIPTIONS = 250;
const CYCLES = 8; // 250 × 8 = 2,000 invoice.paid events
const REDELIVERED = 100;

/** Posts signed deliveries over a few keep-alive connections, as Stripe would send them; answers each status and body. */
async function deliverAll(port: number, events: Array<Record<string, unknown>>, connections: number): Promise<Array<{ status: number; body: string }>> {
  const stripe = testStripe();
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const results = new Array<{ status: number; body: string }>(events.length);
  let next = 0;
  const post = (event: Record<string, unknown>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { payload, header } = signEvent(stripe, event, systemClock.now());
      const request = http.request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/webhooks/stripe',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'stripe-signature': header },
        },
        (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (next < events.length) {
          const index = next;
          next += 1;
          results[index] = await post(events[index]!);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return results;
}

describe('two worker processes on one database', () => {
  const dbName = uniqueDbName('e2e');
  const processes: AppProcess[] = [];

  beforeAll(async () => {
    await Promise.all([buildAppOnce(), connectDatabase(testMongoUri(), dbName).then(() => syncIndexes(mongoose.connection))]);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => terminate(p)));
    await mongoose.connection.db?.dropDatabase().catch(() => undefined);
    await disconnectDatabase();
  });

  test('when 2,000 invoice.paid events (and redeliveries) reach the web role, then the two workers share them, each is processed exactly once, and each paid invoice makes exactly one order', async () => {
    // The shoppers: one subscribes through the API (calendar anchored now, as the workers' clock is the system's); the rest are copies.
    const clock = new FakeClock(systemClock.now());
    const merchant = await createMerchant({}, clock);
    const template = await subscribeShopper(buildTestApp({ clock }).app, merchant);
    const subscriptions = await cloneSubscriptions(template.subscription.id, SUBSCRIPTIONS);
    const events = (
      await Promise.all(Array.from({ length: CYCLES }, (_, k) => paidInvoiceEvents(subscriptions, 2 + k, systemClock.now(), `in_e2e${k}_`)))
    ).flat();
    expect(events).toHaveLength(2_000);

    const stripe = testStripeTarget();
    const shared = cleanEnv({
      MONGODB_URI: testMongoUri(),
      MONGODB_DB: dbName,
      STRIPE_API_HOST: stripe.host,
      STRIPE_API_PORT: String(stripe.port),
      STRIPE_API_PROTOCOL: 'http',
      STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      SEED_DEMO: 'false',
      LOG_FORMAT: 'json',
      WEBHOOK_POLL_MS: '100',
    });
    const web = startAppProcess('web', { ...shared, PORT: '0', HOST: '127.0.0.1' });
    const workers = [startAppProcess('worker', shared), startAppProcess('worker', shared)];
    processes.push(web, ...workers);
    const [[, port]] = await Promise.all([web.waitFor(LISTENING), ...workers.map((worker) => worker.waitFor(/Boxcycle \(worker\)/))]);

    // Every event once, and some of them a second time, as Stripe redelivers.
    const deliveries = [...events, ...events.slice(0, REDELIVERED)];
    const answers = await deliverAll(Number(port), deliveries, 10);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(answers.filter((answer) => answer.body.includes('"duplicate":true'))).toHaveLength(REDELIVERED);

    const ids = events.map((event) => event.id);
    const deadline = Date.now() + 180_000;
    while ((await WebhookEventModel.countDocuments({ _id: { $in: ids }, state: { $in: ['succeeded', 'failed'] } })) < ids.length) {
      if (Date.now() > deadline) throw new Error('the workers did not process every event in time');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    // No event processed twice: each was claimed once (one attempt) and succeeded; both workers took a share.
    const inbox = await WebhookEventModel.find({ _id: { $in: ids } }, { state: 1, attempts: 1, claimedBy: 1 }).lean();
    expect(inbox.filter((event) => event.state !== 'succeeded' || event.attempts !== 1)).toEqual([]);
    const perWorker = new Map<string, number>();
    for (const event of inbox) perWorker.set(event.claimedBy!.split('#')[0]!, (perWorker.get(event.claimedBy!.split('#')[0]!) ?? 0) + 1);
    const workerNames = workers.map((worker) => `:${worker.child.pid}`);
    expect([...perWorker.keys()].map((name) => name.slice(name.lastIndexOf(':'))).sort()).toEqual([...workerNames].sort());

    // Exactly one order per paid invoice, one per subscription and cycle, each paid once (one box.paid fact, by its own event).
    const invoiceIds = events.map((event) => (event.data as { object: { id: string } }).object.id);
    const orders = await BoxOrderModel.find({ stripeInvoiceId: { $in: invoiceIds } }, { subscriptionId: 1, cycleKey: 1, stripeInvoiceId: 1, status: 1 }).lean();
    expect(orders).toHaveLength(2_000);
    expect(new Set(orders.map((order) => order.stripeInvoiceId)).size).toBe(2_000);
    expect(new Set(orders.map((order) => `${order.subscriptionId}:${order.cycleKey}`)).size).toBe(2_000);
    expect(orders.every((order) => order.status === 'paid')).toBe(true);
    const paidFacts = await FactModel.find({ type: 'box.paid', subjectId: { $in: orders.map((order) => order._id) } }, { actor: 1, subjectId: 1 }).lean();
    expect(paidFacts).toHaveLength(2_000);
    expect(new Set(paidFacts.map((fact) => (fact.actor as { id?: string }).id)).size).toBe(2_000);

    const stopped = await Promise.all(processes.splice(0).map((p) => terminate(p)));
    expect(stopped.map((s) => s.code)).toEqual([0, 0, 0]);
  });
});
