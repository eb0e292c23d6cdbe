import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type mongoose from 'mongoose';
import { pinoHttp } from 'pino-http';
import type Stripe from 'stripe';
import { api } from './api';
import { webPages } from './web/web';
import type { SignInMailer } from './web/shop/sign-in.pages';
import { coreAnswers } from './wiring';
import { enableInlineRelay } from './events/relay.service';
import type { Config } from './config/config';
import { apiReferencePages } from './docs/api-reference.pages';
import { healthRoutes } from './health/health.routes';
import { createReadinessCheck, type Readiness } from './health/health.service';
import { homePages } from './home/home.pages';
import type { StripeMode } from './stripe/stripe-client';
import { projectRoot } from './local/project-paths';
import { sendShopperSignIn } from './messages/message-sending.service';
import { unsubscribeRoutes } from './messages/unsubscribe.routes';
import type { Logger } from './shared/logger';
import { jsonBody } from './shared/json-body';
import { requestIdOf, runInLogContext, type LogFields } from './shared/log-context';
import { httpMetrics, webhookAnswerRecorder } from './ops/http-metrics';
import { createMetrics, throttleWaitRecorder, type Metrics } from './ops/metrics';
import { formatMoney } from './shared/money';
import { notFoundHandler, problemHandler } from './shared/problem';
import type { Clock } from './shared/time';
import { stripeThrottles } from './stripe/stripe-throttle';
import { createStripeGateway, type StripeGateway } from './stripe/stripe-gateway';
import { STRIPE_WEBHOOK_PATH, stripeWebhookEndpoint } from './webhooks/stripe-webhook.routes';

export interface AppDeps {
  config: Config;
  logger: Logger;
  clock: Clock;
  connection: mongoose.Connection;
  stripe: Stripe;
  /** Overrides the gateway built from `stripe` (tests that make Stripe fail). */
  stripeGateway?: StripeGateway;
  stripeMode: StripeMode;
  /** Overrides the readiness check (tests). */
  checkReadiness?: () => Promise<Readiness>;
  isDraining?: () => boolean;
  /** The webhook signing secret in force (configured, or the offline one next to a local stripe-mock). */
  webhookSecret?: string | undefined;
  /** Whether mail is caught on this machine (no SMTP_URL): pages say so and show it. */
  mailCaught?: boolean;
  /** Sends a shopper's sign-in e-mail (until the messages domain is wired in, tests hand it in). */
  sendSignInMail?: SignInMailer;
  /** Queues a job (Agenda's `now`); without it, the inbox sweep picks new webhook events up. */
  enqueue?: (name: string, data: Record<string, unknown>) => Promise<void>;
  /** The process's metrics (src/ops/metrics.ts); without them the app keeps a registry of its own. */
  metrics?: Metrics;
}

const version = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The web application, built from its dependencies so tests can hand it a fake clock and a test database.
 * Order: Stripe's webhook deliveries (a lean path of their own) → security headers → request id and logs →
 * JSON → API and pages → problems.
 */
