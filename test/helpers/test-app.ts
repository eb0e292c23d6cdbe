import type { Express } from 'express';
import mongoose from 'mongoose';
import type Stripe from 'stripe';
import { buildApp } from '../../src/app';
import { FakeClock } from '../../src/shared/time';
import type { StripeMode } from '../../src/stripe/stripe-client';
import type { StripeGateway } from '../../src/stripe/stripe-gateway';
import type { SignInMailer } from '../../src/web/shop/sign-in.pages';
import { TEST_WEBHOOK_SECRET } from './stripe-events';
import { silentLogger, testConfig, testStripe } from './test-env';

export interface StripeCall {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
}

/** Records every request the SDK sends (stripe-mock keeps none): the "calls made outside" of a test. */
export function recordStripeCalls(stripe: Stripe): StripeCall[] {
  const calls: StripeCall[] = [];
  stripe.on('request', (event: { method: string; path: string; idempotency_key?: string }) => {
    calls.push({ method: event.method, path: event.path, idempotencyKey: event.idempotency_key });
  });
  return calls;
}

export interface TestApp {
  app: Express;
  clock: FakeClock;
  stripe: Stripe;
  stripeCalls: StripeCall[];
  /** Jobs the app queued (name and data); tests run the handlers themselves. */
  queued: Array<{ name: string; data: Record<string, unknown> }>;
}

/**
 * The real app on the test database and stripe-mock, with a clock the test moves. `stripeMode` (default
 * `stripe-mock`) is what the app believes it runs against: `stripe-test` shows the pages that send shoppers to
 * Stripe's own pages instead of the offline simulations (the calls still go to stripe-mock).
 */
export function buildTestApp(
  options: {
    clock?: FakeClock;
    stripeGateway?: StripeGateway;
    webhookSecret?: string | null;
    sendSignInMail?: SignInMailer;
    mailCaught?: boolean;
    stripeMode?: StripeMode;
  } = {},
): TestApp {
  const clock = options.clock ?? new FakeClock('2026-03-01T12:00:00Z');
  const stripe = testStripe();
  const stripeCalls = recordStripeCalls(stripe);
  const queued: TestApp['queued'] = [];
  const app = buildApp({
    webhookSecret: options.webhookSecret === null ? undefined : (options.webhookSecret ?? TEST_WEBHOOK_SECRET),
    enqueue: async (name, data) => {
      queued.push({ name, data });
    },
    config: testConfig(),
    logger: silentLogger,
    clock,
    connection: mongoose.connection,
    stripe,
    ...(options.stripeGateway ? { stripeGateway: options.stripeGateway } : {}),
    ...(options.sendSignInMail ? { sendSignInMail: options.sendSignInMail } : {}),
    ...(options.mailCaught ? { mailCaught: true } : {}),
    stripeMode: options.stripeMode ?? 'stripe-mock',
  });
  return { app, clock, stripe, stripeCalls, queued };
}
