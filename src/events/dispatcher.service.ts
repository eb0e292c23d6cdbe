import type { Logger } from '../shared/logger';
import type { Clock } from '../shared/time';
import { createWorkQueue, exponentialBackoff } from '../shared/work-queue';
import type { StripeGateway } from '../stripe/stripe-gateway';
import { FactModel, type Fact } from './fact.model';
import type { FactType } from './fact-types';
import { relayPendingFacts } from './relay.service';

/** Where links in messages lead (PUBLIC_URL) and what signs action links (APP_SECRET; absent: the installation's own). */
export interface LinkSettings {
  publicUrl: string;
  appSecret?: string | undefined;
}

/** What a listener may use. */
export interface ListenerDeps {
  clock: Clock;
  logger: Logger;
  stripe: StripeGateway;
  /** For listeners that send messages: required by them (the worker and the test helper hand it in). */
  links?: LinkSettings;
}

/** Something that follows a fact. Runs at least once per fact and is recorded done after it succeeds: idempotent. */
export interface Listener {
  /** Stable: the dispatcher records by this name which listeners ran for a fact. */
  name: string;
  run: (deps: ListenerDeps, fact: Fact) => Promise<void>;
}

export type ListenerTable = Partial<Record<FactType, Listener[]>>;

export const MAX_FACT_ATTEMPTS = 10;

/** The webhook inbox's discipline, for facts: claim one at a time, back off 1 min doubling to 1 h, release stuck claims. */
export const factQueue = createWorkQueue<Fact>(FactModel, {
  maxAttempts: MAX_FACT_ATTEMPTS,
  backoffMs: exponentialBackoff(60_000, 3_600_000),
  stuckAfterMs: 10 * 60_000,
  orderBy: 'at',
  pendingSince: 'relayedAt',
  pendingGraceMs: 0,
});

/** An earlier fact of the same subject whose listeners have not all run (and that can still run): wait for it. */
async function hasEarlierUnsettled(fact: Pick<Fact, 'subjectId' | 'seq'>): Promise<boolean> {
  const earlier = await FactModel.exists({
    subjectId: fact.subjectId,
    seq: { $lt: fact.seq },
    $or: [{ state: { $in: ['pending', 'processing'] } }, { state: 'failed', attempts: { $lt: MAX_FACT_ATTEMPTS } }],
  });
  return earlier !== null;
}

export type DispatchOutcome = 'done' | 'waiting' | 'failed' | 'not_claimed';

/**
 * Runs the listeners of one fact that have not run yet, in the table's order. Waits (does nothing) while an
 * earlier fact of the same subject is unsettled, so each subject's facts are followed in order.
 */
export async function dispatchFact(deps: ListenerDeps, table: ListenerTable, fact: Pick<Fact, '_id' | 'subjectId' | 'seq'>): Promise<DispatchOutcome> {
  if (fact.seq > 1 && (await hasEarlierUnsettled(fact))) return 'waiting';
  const claimed = await factQueue.claim(deps.clock, fact._id);
  if (!claimed) return 'not_claimed';
  try {
    for (const listener of table[claimed.type] ?? []) {
      if (claimed.done.includes(listener.name)) continue;
      await listener.run(deps, claimed);
      await FactModel.updateOne({ _id: claimed._id, state: 'processing', attempts: claimed.attempts }, { $addToSet: { done: listener.name } });
    }
    await factQueue.complete(deps.clock, claimed, { dispatchedAt: deps.clock.now() });
    return 'done';
  } catch (error) {
    deps.logger.warn({ err: error, factId: claimed._id, type: claimed.type, attempts: claimed.attempts }, 'a listener failed; the fact will be retried');
    await factQueue.fail(deps.clock, claimed, error);
    return 'failed';
  }
}

/**
 * Follows every fact that is due: oldest first, grouped by subject and in order within it; a subject whose
 * fact failed or waits stops there, the others go on. Several workers may run it at once (claims decide).
 */
export async function dispatchDueFacts(deps: ListenerDeps, table: ListenerTable, options: { batchSize?: number } = {}): Promise<number> {
  await factQueue.releaseStuck(deps.clock);
  const limit = options.batchSize ?? 500;
  // Pending facts in the order of `{ state, at, subjectId, seq }`, failed ones whose backoff passed by `{ state, nextAttemptAt, _id }`.
  const [pending, retryable] = await Promise.all([
    FactModel.find({ state: 'pending' }, { _id: 1, at: 1, subjectId: 1, seq: 1 }).sort({ at: 1, subjectId: 1, seq: 1 }).limit(limit).lean(),
    factQueue.retryable<Pick<Fact, 'at' | 'subjectId' | 'seq'>>(deps.clock.now(), limit, { _id: 1, at: 1, subjectId: 1, seq: 1 }),
  ]);
  const due = [...pending, ...retryable]
    .sort((a, b) => a.at.getTime() - b.at.getTime() || (a.subjectId < b.subjectId ? -1 : a.subjectId > b.subjectId ? 1 : a.seq - b.seq))
    .slice(0, limit);
  const bySubject = new Map<string, Array<Pick<Fact, '_id' | 'subjectId' | 'seq'>>>();
  for (const fact of due) {
    const list = bySubject.get(fact.subjectId) ?? [];
    list.push(fact);
    bySubject.set(fact.subjectId, list);
  }
  let done = 0;
  for (const facts of bySubject.values()) {
    facts.sort((a, b) => a.seq - b.seq);
    for (const fact of facts) {
      const outcome = await dispatchFact(deps, table, fact);
      if (outcome === 'done') done += 1;
      else break;
    }
  }
  return done;
}

/**
 * Copies what waits in outboxes and follows every due fact, until nothing is left (or `maxRounds`): the
 * worker's job, and what tests call where effects are asynchronous. Returns the facts followed.
 */
export async function drainFacts(deps: ListenerDeps, table: ListenerTable, options: { maxRounds?: number } = {}): Promise<number> {
  let total = 0;
  for (let round = 0; round < (options.maxRounds ?? 50); round += 1) {
    const relayed = await relayPendingFacts(deps.clock);
    const followed = await dispatchDueFacts(deps, table);
    total += followed;
    if (relayed === 0 && followed === 0) break;
  }
  return total;
}
