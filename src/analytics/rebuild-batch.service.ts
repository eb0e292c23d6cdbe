import type { AnyBulkWriteOperation, Model } from 'mongoose';
import type { Fact } from '../events/fact.model';

/**
 * What a rebuild folds in memory and writes in bulk (src/analytics/*: `rebuildAnalytics`, `rebuildBoxKpis`).
 * A rebuild reads a store's facts in order and applies each with the listeners' own rules to state held here,
 * then writes it with `bulkWrite` in batches of WRITE_BATCH operations. Memory stays bounded: the facts are
 * read a page at a time, the states a page needs are loaded (one `_id: { $in }` read per page and collection)
 * before it is folded, and every `flushEvery` facts everything is written and forgotten.
 */
export interface RebuildBatch {
  /** Facts read and folded at a time. */
  page: number;
  /** Facts folded between two flushes. */
  flushEvery: number;
}
// A page is one read of the facts (sorted by time: on a server without the index, each read sorts what is
// left, so pages are large); a flush rewrites every subject touched since the last, so flushes are rare.
export const REBUILD_BATCH: RebuildBatch = { page: 20_000, flushEvery: 100_000 };
const WRITE_BATCH = 1_000;

// Mongoose's models are generic over their documents; these helpers only send updates by `_id`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModel = Model<any>;

/** A copy without the keys whose value is undefined (the driver would write them as null). */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Unvalidated, as the listeners' updates are (a subscription the projection keeps with an empty price id is
 * written as the listener writes it); a write the database refuses throws.
 */
async function writeInBatches(model: AnyModel, ops: AnyBulkWriteOperation[]): Promise<void> {
  for (let i = 0; i < ops.length; i += WRITE_BATCH)
    await model.bulkWrite(ops.slice(i, i + WRITE_BATCH), { ordered: false, skipValidation: true, throwOnValidationError: true });
}

interface PendingBucket {
  setOnInsert: Record<string, unknown>;
  inc: Record<string, number>;
  factIds: string[];
}

/**
 * Counters added to daily buckets, with the facts that added them, as the listeners add them one fact at a
 * time (`$inc`, and the fact's id pushed to `factIds`): a flush writes each bucket touched once, adding to what
 * an earlier flush wrote.
 */
export class BucketBatch {
  private pending = new Map<string, PendingBucket>();

  constructor(private readonly model: AnyModel) {}

  add(_id: string, setOnInsert: Record<string, unknown>, inc: Record<string, number>, factId: string): void {
    let bucket = this.pending.get(_id);
    if (!bucket) {
      bucket = { setOnInsert, inc: {}, factIds: [] };
      this.pending.set(_id, bucket);
    }
    for (const [field, amount] of Object.entries(inc)) bucket.inc[field] = (bucket.inc[field] ?? 0) + amount;
    // A fact adds to a bucket once (the listener's update is guarded on its absence); its changes come together.
    if (bucket.factIds.at(-1) !== factId) bucket.factIds.push(factId);
  }

  async flush(): Promise<void> {
    const ops: AnyBulkWriteOperation[] = [...this.pending.entries()].map(([_id, b]) => ({
      updateOne: {
        filter: { _id },
        update: { ...(Object.keys(b.inc).length > 0 ? { $inc: b.inc } : {}), $push: { factIds: { $each: b.factIds } }, $setOnInsert: b.setOnInsert },
        upsert: true,
        setDefaultsOnInsert: true,
      },
    }));
    this.pending.clear();
    await writeInBatches(this.model, ops);
  }
}

/**
 * The documents one projection keeps per subject (a subscription, a box), held while a rebuild folds facts
 * into them: loaded by `_id` before a page of facts is folded (absent: a new subject), changed in memory,
 * written when flushed (`write` makes the operation, given the facts to push to `factIds` for the projections
 * that list them), then forgotten. `factIds` are never loaded: they are only added to.
 */
export class StateBatch<S extends { _id: string }> {
  private states = new Map<string, S | null>();
  private dirty = new Set<string>();
  private newFacts = new Map<string, string[]>();

  constructor(
    private readonly model: AnyModel,
    private readonly write: (state: S, newFactIds: string[]) => AnyBulkWriteOperation,
  ) {}

