/**
 * A process under load for the benchmarks, run as a child of the bench so the load generator never shares
 * its event loop. `process.argv[2]` says which:
 *   baseline  a bare Express endpoint that only verifies the Stripe signature on the raw body and answers 200;
 *   insert    the same, plus one `insertOne` of the event into the same database before the 200 (the least a
 *             durable acknowledgement can do), into a collection with the inbox's indexes;
 *   web       the real web role (`startRuntime`: `buildApp`, the inbox), no worker;
 *   all       the web role and a real worker in one process, as `npm start` runs them;
 *   worker    the real worker role (`npm run worker`): Agenda's jobs and the webhook inbox consumer;
 *   direct    no server: on the message `{ process: ids, concurrency }` it calls `processWebhookEvent` for each
 *             id, `concurrency` at once, and answers `{ seconds }` (the handler called directly).
 * It reports `{ port }` over IPC once ready (0 when it serves nothing), stops on the message `stop`, and exits
 * when the bench goes away.
 */
import express from 'express';
import mongoose from 'mongoose';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config';
import { enableInlineRelay } from '../src/events/relay.service';
import { startRuntime, type Runtime } from '../src/runtime';
import { listen, type WebServer } from '../src/server';
import { connectDatabase, disconnectDatabase } from '../src/shared/db';
import { createLogger } from '../src/shared/logger';
import { systemClock } from '../src/shared/time';
import { createStripeClient, STRIPE_MOCK_KEY } from '../src/stripe/stripe-client';
import { databaseReadThrottle } from '../src/stripe/stripe-throttle';
import { createStripeGateway } from '../src/stripe/stripe-gateway';
import { processWebhookEvent } from '../src/webhooks/process-event.service';
import { WebhookEventModel } from '../src/webhooks/webhook-event.model';
import { BASELINE_COLLECTION, mapPool, TARGET_ROLES, type TargetEnv, type TargetRole } from './bench-support';

/** The same tolerance as the real endpoint (src/webhooks/stripe-webhook.routes.ts). */
const SIGNATURE_TOLERANCE_SECONDS = 300;
const ANSWER = Buffer.from(JSON.stringify({ received: true }));

function required(name: keyof TargetEnv): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: this file is started by the benchmarks (bench/*.bench.ts)`);
  return value;
}

function stripeClient() {
  return createStripeClient({
    secretKey: STRIPE_MOCK_KEY,
    host: required('BENCH_STRIPE_HOST'),
    port: Number(required('BENCH_STRIPE_PORT')),
    protocol: 'http',
  });
}

interface Started {
  port: number;
  stop: () => Promise<void>;
  onMessage?: (message: unknown) => void;
}

/**
 * The baselines: express.raw + constructEvent + 200, and for `insert` one insertOne first. No Helmet, no
 * request logs; the insert goes through the driver, as lean as a store can be, and the 200 is written as the
 * real endpoint writes it.
 */
async function startBaseline(store: boolean): Promise<Started> {
  const stripe = stripeClient();
  const secret = required('BENCH_WEBHOOK_SECRET');
  let collection: mongoose.mongo.Collection | undefined;
  if (store) {
    await connectDatabase(required('BENCH_MONGODB_URI'), required('BENCH_MONGODB_DB'));
    collection = mongoose.connection.db!.collection(BASELINE_COLLECTION);
    // The same indexes as the inbox, so each insert maintains what the real one does.
    for (const [fields, options] of WebhookEventModel.schema.indexes()) await collection.createIndex(fields as Record<string, 1>, options as never);
  }
  const app = express();
  app.disable('x-powered-by');
  app.post('/webhooks/stripe', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    const signature = req.get('stripe-signature');
    if (!signature || !Buffer.isBuffer(req.body)) {
      res.status(400).json({ error: 'missing signature' });
      return;
    }
    let event: { id: string; type: string };
    try {
      event = stripe.webhooks.constructEvent(req.body, signature, secret, SIGNATURE_TOLERANCE_SECONDS);
    } catch {
      res.status(400).json({ error: 'invalid signature' });
      return;
    }
    if (collection) {
      try {
        await collection.insertOne({ _id: event.id as never, type: event.type, payload: event, receivedAt: systemClock.now() });
      } catch {
        res.status(500).json({ error: 'not stored' });
        return;
      }
    }
    // Answered as the real endpoint answers (a body made once, no ETag), so the ratio compares the work before the 200.
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', ANSWER.length);
    res.end(ANSWER);
  });
  const server: WebServer = await listen(app, 0, '127.0.0.1');
  return {
    port: server.port,
    stop: async () => {
      await server.close();
      if (store) await disconnectDatabase();
    },
  };
}

