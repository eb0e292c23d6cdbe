import { createHash } from 'node:crypto';
import { acceptStripeDelivery, type StripeWebhookDeps } from '../../webhooks/stripe-webhook.routes';

/**
 * What the offline simulations (checkout, card update) share: they stand in for a Stripe page on a machine
 * running against stripe-mock, and finish by sending the event Stripe would send, signed with the webhook
 * secret in force and delivered through the webhook endpoint's own path (verify, inbox, queue), so the same
 * code completes the change as in production.
 */

/** A Stripe-like id for what a simulation stands in for, stable for its subject and purpose (so a retry sends the same event). */
export function simulatedId(prefix: string, subject: string, what: string): string {
  return `${prefix}_sim${createHash('sha256').update(`${subject}:${what}`).digest('hex').slice(0, 21)}`;
}

/** Signs `object` as the event `type` Stripe would send at `at` and delivers it to our own webhook path. */
export async function deliverSimulatedEvent(deps: StripeWebhookDeps, type: string, object: Record<string, unknown>, id: string, at: Date): Promise<void> {
  const event = {
    id,
    object: 'event',
    api_version: '2026-08-26.dahlia',
    created: Math.floor(at.getTime() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
  const payload = JSON.stringify(event);
  const header = deps.stripe.webhooks.generateTestHeaderString({ payload, secret: deps.webhookSecret!, timestamp: Math.floor(at.getTime() / 1000) });
  await acceptStripeDelivery(deps, Buffer.from(payload), header);
}
