import express, { type Request, type RequestHandler } from 'express';
import type Stripe from 'stripe';
import { AppError, InvalidSignatureError, MalformedBodyError, ServiceUnavailableError, ValidationError } from '../shared/errors';
import { requestIdOf } from '../shared/log-context';
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
async function queueProcessing(deps: StripeWebhookDeps, eventId: string, reqId?: string): Promise<void> {
  await deps.enqueue('webhooks.process-event', { eventId }).catch((error: unknown) => {
    deps.logger.warn({ err: error, eventId, ...(reqId ? { reqId } : {}) }, 'could not queue a webhook event; the inbox consumer will take it');
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

/** Where Stripe delivers events. */
export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

/**
 * The security headers of the endpoint's answers: a JSON answer to Stripe's servers loads nothing and is never
 * framed, so a fixed, deny-all CSP replaces the pages' (which Helmet builds per request); HTTPS only, no
 * content sniffing, no cross-origin reads. The same on every answer, refusals included.
 */
const STRIPE_WEBHOOK_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
  ['strict-transport-security', 'max-age=31536000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['cross-origin-resource-policy', 'same-origin'],
];

/** The two answers, made once: Stripe reads only the status; the body says whether the event was new. */
const ANSWERS = {
  fresh: Buffer.from(JSON.stringify({ received: true, duplicate: false })),
  duplicate: Buffer.from(JSON.stringify({ received: true, duplicate: true })),
};

export interface StripeWebhookEndpointOptions {
  /** Counts each answer (latency under the route's pattern, acknowledgement by outcome): src/ops/http-metrics.ts. */
  recordAnswer: (statusCode: number, seconds: number) => void;
}

/**
 * `POST /webhooks/stripe`: verify the signature on the raw body (400 and no side effect when it is bad or
 * stale), check that the body is a Stripe event of our key's mode (400 and no side effect otherwise), store the
 * event in the inbox keyed by its id (a repeated delivery is acknowledged as such), and answer. Only then is its
 * processing queued: Stripe waits for nothing the inbox row does not already guarantee. The work happens in the
 * worker (its inbox consumer, or the `webhooks.process-event` job when one is queued).
 *
 * Mounted ahead of the pages' middleware (Helmet, pino-http, the log context, route tracking), which it does
 * not need: it sets the request id and its own security headers, and once the answer is sent it counts the
 * answer and writes the delivery's log line (request id, event id, status, time) at the level pino-http uses
 * for every other request. A refusal goes to the problem handler as any route's error does.
 */
export function stripeWebhookEndpoint(deps: StripeWebhookDeps, options: StripeWebhookEndpointOptions): RequestHandler {
  const readBody = express.raw({ type: () => true, limit: '1mb' });
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const reqId = requestIdOf(req.headers['x-request-id']);
    req.id = reqId;
    res.setHeader('x-request-id', reqId);
    for (const [name, value] of STRIPE_WEBHOOK_HEADERS) res.setHeader(name, value);
    let delivery: { eventId: string; fresh: boolean } | undefined;
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      options.recordAnswer(res.statusCode, seconds);
      logDelivery(deps.logger, req, res.statusCode, seconds, reqId, delivery);
    });
    const refuse = (error: unknown): void => {
      // The problem handler logs the refusal with the request's logger: this one names the request (and the event).
      req.log = deps.logger.child({ reqId, ...(delivery ? { eventId: delivery.eventId } : {}) });
      next(error);
    };
    readBody(req, res, (error?: unknown) => {
      if (error) return refuse(error);
      void (async () => {
        if (!deps.webhookSecret) throw new ServiceUnavailableError('Webhooks are not configured: set STRIPE_WEBHOOK_SECRET.');
        if (!Buffer.isBuffer(req.body)) throw new InvalidSignatureError('The Stripe-Signature header is missing.');
        const { fresh, eventId } = await receiveStripeDelivery(deps, req.body, req.get('stripe-signature'));
        delivery = { eventId, fresh };
        const body = fresh ? ANSWERS.fresh : ANSWERS.duplicate;
        res.statusCode = 200;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.setHeader('content-length', body.length);
        res.end(body);
        if (fresh) void queueProcessing(deps, eventId, reqId);
      })().catch(refuse);
    });
  };
}

/** One line per delivery, written after the answer: pino-http's levels (5xx error, 4xx info, else debug) and message. */
function logDelivery(
  logger: Logger,
  req: Request,
  statusCode: number,
  seconds: number,
  reqId: string,
  delivery: { eventId: string; fresh: boolean } | undefined,
): void {
  const level = statusCode >= 500 ? 'error' : statusCode >= 400 ? 'info' : 'debug';
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      reqId,
      ...(delivery ? { eventId: delivery.eventId, duplicate: !delivery.fresh } : {}),
      req: { method: req.method, url: req.originalUrl },
      res: { statusCode },
      responseTime: Math.round(seconds * 1e4) / 10,
    },
    'request completed',
  );
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
