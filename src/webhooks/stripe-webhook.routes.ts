import express, { Router } from 'express';
import type Stripe from 'stripe';
import { InvalidSignatureError, ServiceUnavailableError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { Clock } from '../shared/time';
import { receiveEvent } from './webhook-inbox.service';

/** Stripe rejects signatures older than this; so do we. */
const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface StripeWebhookDeps {
  clock: Clock;
  logger: Logger;
  stripe: Stripe;
  webhookSecret: string | undefined;
  /** Queues processing; when it fails the inbox sweep picks the event up. */
  enqueue: (name: string, data: Record<string, unknown>) => Promise<void>;
}

/**
 * `POST /webhooks/stripe`: verify the signature on the raw body (400 and no side effect when it is bad or
 * stale), store the event in the inbox keyed by its id (a repeated delivery is acknowledged as such),
 * queue its processing, and answer at once. The work happens in the `webhooks.process-event` job.
 */
export function stripeWebhookRoutes(deps: StripeWebhookDeps): Router {
  const router = Router();
  router.post('/webhooks/stripe', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    if (!deps.webhookSecret) throw new ServiceUnavailableError('Webhooks are not configured: set STRIPE_WEBHOOK_SECRET.');
    const signature = req.get('stripe-signature');
    if (!signature || !Buffer.isBuffer(req.body)) throw new InvalidSignatureError('The Stripe-Signature header is missing.');
    let event: Stripe.Event;
    try {
      event = deps.stripe.webhooks.constructEvent(
        req.body,
        signature,
        deps.webhookSecret,
        SIGNATURE_TOLERANCE_SECONDS,
        undefined,
        deps.clock.now().getTime(),
      );
    } catch (error) {
      throw new InvalidSignatureError(error instanceof Error ? error.message.split('\n')[0]! : 'The signature does not match.');
    }
    const fresh = await receiveEvent(deps.clock, event);
    if (fresh) {
      await deps.enqueue('webhooks.process-event', { eventId: event.id }).catch((error: unknown) => {
        deps.logger.warn({ err: error, eventId: event.id }, 'could not queue a webhook event; the inbox sweep will');
      });
    }
    res.status(200).json({ received: true, duplicate: !fresh });
  });
  return router;
}
