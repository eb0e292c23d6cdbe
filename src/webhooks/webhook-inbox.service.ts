import type Stripe from 'stripe';
import { z } from 'zod';
import { isDuplicateKeyError } from '../shared/db';
import type { Clock } from '../shared/time';
import { createWorkQueue, exponentialBackoff } from '../shared/work-queue';
import { WebhookEventModel, type WebhookEvent } from './webhook-event.model';

/**
 * The inbox's discipline is the shared work queue's (src/shared/work-queue.ts): one worker claims an event,
 * failures back off 1 min doubling to 1 h, and after MAX_ATTEMPTS an event stays failed for a person to look
 * at. A pending event whose job was lost is picked up after a minute; a claim older than STUCK_AFTER_MS
 * belongs to a worker that died and is given back.
 */
export const MAX_ATTEMPTS = 10;
export const STUCK_AFTER_MS = 10 * 60_000;
export const backoffMs = exponentialBackoff(60_000, 3_600_000);

export const inbox = createWorkQueue<WebhookEvent>(WebhookEventModel, {
  maxAttempts: MAX_ATTEMPTS,
  backoffMs,
  stuckAfterMs: STUCK_AFTER_MS,
  orderBy: 'stripeCreatedAt',
  pendingSince: 'receivedAt',
  pendingGraceMs: 60_000,
});

const MerchantId = z.string().regex(/^mer_[A-Za-z0-9]{1,64}$/);
const WithMetadata = z.object({ metadata: z.record(z.string(), z.unknown()).nullable().optional() });
const InvoiceWithMetadata = z.object({
  parent: z.object({ subscription_details: WithMetadata.nullable().optional() }).nullable().optional(),
});

/**
 * The merchant an event concerns, when the event itself says so: our Stripe objects carry
 * `metadata.boxcycle_merchant_id` (subscriptions, Checkout Sessions, payment intents…), and an invoice carries
 * its subscription's metadata under `parent.subscription_details.metadata`. Read from the parsed event, with
 * no query; undefined for a platform event (or one whose object names no merchant of ours).
 */
export function merchantNamedBy(event: { data?: { object?: unknown } }): string | undefined {
  const object = event.data?.object;
  const own = WithMetadata.safeParse(object);
  const invoice = InvoiceWithMetadata.safeParse(object);
  const candidates = [own.success ? own.data.metadata?.boxcycle_merchant_id : undefined];
  if (invoice.success) candidates.push(invoice.data.parent?.subscription_details?.metadata?.boxcycle_merchant_id);
  for (const candidate of candidates) {
    const parsed = MerchantId.safeParse(candidate);
    if (parsed.success) return parsed.data;
  }
  return undefined;
}

/** The inbox row of a verified event, new and waiting: what the endpoint stores (with the merchant the event names, if any). */
export function inboxRowOf(clock: Clock, event: Stripe.Event): WebhookEvent {
  const merchantId = merchantNamedBy(event);
  return {
    _id: event.id,
    type: event.type,
    stripeCreatedAt: new Date(event.created * 1000),
    livemode: event.livemode,
    payload: event as unknown as Record<string, unknown>,
    state: 'pending',
    attempts: 0,
    receivedAt: clock.now(),
    ...(merchantId ? { merchantId } : {}),
  };
}

/**
 * Stores a verified event; `false` when this event id was already received (a repeated delivery). One
 * insert and nothing else, because the endpoint answers Stripe only after it: the document is written with
 * the driver (no Mongoose document, casting or validation: every field is made here from a parsed, checked
 * event), and the payload is the object `constructEvent` parsed, stored as is. The row also names the merchant
 * the event concerns when the event itself tells (see merchantNamedBy; no query).
 */
export async function receiveEvent(clock: Clock, event: Stripe.Event): Promise<boolean> {
  const row = inboxRowOf(clock, event);
  try {
    await WebhookEventModel.collection.insertOne(row as unknown as Record<string, unknown>);
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}

/** Takes an event for processing; only one worker gets it, and never one that already succeeded. */
export function claimEvent(clock: Clock, eventId: string): Promise<WebhookEvent | null> {
  return inbox.claim(clock, eventId);
}

/** Takes up to `limit` events for one worker (`claimant`), oldest first: new ones and failed ones whose backoff passed. */
export function claimEvents(clock: Clock, limit: number, claimant: string): Promise<WebhookEvent[]> {
  return inbox.claimBatch(clock, limit, claimant);
}

/** Gives back events claimed but not started (a worker stopping). */
export function releaseEvents(events: WebhookEvent[]): Promise<void> {
  return inbox.release(events);
}

export async function completeEvent(clock: Clock, event: WebhookEvent, merchantId: string | undefined): Promise<void> {
  await inbox.complete(clock, event, { processedAt: clock.now(), ...(merchantId ? { merchantId } : {}) });
}

export function failEvent(clock: Clock, event: WebhookEvent, error: unknown): Promise<void> {
  return inbox.fail(clock, event, error);
}

/**
 * Events to (re)process now: failed ones whose backoff has passed, pending ones never enqueued (or whose
 * job was lost), and ones stuck in `processing` past STUCK_AFTER_MS, which are released first.
 */
export async function dueEventIds(clock: Clock, limit = 200): Promise<string[]> {
  await inbox.releaseStuck(clock);
  return inbox.dueIds(clock, limit);
}
