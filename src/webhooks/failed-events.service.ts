import { NotFoundError } from '../shared/errors';
import { decodeCursor, encodeCursor } from '../shared/pagination';
import type { SubscriptionSyncDeps } from '../subscriptions/subscription.service';
import { processWebhookEvent } from './process-event.service';
import { WebhookEventModel, type WebhookEvent } from './webhook-event.model';
import { inbox } from './webhook-inbox.service';

/**
 * A merchant's Stripe events that failed (the billing health page): what came, when, how often it was tried,
 * the last error, and when the sweep tries it again (never, once its attempts are spent). A person can put a
 * failed event back (replayFailedEvent): it is processed at once, with the same claim as the worker.
 */
export interface FailedEventView {
  id: string;
  type: string;
  receivedAt: Date;
  attempts: number;
  lastError: string | null;
  /** When the sweep tries it again; null when its automatic retries are spent. */
  nextAttemptAt: Date | null;
  replays: number;
}

function viewOf(event: Pick<WebhookEvent, '_id' | 'type' | 'receivedAt' | 'attempts' | 'lastError' | 'nextAttemptAt' | 'replays'>): FailedEventView {
  const retries = event.attempts < inbox.options.maxAttempts;
  return {
    id: event._id,
    type: event.type,
    receivedAt: event.receivedAt,
    attempts: event.attempts,
    lastError: event.lastError ?? null,
    nextAttemptAt: retries && event.nextAttemptAt ? event.nextAttemptAt : null,
    replays: event.replays ?? 0,
  };
}

/** The merchant's failed events, newest received first; `startingAfter` is the previous page's `nextCursor`. */
export async function listFailedEvents(
  merchantId: string,
  options: { limit: number; startingAfter?: string | undefined },
): Promise<{ data: FailedEventView[]; hasMore: boolean; nextCursor: string | null }> {
  const cursor = decodeCursor(options.startingAfter);
  // The cursor is the last event's (receivedAt, id): stable while new events arrive.
  const after = cursor ? { $or: [{ receivedAt: { $lt: cursor.createdAt } }, { receivedAt: cursor.createdAt, _id: { $lt: cursor.id } }] } : {};
  const found = await WebhookEventModel.find(
    { merchantId, state: 'failed', ...after },
    { type: 1, receivedAt: 1, attempts: 1, lastError: 1, nextAttemptAt: 1, replays: 1 },
  )
    .sort({ receivedAt: -1, _id: -1 })
    .limit(options.limit + 1)
    .lean();
  const page = found.slice(0, options.limit);
  const last = page[page.length - 1];
  return {
    data: page.map(viewOf),
    hasMore: found.length > options.limit,
    nextCursor: found.length > options.limit && last ? encodeCursor({ createdAt: last.receivedAt, _id: last._id }) : null,
  };
}

/** One event of the merchant (any state), for a receipt; undefined when it is not theirs. */
export async function merchantStripeEvent(merchantId: string, eventId: string): Promise<(FailedEventView & { state: WebhookEvent['state'] }) | undefined> {
  const event = await WebhookEventModel.findOne({ _id: eventId, merchantId }).lean();
  return event ? { ...viewOf(event), state: event.state } : undefined;
}

export type ReplayOutcome =
  /** Replayed and processed: its handler succeeded. */
  | { outcome: 'processed'; event: FailedEventView }
  /** Replayed, and its handler failed again (the sweep retries it, with fresh attempts). */
  | { outcome: 'still_failing'; event: FailedEventView }
  /** Replayed, and a worker took it first: it is being processed. */
  | { outcome: 'processing'; event: FailedEventView }
  /** It was not failed (succeeded, or being processed): nothing changed. */
  | { outcome: 'not_failed'; state: WebhookEvent['state']; event: FailedEventView };

/**
 * Puts a failed event of this merchant back and processes it now: its attempts start again from 0 and it is
 * due at once (so the sweep would take it too), then it is claimed exactly as the worker claims it — one
 * processor, whoever asks. Idempotent: an event that is not failed (processing, succeeded, pending) changes
 * nothing, and says so. Another merchant's event, or a platform event, is not found.
 */
export async function replayFailedEvent(deps: SubscriptionSyncDeps, merchantId: string, eventId: string): Promise<ReplayOutcome> {
  const now = deps.clock.now();
  const reset = await WebhookEventModel.updateOne(
    { _id: eventId, merchantId, state: 'failed' },
    { $set: { attempts: 0, nextAttemptAt: now, replayedAt: now }, $inc: { replays: 1 } },
  );
  if (reset.matchedCount === 0) {
    const event = await WebhookEventModel.findOne({ _id: eventId, merchantId }).lean();
    if (!event) throw new NotFoundError('There is no such Stripe event for this store.');
    return { outcome: 'not_failed', state: event.state, event: viewOf(event) };
  }
  deps.logger.info({ eventId, merchantId }, 'failed webhook event replayed');
  await processWebhookEvent({ clock: deps.clock, stripe: deps.stripe, logger: deps.logger }, eventId);
  const after = await WebhookEventModel.findOne({ _id: eventId, merchantId }).lean();
  if (!after) throw new NotFoundError('There is no such Stripe event for this store.');
  const event = viewOf(after);
  if (after.state === 'succeeded') return { outcome: 'processed', event };
  if (after.state === 'failed') return { outcome: 'still_failing', event };
  return { outcome: 'processing', event };
}
