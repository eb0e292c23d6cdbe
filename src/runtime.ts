import os from 'node:os';
import type { Agenda } from 'agenda';
import { buildApp } from './app';
import type { Config } from './config/config';

import { startLocalDatabase } from './local/local-database';
import { startMailCatcher } from './local/mail-catcher';
import { startLocalStripeMock } from './local/local-stripe-mock';
import { recordCaughtMail } from './messages/caught-mail.service';
import { createMailTransport, describeSmtpUrl, type MailTransport } from './messages/mail-transport';
import { seedDemoHistory } from './demo/demo-history.service';
import { demoPassword, seedDemoMerchant } from './merchants/demo-seed.service';
import { createAgenda } from './shared/agenda';
import { migrateStoredSubscriptions } from './subscriptions/subscription-migrations.service';
import { assignMissingHandles } from './merchants/merchant.service';
import { connectDatabase, disconnectDatabase, syncIndexes } from './shared/db';
import type { Logger } from './shared/logger';
import type { Clock } from './shared/time';
import { listen, type WebServer } from './server';
import {
  createStripeClient,
  OFFLINE_WEBHOOK_SECRET,
  STRIPE_MOCK_KEY,
  stripeTargetFromConfig,
  type StripeMode,
  type StripeTarget,
} from './stripe/stripe-client';
import { stripeThrottles } from './stripe/stripe-throttle';
import { createStripeGateway } from './stripe/stripe-gateway';
import { startWorker } from './worker';
import { createMetrics, instrumentStripe, registerStateGauges, throttleWaitRecorder } from './ops/metrics';
import { startMetricsServer } from './ops/metrics-server';
import { coreAnswers } from './wiring';

export type Role = 'all' | 'web' | 'worker';
export type WebhookSecretSource = 'configured' | 'offline' | 'none';

/** Where this process sends mail (the worker role's): the configured SMTP server, or the local catcher. */
export type MailMode = { mode: 'smtp'; target: string } | { mode: 'catcher'; target: string };

export interface Runtime {
  role: Role;
  web?: WebServer;
  agenda: Agenda;
  databaseDescription: string;
  stripeMode: StripeMode;
  /** Which secret verifies webhook signatures: STRIPE_WEBHOOK_SECRET, the offline one (local stripe-mock), or none (503). */
  webhookSecretSource: WebhookSecretSource;
  /** Where mail goes; absent on the web role (the worker sends). */
  mail?: MailMode;
  /** Offline with the demo seeded: how to sign in to the demo store's pages. */
  demo?: { email: string; password: string; storefront: string };
  /** Stop accepting, drain jobs, close the database, stop local helpers. Safe to call twice. */
  stop(): Promise<void>;
  isDraining(): boolean;
}

export interface RuntimeOptions {
  role: Role;
  config: Config;
  logger: Logger;
  clock: Clock;
}

/**
 * The Stripe mode in force. A live key is live wherever its calls go (a host in front of Stripe is a proxy:
 * stripe-mock takes test keys only), and live events are expected; a test key against a host is stripe-mock.
 */
export function stripeModeOf(target: StripeTarget, mocked: boolean): StripeMode {
  if (/^(sk|rk)_live_/.test(target.secretKey)) return 'stripe-live';
  return mocked || target.host ? 'stripe-mock' : 'stripe-test';
}

