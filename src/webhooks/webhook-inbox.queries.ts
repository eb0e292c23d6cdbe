import type { WebhookEventState } from './webhook-event.model';
import { WebhookEventModel } from './webhook-event.model';

/**
 * The inbox's depth and lag, for operations metrics (read at scrape time; the inbox is a platform record).
 * Read-only: the inbox service owns every write.
 */
export const INBOX_BACKLOG_STATES = ['pending', 'processing', 'failed'] as const satisfies readonly WebhookEventState[];

/** Served by the `{ state, nextAttemptAt }` index: a count of index keys. */
export function countInboxEventsInState(state: WebhookEventState): Promise<number> {
  return WebhookEventModel.countDocuments({ state });
}

/** When the longest-waiting pending event was received (undefined when none waits). Wants `{ state: 1, receivedAt: 1 }`. */
export async function oldestPendingEventReceivedAt(): Promise<Date | undefined> {
  const oldest = await WebhookEventModel.findOne({ state: 'pending' }, { _id: 0, receivedAt: 1 }).sort({ receivedAt: 1 }).lean();
  return oldest?.receivedAt;
}
