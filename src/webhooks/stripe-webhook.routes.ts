import express, { Router } from 'express';
import type Stripe from 'stripe';
import { AppError, InvalidSignatureError, MalformedBodyError, ServiceUnavailableError, ValidationError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { Clock } from '../shared/time';
import { validate } from '../shared/validate';
import { MAX_EVENT_DEPTH, nestsDeeperThan, StripeEventEnvelope } from './stripe-event.schemas';
import { receiveEvent } from './webhook-inbox.service';

/** A signed event of the other Stripe mode than the key in use (a live event on a test installation…). */
export class LivemodeMismatchError extends AppError {
  readonly status = 400;
  readonly code = 'livemode_mismatch';
  readonly title = 'The event belongs to the other Stripe mode';
}

/** Stripe rejects signatures older than this; so do we. */
const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface StripeWebhookDeps {
  clock: Clock;
  logger: Logger;
  stripe: Stripe;
  webhookSecret: string | undefined;
  /** The mode of the configured Stripe key (sk_live_/rk_live_: live; test keys and stripe-mock: test). */
  livemode: boolean;
  /** Queues processing (tests run what is queued); a no-op is fine: the worker's inbox consumer takes new events from the inbox. */
  enqueue: (name: string, data: Record<string, unknown>) => Promise<void>;
}

/**
 * What the endpoint must do before it answers: verify the signature, check the envelope and mode, store the
 * event in the inbox (one insert). Returns whether the event was new, and its id.
 */
export async function receiveStripeDelivery(
  deps: StripeWebhookDeps,
  body: Buffer,
  signature: string | undefined,
): Promise<{ fresh: boolean; eventId: string }> {
  if (!deps.webhookSecret) throw new ServiceUnavailableError('Webhooks are not configured: set STRIPE_WEBHOOK_SECRET.');
  if (!signature) throw new InvalidSignatureError('The Stripe-Signature header is missing.');
  let parsed: unknown;
  try {
    parsed = deps.stripe.webhooks.constructEvent(body, signature, deps.webhookSecret, SIGNATURE_TOLERANCE_SECONDS, undefined, deps.clock.now().getTime());
  } catch (error) {
    // The signature is checked first: a SyntaxError means a correctly signed body that is not JSON.
    if (error instanceof SyntaxError) throw new MalformedBodyError('The webhook body is not valid JSON.');
    throw new InvalidSignatureError(error instanceof Error ? error.message.split('\n')[0]! : 'The signature does not match.');
  }
  if (nestsDeeperThan(parsed, MAX_EVENT_DEPTH)) {
    throw new ValidationError([{ field: 'body', message: `nests deeper than ${MAX_EVENT_DEPTH} levels: not a Stripe event` }]);
  }
  const envelope = validate(StripeEventEnvelope, parsed, 'body');
  if (envelope.livemode !== deps.livemode) {
    throw new LivemodeMismatchError(
      deps.livemode
        ? 'This installation uses a live-mode Stripe key; a test-mode event is refused. Send test events to a test installation.'
        : 'This installation uses a test-mode Stripe key; a live-mode event is refused. Send live events to a live installation.',
    );
  }
  const event = parsed as Stripe.Event;
  return { fresh: await receiveEvent(deps.clock, event), eventId: event.id };
}

/** Queues a new event's processing; a failure is only logged: the inbox is the record, and the worker's consumer or sweep takes it. */
async function queueProcessing(deps: StripeWebhookDeps, eventId: string): Promise<void> {
  await deps.enqueue('webhooks.process-event', { eventId }).catch((error: unknown) => {
    deps.logger.warn({ err: error, eventId }, 'could not queue a webhook event; the inbox consumer will take it');
  });
}

/**
 * What the endpoint does with one delivery: verify, check, store, queue. Returns whether the event was new.
 * The offline checkout (src/web/shop) delivers its simulated Stripe events through this same path.
 */
export async function acceptStripeDelivery(deps: StripeWebhookDeps, body: Buffer, signature: string | undefined): Promise<{ fresh: boolean }> {
  const { fresh, eventId } = await receiveStripeDelivery(deps, body, signature);
  if (fresh) await queueProcessing(deps, eventId);
  return { fresh };
}

/**
 * `POST /webhooks/stripe`: verify the signature on the raw body (400 and no side effect when it is bad or
 * stale), check that the body is a Stripe event of our key's mode (400 and no side effect otherwise), store the
 * event in the inbox keyed by its id (a repeated delivery is acknowledged as such), and answer. Only then is its
 * processing queued: Stripe waits for nothing the inbox row does not already guarantee. The work happens in the
 * worker (its inbox consumer, or the `webhooks.process-event` job when one is queued).
 */
export function stripeWebhookRoutes(deps: StripeWebhookDeps): Router {
  const router = Router();
  router.post('/webhooks/stripe', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    if (!deps.webhookSecret) throw new ServiceUnavailableError('Webhooks are not configured: set STRIPE_WEBHOOK_SECRET.');
    if (!Buffer.isBuffer(req.body)) throw new InvalidSignatureError('The Stripe-Signature header is missing.');
    const { fresh, eventId } = await receiveStripeDelivery(deps, req.body, req.get('stripe-signature'));
    res.status(200).json({ received: true, duplicate: !fresh });
    if (fresh) void queueProcessing(deps, eventId);
  });
  return router;
}

/**
 * Signs `object` as the event `type` Stripe would send at `at` and delivers it to our own webhook path (verify,
 * inbox, queue), as the offline simulations (checkout, card update) and the demo store's made-up year do, so
 * the same code completes the change as in production.
 */
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
  const header = deps.stripe.webhooks.generateTestHeaderString({ payload, secret: deps.webhookSecret!, timestamp: event.created });
  await acceptStripeDelivery(deps, Buffer.from(payload), header);
}
