import type { WorkState } from '../shared/work-queue';
import { MessageModel } from './message.model';

/**
 * The outbox's depth and lag, for operations metrics (read at scrape time, across stores); both served by
 * the `{ state, sendAfter }` index. `pending` waits for its first attempt, `processing` is being sent,
 * `failed` waits for a retry or, past its last attempt, for a person.
 */
export const OUTBOX_STATES = ['pending', 'processing', 'failed'] as const satisfies readonly WorkState[];

export function countMessagesInState(state: WorkState): Promise<number> {
  return MessageModel.countDocuments({ state });
}

/** When the longest-waiting message that is due was due (undefined when none is). */
export async function oldestDueMessageAt(now: Date): Promise<Date | undefined> {
  const oldest = await MessageModel.findOne({ state: 'pending', sendAfter: { $lte: now } }, { _id: 0, sendAfter: 1 })
    .sort({ sendAfter: 1 })
    .lean();
  return oldest?.sendAfter;
}