export function buildApp(deps: AppDeps): Express {
  // Facts recorded while serving are copied to `events` right after their write (timelines read them at once).
  enableInlineRelay(deps.clock);
  const app = express();
  app.disable('x-powered-by');
  // Off unless TRUST_PROXY names the proxies in front: otherwise any client could set its IP with X-Forwarded-For.
  app.set('trust proxy', deps.config.http.trustProxy);
  app.set('views', path.join(projectRoot, 'views'));
  app.set('view engine', 'ejs');
  app.locals.formatMoney = formatMoney;

  const metrics = deps.metrics ?? createMetrics({ defaultMetrics: false });
  const webhooks = {
    clock: deps.clock,
    logger: deps.logger,
    stripe: deps.stripe,
    webhookSecret: deps.webhookSecret ?? deps.config.stripe.webhookSecret,
    livemode: deps.stripeMode === 'stripe-live',
    // Called once per new event (a duplicate delivery queues nothing).
    enqueue: async (name: string, data: Record<string, unknown>) => {
      if (name === 'webhooks.process-event') metrics.webhookEventsQueued.inc();
      await (deps.enqueue ?? (() => Promise.resolve()))(name, data);
    },
  };
  // First, before any other middleware: Stripe waits on this answer, and it needs none of the pages' work
  // (see stripeWebhookEndpoint for what it keeps: request id, security headers, metrics, a line per delivery).
  app.post(STRIPE_WEBHOOK_PATH, stripeWebhookEndpoint(webhooks, { recordAnswer: webhookAnswerRecorder(metrics, STRIPE_WEBHOOK_PATH) }));

  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          // Stripe.js and Checkout: scripts and frames from Stripe, API calls to Stripe, redirects after forms.
          scriptSrc: ["'self'", 'https://js.stripe.com'],
          frameSrc: ["'self'", 'https://js.stripe.com', 'https://hooks.stripe.com', 'https://checkout.stripe.com'],
          connectSrc: ["'self'", 'https://api.stripe.com'],
          formAction: ["'self'", 'https://checkout.stripe.com', 'https://billing.stripe.com'],
          imgSrc: ["'self'", 'data:', 'https://*.stripe.com'],
        },
      },
    }),
  );

  // The request id, on the answer and on every line logged while serving it (with the store once known).
  const logContext = (res: express.Response): LogFields => res.locals.logContext as LogFields;
  app.use((req, res, next) => {
    const id = requestIdOf(req.headers['x-request-id']);
    req.id = id;
    res.setHeader('x-request-id', id);
    res.locals.logContext = { reqId: id } satisfies LogFields;
    runInLogContext(logContext(res), next);
  });
  app.use(httpMetrics(metrics));

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (_req, res) => logContext(res).reqId ?? randomUUID(),
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
    }),
  );

  app.use(
    healthRoutes({
      checkReadiness:
        deps.checkReadiness ??
        createReadinessCheck({
          clock: deps.clock,
          connection: deps.connection,
          stripe: deps.stripe,
          workerStaleSeconds: deps.config.worker.staleSeconds,
        }),
      isDraining: deps.isDraining ?? (() => false),
      version,
    }),
  );

  app.use('/static', express.static(path.join(projectRoot, 'views', 'static'), { maxAge: '1h', index: false }));
  // Unsubscribe links (RFC 8058 one-click POSTs are form-encoded): before the JSON parser, with a form parser of their own.
  app.use(unsubscribeRoutes({ clock: deps.clock, appSecret: deps.config.appSecret }));
  app.use(jsonBody(deps.config.http.bodyLimit));
  // A body parser's stream callbacks lose the async context: take the request's back.
  app.use((_req, res, next) => runInLogContext(logContext(res), next));
  const gateway = deps.stripeGateway ?? createStripeGateway(deps.stripe, stripeThrottles(deps.stripeMode, throttleWaitRecorder(metrics)));
  const answers = coreAnswers({ clock: deps.clock });
  app.use(
    '/api/v1',
    api({
      clock: deps.clock,
      logger: deps.logger,
      stripe: gateway,
      version,
      publicUrl: deps.config.http.publicUrl,
      checkResponses: deps.config.env !== 'production',
    }),
  );
  app.use(apiReferencePages());
  app.use(homePages({ stripeMode: deps.stripeMode }));
  const services = { clock: deps.clock, stripe: gateway, logger: deps.logger };
  app.use(
    webPages({
      clock: deps.clock,
      config: deps.config,
      mailCaught: deps.mailCaught ?? false,
      sendSignInMail:
        deps.sendSignInMail ??
        (({ store, requestId, mail, link }) =>
          sendShopperSignIn(
            { clock: deps.clock, links: { publicUrl: deps.config.http.publicUrl, appSecret: deps.config.appSecret } },
            { merchantId: store._id, customerId: mail.customerId, requestId, link, code: mail.code, expiresAt: mail.expiresAt },
          )),
      stripeMode: deps.stripeMode,
      webhooks,
      subscriptions: { ...services, publicUrl: deps.config.http.publicUrl, questions: answers.subscriptions },
      renewals: { ...services, extras: answers.boxExtras },
    }),
  );

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
