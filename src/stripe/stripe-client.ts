import Stripe from 'stripe';
import type { Config } from '../config/config';

/**
 * The Stripe API version every request is pinned to. It is the one stripe-mock v0.203.0 embeds
 * (`2026-08-26.dahlia`, checked with `-strict-version-check`) and the one stripe@22.6.x is typed for, so
 * the types we compile against describe the objects we receive. Upgrade the three together.
 */
export const STRIPE_API_VERSION = '2026-08-26.dahlia' as const;

/**
 * The webhook signing secret used offline, next to a local stripe-mock (which sends no events): local
 * tools sign test events with it. Never used when STRIPE_WEBHOOK_SECRET is set.
 */
export const OFFLINE_WEBHOOK_SECRET = 'whsec_boxcycle_offline_local_only';

/** The key stripe-mock accepts; it never reaches Stripe. */
export const STRIPE_MOCK_KEY = 'sk_test_BoxcycleOfflineStripeMock';

/** What Stripe calls reach: the local stripe-mock, Stripe in test mode, or Stripe in live mode. */
export type StripeMode = 'stripe-mock' | 'stripe-test' | 'stripe-live';

export interface StripeTarget {
  secretKey: string;
  host?: string | undefined;
  port?: number | undefined;
  protocol?: 'http' | 'https' | undefined;
}

export function createStripeClient(target: StripeTarget): Stripe {
  const mocked = target.host !== undefined;
  return new Stripe(target.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    appInfo: { name: 'boxcycle' },
    timeout: 10_000,
    // stripe-mock answers at once and never rate-limits; against Stripe, retries reuse the idempotency key.
    maxNetworkRetries: mocked ? 0 : 2,
    ...(target.host ? { host: target.host } : {}),
    ...(target.port ? { port: target.port } : {}),
    ...(target.protocol ? { protocol: target.protocol } : {}),
  });
}

/**
 * Where Stripe calls go, from configuration alone (no local stripe-mock started). The port and protocol
 * only count together with a host: without one, calls go to Stripe itself over HTTPS.
 */
export function stripeTargetFromConfig(config: Config['stripe']): StripeTarget | undefined {
  if (!config.secretKey && !config.host) return undefined;
  if (!config.host) return { secretKey: config.secretKey ?? STRIPE_MOCK_KEY };
  return {
    secretKey: config.secretKey ?? STRIPE_MOCK_KEY,
    host: config.host,
    port: config.port,
    protocol: config.protocol,
  };
}
