import { createHash } from 'node:crypto';

/**
 * What the offline simulations (checkout, card update) share: they stand in for a Stripe page on a machine
 * running against stripe-mock, and finish by sending the event Stripe would send (`deliverSimulatedEvent`, in
 * src/webhooks/stripe-webhook.routes.ts), so the same code completes the change as in production.
 */

/** A Stripe-like id for what a simulation stands in for, stable for its subject and purpose (so a retry sends the same event). */
export function simulatedId(prefix: string, subject: string, what: string): string {
  return `${prefix}_sim${createHash('sha256').update(`${subject}:${what}`).digest('hex').slice(0, 21)}`;
}
