import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildAppOnce, cleanEnv, startAppProcess, terminate, waitForOk } from '../helpers/app-process';
import mongoose from 'mongoose';
import { getCaughtMail } from '../../src/messages/caught-mail.service';
import { MessageModel } from '../../src/messages/message.model';
import { queueMessage } from '../../src/messages/message.service';
import { connectDatabase, disconnectDatabase } from '../../src/shared/db';
import { systemClock } from '../../src/shared/time';
import { buildOutgoingMessage } from '../factories/message.factory';
import { testMongoUri, testStripeTarget, uniqueDbName } from '../helpers/test-env';

jest.setTimeout(120_000);

const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;
const SEEDED = /"msg":"demo merchant ready"/;

function seededMerchantId(output: string): string | undefined {
  return output
    .split('\n')
    .filter((line) => SEEDED.test(line))
    .map((line) => (JSON.parse(line) as { merchantId: string }).merchantId)[0];
}

function expectCleanShutdown(output: string): void {
  expect(output).not.toMatch(/unhandled|uncaught|shutdown took too long/i);
  expect(output).toMatch(/"msg":"stopped"/);
}

describe('the app process', () => {
  beforeAll(() => buildAppOnce());

  test('when started with no settings (embedded default), then it is ready and seeded, keeps its data across a restart, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'boxcycle-e2e-'));
    // Only what a fresh machine differs in: a free port, and a data folder of its own instead of .data/.
    // The demo store's made-up year (a minute in the background, the worker after it) is tested in test/integration/demo.
    const env = cleanEnv({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_FORMAT: 'json', SEED_DEMO_HISTORY: 'false' });
    try {
      const merchantIds: Array<string | undefined> = [];
      const demoPasswords: Array<string | undefined> = [];
      for (let run = 0; run < 2; run += 1) {
        const app = startAppProcess('all', env);
        const [, port] = await app.waitFor(LISTENING);
        expect(app.output()).toContain('Stripe:   OFFLINE — calls go to a local stripe-mock');
        expect(app.output()).toContain('STRIPE_SECRET_KEY=sk_test_');
        expect(app.output()).toMatch(/Mail: {5}not leaving this machine: caught at smtp:\/\/127\.0\.0\.1:\d+/);
        await waitForOk(`http://127.0.0.1:${port}/healthz`);
        const ready = (await waitForOk(`http://127.0.0.1:${port}/readyz`)) as { checks: Record<string, { status: string }> };
        expect(ready.checks).toMatchObject({ database: { status: 'ok' }, stripe: { status: 'ok' }, worker: { status: 'ok' } });
        const home = await (await fetch(`http://127.0.0.1:${port}/`)).text();
        expect(home).toContain('Single-origin coffee box');
        expect(home).toContain('Daily vitamin box');
        merchantIds.push(seededMerchantId(app.output()));
        // Offline, the demo store's pages open with the password the banner prints (the same after a restart).
        const demo = /sign in as (demo@boxcycle\.example) with (demo-[A-Za-z0-9_-]{16})/.exec(app.output());
        demoPasswords.push(demo?.[2]);
        const login = await fetch(`http://127.0.0.1:${port}/api/v1/merchants/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: demo?.[1], password: demo?.[2] }),
        });
        expect(login.status).toBe(201);

        const stopped = await terminate(app);
        expect(stopped.code).toBe(0);
        expect(stopped.ms).toBeLessThan(10_000);
        expectCleanShutdown(app.output());
      }
      expect(merchantIds[0]).toMatch(/^mer_/);
      expect(merchantIds[1]).toBe(merchantIds[0]);
      expect(demoPasswords[0]).toBeDefined();
      expect(demoPasswords[1]).toBe(demoPasswords[0]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('when the worker runs with no SMTP_URL, then it catches mail on this machine, says so, and a queued message is delivered into caught_mail', async () => {
    const stripe = testStripeTarget();
    const dbName = uniqueDbName('e2e');
    const worker = startAppProcess(
      'worker',
      cleanEnv({
        MONGODB_URI: testMongoUri(),
        MONGODB_DB: dbName,
        STRIPE_API_HOST: stripe.host,
        STRIPE_API_PORT: String(stripe.port),
        STRIPE_API_PROTOCOL: 'http',
        LOG_FORMAT: 'json',
      }),
    );
    try {
      await worker.waitFor(/Boxcycle \(worker\)/);
      expect(worker.output()).toMatch(/"msg":"mail is not leaving this machine: caught at smtp:\/\/127\.0\.0\.1:\d+/);
      await connectDatabase(testMongoUri(), dbName);
      const { id } = await queueMessage(
        { clock: systemClock },
        buildOutgoingMessage({ merchantId: 'mer_e2ecatcher', customerId: 'cust_e2e', to: 'shopper@example.com', subject: 'Caught, not sent' }),
      );
      await worker.waitFor(/"msg":"messages delivered"/, 30_000);

      const message = await MessageModel.findById(id).lean();
      expect(message).toMatchObject({ status: 'sent', providerMessageId: expect.stringMatching(/^cm_/) });
      const caught = await getCaughtMail({ merchantId: 'mer_e2ecatcher' }, message!.providerMessageId!);
      expect(caught).toMatchObject({ subject: 'Caught, not sent', to: ['shopper@example.com'], outboxMessageId: id });
    } finally {
      await mongoose.connection.db?.dropDatabase().catch(() => undefined);
      await disconnectDatabase();
      const stopped = await terminate(worker);
      expect(stopped.code).toBe(0);
      expectCleanShutdown(worker.output());
    }
  });

  test('when PORT is not a number, then it exits non-zero naming PORT before starting anything', async () => {
    const app = startAppProcess('all', cleanEnv({ PORT: 'abc' }));
    const { code } = await app.exited;
    expect(code).not.toBe(0);
    expect(app.output()).toContain('PORT: must be a whole number from 0 to 65535 (got "abc")');
    expect(app.output()).not.toContain('building');
  });

  test('when web and worker run as separate processes on one database, then the web role becomes ready from the worker heartbeat', async () => {
    const stripe = testStripeTarget();
    const shared = {
      MONGODB_URI: testMongoUri(),
      MONGODB_DB: uniqueDbName('e2e'),
      STRIPE_API_HOST: stripe.host,
      STRIPE_API_PORT: String(stripe.port),
      STRIPE_API_PROTOCOL: 'http',
      LOG_FORMAT: 'json',
    };
    const web = startAppProcess('web', cleanEnv({ ...shared, PORT: '0', HOST: '127.0.0.1' }));
    const [, port] = await web.waitFor(LISTENING);
    const before = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(before.status).toBe(503);
    expect(((await before.json()) as { checks: { worker: { detail: string } } }).checks.worker.detail).toBe('no worker has reported yet');

    const worker = startAppProcess('worker', cleanEnv(shared));
    await worker.waitFor(/Boxcycle \(worker\)/);
    expect(worker.output()).not.toMatch(/Web:/);
    const ready = (await waitForOk(`http://127.0.0.1:${port}/readyz`)) as { checks: { worker: { workerName: string } } };
    expect(ready.checks.worker.workerName).toMatch(/:\d+$/);

    const [webStop, workerStop] = await Promise.all([terminate(web), terminate(worker)]);
    expect(webStop.code).toBe(0);
    expect(workerStop.code).toBe(0);
    expect(Math.max(webStop.ms, workerStop.ms)).toBeLessThan(10_000);
    expectCleanShutdown(web.output());
    expectCleanShutdown(worker.output());
  });
});
