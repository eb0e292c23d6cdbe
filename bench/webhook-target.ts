/**
 * A server under load for `npm run bench:webhooks`, run as a child process of the bench so the load
 * generator never shares its event loop. `process.argv[2]` says which:
 *   baseline  a bare Express endpoint that only verifies the Stripe signature on the raw body and answers 200;
 *   web       the real web role (`startRuntime`: `buildApp`, the inbox, Agenda's `now` as the queue), no worker;
 *   all       the web role and a real Agenda worker in one process, as `npm start` runs them.
 * It reports `{ port }` over IPC once listening, stops on the message `stop`, and exits when the bench goes away.
 */
import express from 'express';
import { loadConfig } from '../src/config/config';
import { startRuntime, type Runtime } from '../src/runtime';
import { listen, type WebServer } from '../src/server';
import { createLogger } from '../src/shared/logger';
import { systemClock } from '../src/shared/time';
import { createStripeClient, STRIPE_MOCK_KEY } from '../src/stripe/stripe-client';
import { TARGET_ROLES, type TargetEnv, type TargetRole } from './bench-support';

/** The same tolerance as the real endpoint (src/webhooks/stripe-webhook.routes.ts). */
const SIGNATURE_TOLERANCE_SECONDS = 300;

function required(name: keyof TargetEnv): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: this file is started by bench/webhooks.bench.ts`);
  return value;
}

/** The baseline: express.raw + constructEvent + 200, nothing else (no Helmet, no request logs, no database). */
async function startBaseline(): Promise<{ port: number; stop: () => Promise<void> }> {
  const stripe = createStripeClient({
    secretKey: STRIPE_MOCK_KEY,
    host: required('BENCH_STRIPE_HOST'),
    port: Number(required('BENCH_STRIPE_PORT')),
    protocol: 'http',
  });
  const secret = required('BENCH_WEBHOOK_SECRET');
  const app = express();
  app.disable('x-powered-by');
  app.post('/webhooks/stripe', express.raw({ type: () => true, limit: '1mb' }), (req, res) => {
    const signature = req.get('stripe-signature');
    if (!signature || !Buffer.isBuffer(req.body)) {
      res.status(400).json({ error: 'missing signature' });
      return;
    }
    try {
      stripe.webhooks.constructEvent(req.body, signature, secret, SIGNATURE_TOLERANCE_SECONDS);
    } catch {
      res.status(400).json({ error: 'invalid signature' });
      return;
    }
    res.status(200).json({ received: true });
  });
  const server: WebServer = await listen(app, 0, '127.0.0.1');
  return { port: server.port, stop: () => server.close() };
}

/** The real thing, wired exactly as `npm run web` / `npm start` wire it, on the bench's database and stripe-mock. */
async function startReal(role: 'web' | 'all'): Promise<{ port: number; stop: () => Promise<void> }> {
  const passThrough = ['AGENDA_PROCESS_EVERY_MS', 'AGENDA_MAX_CONCURRENCY', 'AGENDA_LOCK_LIMIT'] as const;
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
  if (!runtime.web) throw new Error(`the ${role} role started without a web server`);
  return { port: runtime.web.port, stop: () => runtime.stop() };
}

async function main(): Promise<void> {
  const role = process.argv[2] as TargetRole;
  if (!TARGET_ROLES.includes(role)) throw new Error(`unknown target role ${process.argv[2]}: use one of ${TARGET_ROLES.join(', ')}`);
  if (!process.send) throw new Error('run by bench/webhooks.bench.ts (needs an IPC channel)');
  const target = role === 'baseline' ? await startBaseline() : await startReal(role);

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