  /** Reads the states of these subjects that are not held yet. */
  async load(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.states.has(id));
    for (let i = 0; i < missing.length; i += WRITE_BATCH) {
      const chunk = missing.slice(i, i + WRITE_BATCH);
      for (const id of chunk) this.states.set(id, null);
      const docs = await this.model.find({ _id: { $in: chunk } }, { factIds: 0 }).lean<S[]>();
      for (const doc of docs) this.states.set(doc._id, doc);
    }
  }

  /** The subject's state (loaded first), or undefined when it has none yet. */
  get(id: string): S | undefined {
    return this.states.get(id) ?? undefined;
  }

  set(state: S, factId?: string): void {
    this.states.set(state._id, state);
    this.dirty.add(state._id);
    if (factId) this.newFacts.set(state._id, [...(this.newFacts.get(state._id) ?? []), factId]);
  }

  async flush(): Promise<void> {
    const ops = [...this.dirty].map((id) => this.write(this.states.get(id)!, this.newFacts.get(id) ?? []));
    this.states.clear();
    this.dirty.clear();
    this.newFacts.clear();
    await writeInBatches(this.model, ops);
  }
}

/** A replacement of the whole document (for projections that keep no `factIds`). */
export function replaceWhole<S extends { _id: string }>(state: S): AnyBulkWriteOperation {
  return { replaceOne: { filter: { _id: state._id }, replacement: defined(state), upsert: true } };
}

/** A deep copy of plain objects and arrays; dates and other values are shared (never changed in place). */
function copied(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copied);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copied(v)]));
  }
  return value;
}

/**
 * Applies a single-document update ($set, $unset, $inc on dotted paths, $min, and $setOnInsert when the
 * document is new) to a plain object, as the database would: a rebuild folds in memory the very updates the
 * listeners send.
 */
export function applyUpdate<S extends object>(doc: S, update: Record<string, unknown>, isNew: boolean): S {
  const next = copied(doc) as Record<string, unknown>;
  const at = (path: string): { parent: Record<string, unknown>; key: string } => {
    const parts = path.split('.');
    let parent = next;
    for (const part of parts.slice(0, -1)) {
      if (!parent[part] || typeof parent[part] !== 'object') parent[part] = {};
      parent = parent[part] as Record<string, unknown>;
    }
    return { parent, key: parts.at(-1)! };
  };
  const fields = (op: string): Array<[string, unknown]> => Object.entries((update[op] as Record<string, unknown> | undefined) ?? {});
  if (isNew) for (const [path, value] of fields('$setOnInsert')) at(path).parent[at(path).key] = value;
  for (const [path, value] of fields('$set')) at(path).parent[at(path).key] = value;
  for (const [path] of fields('$unset')) delete at(path).parent[at(path).key];
  for (const [path, value] of fields('$inc')) {
    const { parent, key } = at(path);
    parent[key] = ((parent[key] as number | undefined) ?? 0) + (value as number);
  }
  for (const [path, value] of fields('$min')) {
    const { parent, key } = at(path);
    const current = parent[key] as Date | string | number | undefined;
    if (current === undefined || (value as Date | string | number) < current) parent[key] = value;
  }
  return next as S;
}

/** One projection's state for one store while a rebuild folds facts into it. */
export interface FoldedProjection {
  /** Loads what folding these facts needs (their subjects' states). */
  load: (facts: readonly Fact[]) => Promise<void>;
  /** Folds one fact in, in memory. */
  apply: (fact: Fact) => Promise<void>;
  /** Writes everything folded so far, and forgets it. */
  flush: () => Promise<unknown>;
}

/**
 * Folds facts, read in order, into projections: a page at a time (each projection loads what the page needs,
 * then takes the facts of its types in order), flushing every `flushEvery` facts and at the end. Returns how
 * many facts were read.
 */
export async function foldFacts(
  facts: AsyncIterable<Fact>,
  batch: RebuildBatch,
  projections: ReadonlyArray<{ facts: readonly string[]; folded: FoldedProjection }>,
): Promise<number> {
  let count = 0;
  let sinceFlush = 0;
  let page: Fact[] = [];
  const foldPage = async (): Promise<void> => {
    for (const p of projections) await p.folded.load(page.filter((f) => p.facts.includes(f.type)));
    for (const fact of page) for (const p of projections) if (p.facts.includes(fact.type)) await p.folded.apply(fact);
    count += page.length;
    sinceFlush += page.length;
    page = [];
    if (sinceFlush >= batch.flushEvery) {
      for (const p of projections) await p.folded.flush();
      sinceFlush = 0;
    }
  };
  for await (const fact of facts) {
    page.push(fact);
    if (page.length >= batch.page) await foldPage();
  }
  await foldPage();
  for (const p of projections) await p.folded.flush();
  return count;
}
