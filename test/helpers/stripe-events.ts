import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';

export const TEST_WEBHOOK_SECRET = 'whsec_test_boxcycle';

/** A Stripe event envelope around an object, as Stripe sends it. */
export function buildEvent(type: string, object: Record<string, unknown>, createdAt: Date): { id: string } & Record<string, unknown> {
  return {
    id: `evt_${randomBytes(12).toString('hex')}`,
    object: 'event',
    api_version: '2026-08-26.dahlia',
    created: Math.floor(createdAt.getTime() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
}

/** The exact raw body and Stripe-Signature header Stripe would send, signed at `signedAt`. */
export function signEvent(stripe: Stripe, event: Record<string, unknown>, signedAt: Date, secret = TEST_WEBHOOK_SECRET) {
  const payload = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: Math.floor(signedAt.getTime() / 1000) });
  return { payload, header };
}
