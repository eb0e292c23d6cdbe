import { randomUUID } from 'node:crypto';
import type { Model } from 'mongoose';
import type { Clock } from './time';

/**
 * The claim / backoff / sweep discipline shared by every durable work list kept in a collection: the Stripe
 * webhook inbox and the domain facts waiting for their listeners. A document is one unit of work:
 *
 *   pending ──claim──▶ processing ──complete──▶ succeeded
 *                          │
 *                          └──fail──▶ failed ──(backoff passed)──claim──▶ processing …
 *
 * A claim is one conditional update, so exactly one worker gets an item however many ask. A claim older than
 * `stuckAfterMs` belongs to a worker that died: the sweep turns it back into `failed`, due at once. After
 * `maxAttempts` an item stays `failed` for a person to look at.
 *
 * A consumer that keeps up with a stream of items claims them a batch at a time (`claimBatch`): three round
 * trips for the batch (the pending and retryable reads side by side, the claim, the read-back) instead of one per item, and each item still goes to exactly one claimant, because the
 * claim of each document is its own conditional update.
 */
export type WorkState = 'pending' | 'processing' | 'succeeded' | 'failed';

export interface WorkItem {
  _id: string;
  state: WorkState;
  attempts: number;
  lastError?: string;
  claimedAt?: Date;
  /** Who took the item, one token per claim (`<worker>#<uuid>`): a batch claim reads back what it got by it. */
  claimedBy?: string;
  nextAttemptAt?: Date;
}

export interface WorkQueueOptions {
  maxAttempts: number;
  /** Backoff after the n-th failed attempt. */
  backoffMs: (attempts: number) => number;
  stuckAfterMs: number;
  /** The field that orders due items (oldest first). */
  orderBy: string;
  /** The date field that tells since when a pending item has waited. */
  pendingSince: string;
  /** A pending item is only picked up by the sweep after waiting this long (its own job normally takes it). */
  pendingGraceMs: number;
}

