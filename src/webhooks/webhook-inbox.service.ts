import type Stripe from 'stripe';
import { isDuplicateKeyError } from '../shared/db';
import type { Clock } from '../shared/time';
import { WebhookEventModel, type WebhookEvent } from './webhook-event.model';

/** Retries back off: 1 min, 2, 4 … capped at 1 h; after MAX_ATTEMPTS an event stays failed for a person to look at. */
export const MAX_ATTEMPTS = 10;
const BACKOFF_BASE_MS = 60_000;
const BACKOFF_CAP_MS = 3_600_000;
/** A claim older than this belongs to a worker that died; the sweep gives the event back. */
export const STUCK_AFTER_MS = 10 * 60_000;

export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

/** Stores a verified event; `false` when this event id was already received (a repeated delivery). */
export async function receiveEvent(clock: Clock, event: Stripe.Event): Promise<boolean> {
  try {
    await WebhookEventModel.create({
      _id: event.id,
      type: event.type,
      stripeCreatedAt: new Date(event.created * 1000),
      livemode: event.livemode,
      payload: JSON.parse(JSON.stringify(event)) as Record<string, unknown>,
      state: 'pending',
      attempts: 0,
      receivedAt: clock.now(),
    });
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}

/** Takes an event for processing; only one worker gets it, and never one that already succeeded. */
export async function claimEvent(clock: Clock, eventId: string): Promise<WebhookEvent | null> {
  const now = clock.now();
  return WebhookEventModel.findOneAndUpdate(
    {
      _id: eventId,
      $or: [{ state: 'pending' }, { state: 'failed', attempts: { $lt: MAX_ATTEMPTS }, nextAttemptAt: { $lte: now } }],
    },
    { $set: { state: 'processing', claimedAt: now }, $inc: { attempts: 1 } },
    { returnDocument: 'after', lean: true },
  );
}

export async function completeEvent(clock: Clock, event: WebhookEvent, merchantId: string | undefined): Promise<void> {
  await WebhookEventModel.updateOne(
    { _id: event._id, state: 'processing', attempts: event.attempts },
    { $set: { state: 'succeeded', processedAt: clock.now(), ...(merchantId ? { merchantId } : {}) }, $unset: { lastError: 1, nextAttemptAt: 1 } },
  );
}

export async function failEvent(clock: Clock, event: WebhookEvent, error: unknown): Promise<void> {
  await WebhookEventModel.updateOne(
    { _id: event._id, state: 'processing', attempts: event.attempts },
    {
      $set: {
        state: 'failed',
        lastError: error instanceof Error ? error.message : String(error),
        nextAttemptAt: new Date(clock.now().getTime() + backoffMs(event.attempts)),
      },
    },
  );
}

/**
 * Events to (re)process now: failed ones whose backoff has passed, pending ones never enqueued (or whose
 * job was lost), and ones stuck in `processing` past STUCK_AFTER_MS, which are released first.
 */
export async function dueEventIds(clock: Clock, limit = 200): Promise<string[]> {
  const now = clock.now();
  await WebhookEventModel.updateMany(
    { state: 'processing', claimedAt: { $lt: new Date(now.getTime() - STUCK_AFTER_MS) } },
    { $set: { state: 'failed', lastError: 'worker stopped while processing', nextAttemptAt: now } },
  );
  const due = await WebhookEventModel.find(
    {
      $or: [
        { state: 'pending', receivedAt: { $lt: new Date(now.getTime() - 60_000) } },
        { state: 'failed', attempts: { $lt: MAX_ATTEMPTS }, nextAttemptAt: { $lte: now } },
      ],
    },
    { _id: 1 },
  )
    .sort({ stripeCreatedAt: 1 })
    .limit(limit)
    .lean();
  return due.map((event) => event._id);
}