/** What the operator reads once everything is up: where the web is, which database, which Stripe, which webhook secret. */
export function startupBanner(runtime: Runtime, config: Config): string {
  const lines = [
    '',
    `  Boxcycle (${runtime.role === 'all' ? 'web + worker' : runtime.role})`,
    ...(runtime.web ? [`  Web:      ${config.http.publicUrl}  (listening on ${config.http.host}:${runtime.web.port})`] : []),
    `  Database: ${runtime.databaseDescription}`,
  ];
  if (runtime.demo && runtime.web) {
    lines.push(
      `  Demo:     storefront ${runtime.demo.storefront}`,
      `            merchant pages ${config.http.publicUrl}/merchant — sign in as ${runtime.demo.email} with ${runtime.demo.password}`,
    );
  }
  if (runtime.stripeMode === 'stripe-mock') {
    lines.push(
      '  Stripe:   OFFLINE — calls go to a local stripe-mock; no real payment is made.',
      '            For Stripe test mode: STRIPE_SECRET_KEY=sk_test_… STRIPE_WEBHOOK_SECRET=whsec_… npm start',
      '            and forward events with: stripe listen --forward-to localhost:3000/webhooks/stripe',
    );
  } else {
    lines.push(`  Stripe:   ${runtime.stripeMode === 'stripe-live' ? 'LIVE mode' : 'test mode'}`);
  }
  if (runtime.mail?.mode === 'catcher') {
    lines.push(
      `  Mail:     not leaving this machine: caught at ${runtime.mail.target} and kept in the database (caught_mail).`,
      '            To send for real: SMTP_URL=smtps://user:password@smtp.example.com:465 MAIL_FROM="Store <hello@example.com>"',
    );
  } else if (runtime.mail?.mode === 'smtp') {
    lines.push(
      `  Mail:     sent through ${runtime.mail.target}, from ${config.mail.from.name ? `${config.mail.from.name} <${config.mail.from.address}>` : config.mail.from.address}`,
    );
  }
  if (runtime.role !== 'worker') {
    const webhooks: Record<WebhookSecretSource, string> = {
      configured: 'webhooks are verified with STRIPE_WEBHOOK_SECRET.',
      offline: `webhooks are verified with ${OFFLINE_WEBHOOK_SECRET} (offline only: sign local test events with it).`,
      none: 'webhooks are refused (503) until STRIPE_WEBHOOK_SECRET is set.',
    };
    lines.push(`            ${runtime.stripeMode === 'stripe-live' ? 'Live' : 'Test'} mode events only; ${webhooks[runtime.webhookSecretSource]}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Brings up one process: its database (MONGODB_URI, or a local server when unset), Stripe (the configured
 * key, or a local stripe-mock), then the web role, the worker role, or both.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, logger, clock, role } = options;
  const log = (message: string): void => logger.info(message);
  const cleanups: Array<() => Promise<void>> = [];
  let draining = false;

  const stopAll = async (): Promise<void> => {
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop();
      try {
        await cleanup?.();
      } catch (error) {
        logger.error({ err: error }, 'error during shutdown');
      }
    }
  };

  try {
    // The local helpers are independent: start (and on a fresh machine build) them side by side.
    const configuredStripe = stripeTargetFromConfig(config.stripe);
    const [localDb, localStripe] = await Promise.all([
      config.database.uri
        ? undefined
        : startLocalDatabase({ engine: config.database.localEngine, dataDir: config.database.dataDir, log }).then((db) => {
            cleanups.push(() => db.stop());
            return db;
          }),
      configuredStripe
        ? undefined
        : startLocalStripeMock(log).then((mock) => {
            cleanups.push(() => mock.stop());
            return mock;
          }),
    ]);
    const uri = localDb?.uri ?? config.database.uri!;
    const databaseDescription = localDb ? `local ${localDb.engine} (${localDb.storage})` : 'MONGODB_URI';
    const stripeTarget: StripeTarget = localStripe
      ? { secretKey: STRIPE_MOCK_KEY, host: localStripe.host, port: localStripe.port, protocol: 'http' }
      : configuredStripe!;
    const stripe = createStripeClient(stripeTarget);
    const metrics = createMetrics();
    instrumentStripe(stripe, metrics);
    const stripeMode = stripeModeOf(stripeTarget, localStripe !== undefined);
    const webhookSecret = config.stripe.webhookSecret ?? (localStripe ? OFFLINE_WEBHOOK_SECRET : undefined);
    const webhookSecretSource: WebhookSecretSource = config.stripe.webhookSecret ? 'configured' : webhookSecret ? 'offline' : 'none';

    const connection = await connectDatabase(uri, config.database.dbName);
    cleanups.push(() => disconnectDatabase());
    await syncIndexes(connection);
    await migrateStoredSubscriptions(clock);
    await assignMissingHandles();

    // The worker sends mail: to SMTP_URL, or to a local catcher that keeps it in the database (stopped after the jobs drain).
    let mail: MailMode | undefined;
    let transport: MailTransport | undefined;
    if (role !== 'web') {
      let smtpUrl = config.mail.smtpUrl;
      if (smtpUrl) {
        mail = { mode: 'smtp', target: describeSmtpUrl(smtpUrl) };
      } else {
        const catcher = await startMailCatcher({
          store: (message) => recordCaughtMail(clock, message),
          onError: (error) => logger.debug({ err: error }, 'mail catcher connection error'),
        });
        cleanups.push(() => catcher.stop());
        smtpUrl = catcher.url;
        mail = { mode: 'catcher', target: catcher.url };
        logger.info(`mail is not leaving this machine: caught at ${catcher.url} and kept in the database (caught_mail)`);
      }
      const opened = createMailTransport(smtpUrl);
      transport = opened;
      cleanups.push(() => {
        opened.close();
        return Promise.resolve();
      });
    }

    const workerName = `${os.hostname()}:${process.pid}`;
    const agenda = createAgenda(connection, config.worker, workerName);
    cleanups.push(async () => {
      if (role === 'web') {
        await agenda.stop(false);
        return;
      }
      const result = await agenda.drain({ timeout: Math.max(1_000, config.shutdownTimeoutMs - 3_000), closeConnection: false });
      if (result.timedOut) logger.warn({ running: result.running }, 'jobs still running at shutdown; their locks will expire and they will run again');
    });

    let demo: Runtime['demo'];
    let demoHistory: Promise<unknown> | undefined;
    if (role !== 'worker' && config.seedDemo) {
      // Offline only (stripe-mock): the demo store gets a password, printed below, so its pages can be tried.
      const password = stripeMode === 'stripe-mock' ? await demoPassword(config.appSecret, clock.now()) : undefined;
      const seeded = await seedDemoMerchant(clock, password ? { password } : {});
      logger.info({ merchantId: seeded.merchant._id, plans: seeded.plans.length }, 'demo merchant ready');
      if (password) demo = { email: seeded.merchant.email, password, storefront: `${config.http.publicUrl}/shop/${seeded.merchant.handle ?? ''}` };
      // Offline, web and worker in one process: the demo store's made-up year, walked once in the background
      // (tens of seconds) while the pages are served; the worker starts after it, so no job of the real clock
      // meets a store still being walked forward. See src/demo/demo-history.service.ts.
      if (config.seedDemoHistory && stripeMode === 'stripe-mock' && role === 'all') {
        const stop = new AbortController();
        const started = performance.now();
        log('demo store: making its made-up year of history in the background; the worker starts when it is done');
        demoHistory = seedDemoHistory(
          {
            clock,
            // The walk's own services log what they do each made-up day: only its warnings reach the log.
            logger: logger.child({ component: 'demo-history' }, { level: 'warn' }),
            stripe,
            stripeMode,
            webhookSecret,
            publicUrl: config.http.publicUrl,
            links: { publicUrl: config.http.publicUrl, appSecret: config.appSecret },
          },
          { merchantId: seeded.merchant._id, plans: seeded.plans },
          { signal: stop.signal },
        ).then(
          (outcome) => logger.info({ outcome, ms: Math.round(performance.now() - started) }, 'demo history'),
          (error: unknown) => logger.error({ err: error }, 'demo history failed'),
        );
        const walking = demoHistory;
        cleanups.push(async () => {
          stop.abort();
          await walking;
        });
      }
    }

    const startTheWorker = async () => {
      if (role === 'web') return;
      const worker = await startWorker(
        agenda,
        {
          clock,
          logger,
          workerName,
          stripe: createStripeGateway(stripe, stripeThrottles(stripeMode, throttleWaitRecorder(metrics))),
          metrics,
          boxExtras: coreAnswers({ clock }).boxExtras,
          ...(transport ? { mail: { transport, from: config.mail.from, publicUrl: config.http.publicUrl, appSecret: config.appSecret } } : {}),
          links: { publicUrl: config.http.publicUrl, appSecret: config.appSecret },
        },
        config.worker.heartbeatSeconds,
        { concurrency: config.worker.webhookConcurrency, batchSize: config.worker.webhookConcurrency, idleMs: config.worker.webhookPollMs },
      );
      // Runs before Agenda's drain (cleanups run last first): the events in hand finish, the rest go back to the inbox.
      cleanups.push(() => worker.stop());
    };
    if (demoHistory) {
      void demoHistory
        .then(() => (draining ? undefined : startTheWorker()))
        .catch((error: unknown) => logger.error({ err: error }, 'the worker did not start'));
    } else {
      await startTheWorker();
    }

    let web: WebServer | undefined;
    if (role !== 'worker') {
      const app = buildApp({
        config,
        logger,
        clock,
        connection,
        stripe,
        stripeMode,
        isDraining: () => draining,
        webhookSecret,
        // No SMTP_URL: this installation's workers catch mail locally; the pages show it.
        mailCaught: !config.mail.smtpUrl,
        // No job per webhook event: the inbox is the queue, and every worker's inbox consumer claims from it.
        metrics,
      });
      web = await listen(app, config.http.port, config.http.host);
      const server = web;
      // First of the cleanups to run: stop taking requests before anything they need goes away.
      cleanups.push(() => server.close());
    }

    // Prometheus metrics on their own port; the database's state (inbox, facts, orders, outbox) from the web role.
    if (role !== 'worker') registerStateGauges(metrics, { clock, logger });
    if (config.metrics.port !== undefined) {
      const metricsServer = await startMetricsServer(metrics, { port: config.metrics.port, host: config.metrics.host, token: config.metrics.token, logger });
      cleanups.push(() => metricsServer.close());
      logger.info({ port: metricsServer.port, token: config.metrics.token !== undefined }, 'metrics served at /metrics');
    }

    let stopping: Promise<void> | undefined;
    return {
      role,
      web,
      agenda,
      databaseDescription,
      stripeMode,
      webhookSecretSource,
      ...(mail ? { mail } : {}),
      ...(demo ? { demo } : {}),
      isDraining: () => draining,
      stop: () => {
        draining = true;
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
