import type { Model } from 'mongoose';
import { isDuplicateKeyError } from '../shared/db';
import { upsertOnce } from './upsert-once';

/**
 * Buckets kept by difference (the retention cohorts and saves, src/analytics/retention-projection.service.ts; the
 * first-box waits, src/analytics/box-kpis.service.ts). A subject's document (a subscription's) says what it
 * contributes to which buckets, as a pure function of the document; a fact changes the buckets by the
 * difference between the contribution after it and before it. The subject's update is conditional on the
 * `rev` it was read at (`updateAtRev`), so the difference is the one of the update really made, and carries
 * the bucket changes in `pending`, in that same single-document update; the changes are then added to their
 * buckets, each guarded on the fact's id, and pulled (`writePending`). A worker that dies in between leaves
 * them in `pending` for the fact's retry, which adds each once.
 */

/** What one fact changes in one bucket: the bucket's fields when it is new, and `$inc` as [path, amount] pairs. */
export interface BucketChange<K extends string = string> {
  kind: K;
  _id: string;
  fields: Record<string, string>;
  inc: Array<[string, number]>;
}

/** A fact's bucket changes, held on its subject's document until they are written. */
export interface PendingBucketChanges<K extends string = string> {
  factId: string;
  changes: Array<BucketChange<K>>;
}

/** What a subject adds to one bucket: the bucket's fields when new, and its counts by path. */
export interface Contribution<K extends string = string> {
  kind: K;
  fields: Record<string, string>;
  inc: Record<string, number>;
}

/** A subject's contributions, by bucket `_id`. */
export type Contributions<K extends string = string> = Map<string, Contribution<K>>;

/** Adds `amount` at `path` to the contribution to bucket `_id` (nothing for 0). */
export function contribute<K extends string>(out: Contributions<K>, kind: K, _id: string, fields: Record<string, string>, path: string, amount: number): void {
  if (amount === 0) return;
  let c = out.get(_id);
  if (!c) {
    c = { kind, fields, inc: {} };
    out.set(_id, c);
  }
  c.inc[path] = (c.inc[path] ?? 0) + amount;
}

/** The bucket changes from one contribution to the next (nothing for a bucket whose counts stay), in `_id` order. */
export function changesBetween<K extends string>(was: Contributions<K>, is: Contributions<K>): Array<BucketChange<K>> {
  const changes: Array<BucketChange<K>> = [];
  for (const _id of [...new Set([...was.keys(), ...is.keys()])].sort()) {
    const a = was.get(_id);
    const b = is.get(_id);
    const paths = [...new Set([...Object.keys(a?.inc ?? {}), ...Object.keys(b?.inc ?? {})])].sort();
    const inc = paths.map((path): [string, number] => [path, (b?.inc[path] ?? 0) - (a?.inc[path] ?? 0)]).filter(([, n]) => n !== 0);
    if (inc.length > 0) changes.push({ kind: (b ?? a)!.kind, _id, fields: (b ?? a)!.fields, inc });
  }
  return changes;
}

// Mongoose's models are generic over their documents; these helpers only send updates by `_id`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModel = Model<any>;

/** Times a listener reads and tries again when other facts of the subject are applied meanwhile. */
export const MAX_REV_ATTEMPTS = 20;

/**
 * The subject's update, conditional on the `rev` it was read at (none: the document must not exist, or have
 * no `rev` yet), with `extra` conditions. Upserted: a document changed since it was read, or inserted
 * meanwhile, collides on `_id`, and the answer is false (read it again and start over).
 */
export async function updateAtRev(
  model: AnyModel,
  _id: string,
  rev: number | undefined,
  update: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<boolean> {
  try {
    await model.updateOne({ _id, rev: rev ?? { $exists: false }, ...extra }, update, { upsert: true });
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}

/** Adds one fact's change to its bucket, once (guarded on the fact's absence from the bucket's `factIds`). */
async function applyBucketChange(model: AnyModel, factId: string, change: BucketChange): Promise<void> {
  const update = { $inc: Object.fromEntries(change.inc), $push: { factIds: factId }, $setOnInsert: change.fields };
  await upsertOnce(() => model.updateOne({ _id: change._id, factIds: { $ne: factId } }, update, { upsert: true }));
}

/** Writes the bucket changes a subject's document holds as pending (each to the bucket model of its kind), then pulls them. */
export async function writePending<K extends string>(
  subjects: AnyModel,
  subjectId: string,
  entries: ReadonlyArray<PendingBucketChanges<K>>,
  bucketsOf: (kind: K) => AnyModel,
): Promise<void> {
  for (const entry of entries) {
    for (const change of entry.changes) await applyBucketChange(bucketsOf(change.kind), entry.factId, change);
    await subjects.updateOne({ _id: subjectId }, { $pull: { pending: { factId: entry.factId } } });
  }
}
