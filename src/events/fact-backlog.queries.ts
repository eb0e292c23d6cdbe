import type { WorkState } from '../shared/work-queue';
import { FactModel } from './fact.model';

/**
 * The dispatcher's backlog, for operations metrics (read at scrape time, across stores): facts whose
 * listeners have not all run. Both reads are served by the `{ state, at }` index.
 */
export const UNDISPATCHED_FACT_STATES = ['pending', 'processing', 'failed'] as const satisfies readonly WorkState[];

export function countFactsInState(state: WorkState): Promise<number> {
  return FactModel.countDocuments({ state });
}

/** When the oldest fact in this state became true (undefined when there is none). */
export async function oldestFactAt(state: WorkState): Promise<Date | undefined> {
  const oldest = await FactModel.findOne({ state }, { _id: 0, at: 1 }).sort({ at: 1 }).lean();
  return oldest?.at;
}