/** The real thing, wired exactly as `npm run web` / `npm run worker` / `npm start` wire it, on the bench's database and stripe-mock. */
async function startReal(role: 'web' | 'all' | 'worker'): Promise<Started> {
  const passThrough = ['AGENDA_PROCESS_EVERY_MS', 'AGENDA_MAX_CONCURRENCY', 'AGENDA_LOCK_LIMIT', 'WEBHOOK_CONCURRENCY', 'WEBHOOK_POLL_MS'] as const;
  const config = loadConfig({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: required('BENCH_LOG_LEVEL'),
    LOG_FORMAT: 'json',
    MONGODB_URI: required('BENCH_MONGODB_URI'),
    MONGODB_DB: required('BENCH_MONGODB_DB'),
    STRIPE_API_HOST: required('BENCH_STRIPE_HOST'),
    STRIPE_API_PORT: required('BENCH_STRIPE_PORT'),
    STRIPE_API_PROTOCOL: 'http',
    STRIPE_WEBHOOK_SECRET: required('BENCH_WEBHOOK_SECRET'),
    SEED_DEMO: 'false',
    ...Object.fromEntries(passThrough.map((name) => [name, process.env[name]])),
  });
  const logger = createLogger({ level: config.log.level, pretty: false });
  const runtime: Runtime = await startRuntime({ role, config, logger, clock: systemClock });
  if (role !== 'worker' && !runtime.web) throw new Error(`the ${role} role started without a web server`);
  return { port: runtime.web?.port ?? 0, stop: () => runtime.stop() };
}

/** The handler called directly, as the old job and the tests call it: no queue, no polling. */
async function startDirect(): Promise<Started> {
  await connectDatabase(required('BENCH_MONGODB_URI'), required('BENCH_MONGODB_DB'));
  enableInlineRelay(systemClock);
  const logger = createLogger({ level: required('BENCH_LOG_LEVEL'), pretty: false });
  const deps = { clock: systemClock, stripe: createStripeGateway(stripeClient(), { readThrottle: databaseReadThrottle() }), logger };
  return {
    port: 0,
    stop: () => disconnectDatabase(),
    onMessage: (message) => {
      const request = message as { process?: string[]; concurrency?: number };
      if (!Array.isArray(request.process)) return;
      const started = performance.now();
      void mapPool(request.process, request.concurrency ?? 10, (id) => processWebhookEvent(deps, id)).then(
        () => process.send?.({ seconds: (performance.now() - started) / 1000 }),
        (error: unknown) => process.send?.({ error: String(error) }),
      );
    },
  };
}

async function main(): Promise<void> {
  const role = process.argv[2] as TargetRole;
  if (!TARGET_ROLES.includes(role)) throw new Error(`unknown target role ${process.argv[2]}: use one of ${TARGET_ROLES.join(', ')}`);
  if (!process.send) throw new Error('run by the benchmarks (needs an IPC channel)');
  const target =
    role === 'baseline' || role === 'insert' ? await startBaseline(role === 'insert') : role === 'direct' ? await startDirect() : await startReal(role);

  let stopping: Promise<void> | undefined;
  const stop = (code: number): void => {
    stopping ??= target
      .stop()
      .catch((error: unknown) => {
        process.stderr.write(`[bench target ${role}] stop failed: ${String(error)}\n`);
      })
      .finally(() => process.exit(code));
  };
  process.on('message', (message) => {
    if (message === 'stop') stop(0);
    else target.onMessage?.(message);
  });
  // The bench died or was interrupted: do not outlive it.
  process.on('disconnect', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => undefined); // the bench handles Ctrl-C and tells us to stop
  process.send({ port: target.port });
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench target] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