/** 1 min, 2, 4 … capped at 1 h: the backoff of the webhook inbox and of the fact dispatcher. */
export function exponentialBackoff(baseMs: number, capMs: number): (attempts: number) => number {
  return (attempts) => Math.min(capMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

export interface WorkQueue<T extends WorkItem> {
  readonly options: WorkQueueOptions;
  /** Takes an item for processing; null when it is done, claimed by another worker, or waiting for its backoff. */
  claim(clock: Clock, id: string): Promise<T | null>;
  /**
   * Takes up to `limit` claimable items, oldest first, for `claimant` (a worker's name): the ones another
   * claimant took in between are not among them. Needs a `claimedBy` field in the model's schema.
   */
  claimBatch(clock: Clock, limit: number, claimant: string): Promise<T[]>;
  /** Gives back items claimed and not started (a consumer that stops): claimable again at once, the attempt not counted. */
  release(items: T[]): Promise<void>;
  /** Records success; `set` adds fields to the same write (e.g. the merchant an event turned out to belong to). */
  complete(clock: Clock, item: T, set?: Record<string, unknown>): Promise<void>;
  /** Records a failure; the item is due again after its backoff, until maxAttempts. */
  fail(clock: Clock, item: T, error: unknown): Promise<void>;
  /** Gives back items whose worker died while processing them. */
  releaseStuck(clock: Clock): Promise<number>;
  /** Items to (re)process now, oldest first: failed ones whose backoff passed and pending ones nobody took. */
  dueIds(clock: Clock, limit: number): Promise<string[]>;
  /** The filter of items that can be claimed now (the claim's guard). */
  claimableFilter(now: Date): Record<string, unknown>;
  /**
   * Failed items whose backoff passed, first due first, up to `limit`: read by `{ state, nextAttemptAt, _id }`
   * (every work collection declares it). Callers that select work themselves read their pending items by
   * their own index and merge the two.
   */
  retryable<P extends Record<string, unknown>>(now: Date, limit: number, projection: Record<string, 1>): Promise<Array<P & { _id: string }>>;
}

/**
 * A work queue over a collection. Each such collection declares, so that every read of the queue follows an index in its order (the two
 * states are read apart, never as one `$or` whose sort no index gives):
 *  - `{ state: 1, <pendingSince>: 1, _id: 1 }`: pending items, oldest first (or the caller's own pending index);
 *  - `{ state: 1, nextAttemptAt: 1, _id: 1 }`: failed items whose backoff passed;
 *  - `{ state: 1, claimedAt: 1 }`: claims older than `stuckAfterMs` (the sweep).
 */
export function createWorkQueue<T extends WorkItem>(model: Model<T>, options: WorkQueueOptions): WorkQueue<T> {
  const claimableFilter = (now: Date): Record<string, unknown> => ({
    $or: [{ state: 'pending' }, { state: 'failed', attempts: { $lt: options.maxAttempts }, nextAttemptAt: { $lte: now } }],
  });
  const retryable = async <P extends Record<string, unknown>>(now: Date, limit: number, projection: Record<string, 1>) =>
    (await model
      .find({ state: 'failed', attempts: { $lt: options.maxAttempts }, nextAttemptAt: { $lte: now } }, projection)
      .sort({ nextAttemptAt: 1, _id: 1 })
      .limit(limit)
      .lean()) as unknown as Array<P & { _id: string }>;
  /**
   * Ids of the items due now, oldest first (by `orderBy`), up to `limit`: pending ones (received before
   * `pendingBefore`, when given) and failed ones whose backoff passed, read apart, each by its own index.
   */
  const dueItems = async (now: Date, limit: number, pendingBefore: Date | undefined): Promise<string[]> => {
    const { orderBy, pendingSince } = options;
    const [pending, failed] = await Promise.all([
      model
        .find({ state: 'pending', ...(pendingBefore ? { [pendingSince]: { $lte: pendingBefore } } : {}) }, { _id: 1, [orderBy]: 1 })
        .sort({ [pendingSince]: 1, _id: 1 })
        .limit(limit)
        .lean(),
      retryable<Record<string, unknown>>(now, limit, { _id: 1, [orderBy]: 1 }),
    ]);
    const items = [...(pending as unknown as Array<Record<string, unknown>>), ...failed];
    return items
      .sort((a, b) => compareValues(a[orderBy], b[orderBy]) || compareValues(String(a._id), String(b._id)))
      .slice(0, limit)
      .map((item) => String(item._id));
  };
  return {
    options,
    claimableFilter,
    async claimBatch(clock, limit, claimant) {
      // Without the field in the schema, Mongoose (strictQuery) would drop it from the read-back filter below,
      // and this claimant would be handed items another one took.
      if (!model.schema.path('claimedBy')) throw new Error(`${model.modelName} has no claimedBy field: it cannot be claimed in batches`);
      const now = clock.now();
      // Read as the sweep reads (pending and retryable apart, each by its index), without the sweep's grace: a
      // consumer takes new items at once.
      const ids = await dueItems(now, limit, undefined);
      if (ids.length === 0) return [];
      const token = `${claimant}#${randomUUID()}`;
      // Each document's update is atomic and re-checks that it is still claimable: two claimants never both get one.
      const claimed = await model.updateMany(
        { _id: { $in: ids }, ...claimableFilter(now) },
        { $set: { state: 'processing', claimedAt: now, claimedBy: token }, $inc: { attempts: 1 } },
      );
      if (claimed.modifiedCount === 0) return [];
      return await model.find({ _id: { $in: ids }, claimedBy: token, state: 'processing' }).lean();
    },
    async release(items) {
      for (const item of items) {
        await model.updateOne(
          { _id: item._id, state: 'processing', claimedBy: item.claimedBy, attempts: item.attempts },
          { $set: { state: 'pending' }, $inc: { attempts: -1 }, $unset: { claimedAt: 1, claimedBy: 1 } },
        );
      }
    },
    async claim(clock, id) {
      const now = clock.now();
      return await model.findOneAndUpdate(
        { _id: id, ...claimableFilter(now) },
        { $set: { state: 'processing', claimedAt: now }, $inc: { attempts: 1 } },
        { returnDocument: 'after', lean: true },
      );
    },
    async complete(_clock, item, set = {}) {
      await model.updateOne(
        { _id: item._id, state: 'processing', attempts: item.attempts },
        { $set: { state: 'succeeded', ...set }, $unset: { lastError: 1, nextAttemptAt: 1 } },
      );
    },
    async fail(clock, item, error) {
      await model.updateOne(
        { _id: item._id, state: 'processing', attempts: item.attempts },
        {
          $set: {
            state: 'failed',
            lastError: (error instanceof Error ? error.message : String(error)).slice(0, 2000),
            nextAttemptAt: new Date(clock.now().getTime() + options.backoffMs(item.attempts)),
          },
        },
      );
    },
    async releaseStuck(clock) {
      const now = clock.now();
      const result = await model.updateMany(
        { state: 'processing', claimedAt: { $lt: new Date(now.getTime() - options.stuckAfterMs) } },
        { $set: { state: 'failed', lastError: 'worker stopped while processing', nextAttemptAt: now } },
      );
      return result.modifiedCount;
    },
    retryable,
    async dueIds(clock, limit) {
      const now = clock.now();
      return await dueItems(now, limit, new Date(now.getTime() - options.pendingGraceMs));
    },
  };
}

/** Oldest first, as MongoDB sorts: dates and numbers by value, a missing value first. */
function compareValues(a: unknown, b: unknown): number {
  const key = (value: unknown): number | string =>
    value instanceof Date ? value.getTime() : typeof value === 'number' || typeof value === 'string' ? value : -Infinity;
  const x = key(a);
  const y = key(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
