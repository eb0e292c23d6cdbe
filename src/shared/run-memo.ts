/**
 * Reads that are the same for every item of one run of a job (a merchant's profile, a plan, the active perks),
 * made once per run instead of once per item. A memo is made at the start of a run (or of each batch) and
 * dropped at its end: never module-level, so one run never serves another's data. Keys name what is read and
 * the merchant it belongs to (`plan:<merchant>:<plan>`). A read that fails is forgotten, so the next asks
 * again. The values are shared: callers read them and never change them.
 */
export interface RunMemo {
  <T>(key: string, read: () => Promise<T>): Promise<T>;
  /** The batch's subscriptions, when the memo is a batch's (`batchMemo`): see `batchShare`. */
  readonly batch?: BatchMembers;
}

/** A memo for one run. */
function runMemo(): RunMemo {
  const values = new Map<string, Promise<unknown>>();
  return <T>(key: string, read: () => Promise<T>): Promise<T> => {
    const known = values.get(key);
    if (known) return known as Promise<T>;
    const reading = read();
    values.set(key, reading);
    reading.catch(() => values.delete(key));
    return reading;
  };
}

/** No memo: every read goes to the database (a single preparation outside a run, the API). */
export const readEveryTime: RunMemo = (_key, read) => read();

/**
 * The subscriptions a batch works on, by store: reads of one document per box (the shopper, the cycle's gift, the
 * free items waiting, the paid boxes) are made once for the whole batch with `$in`, and each box takes its part
 * (`batchShare`). Only reads that no other box of the batch changes belong here: two subscriptions of one
 * shopper share a loyalty balance, so the ledger stays a read per box.
 */
export interface BatchMembers {
  subscriptionIds(merchantId: string): readonly string[];
  customerIds(merchantId: string): readonly string[];
}

/** A memo for one batch of subscriptions (`prepareDueBoxes`): `batchShare` reads for all of them at once. */
export function batchMemo(subscriptions: ReadonlyArray<{ _id: string; merchantId: string; customerId: string }>): RunMemo {
  const of = (pick: (subscription: { _id: string; customerId: string }) => string) => {
    const byStore = new Map<string, Set<string>>();
    for (const subscription of subscriptions) {
      const ids = byStore.get(subscription.merchantId) ?? new Set<string>();
      ids.add(pick(subscription));
      byStore.set(subscription.merchantId, ids);
    }
    return (merchantId: string): readonly string[] => [...(byStore.get(merchantId) ?? [])];
  };
  const memo = runMemo();
  const batch: BatchMembers = { subscriptionIds: of((s) => s._id), customerIds: of((s) => s.customerId) };
  return Object.assign(memo, { batch });
}

/**
 * One box's part of a read made once for its batch: `readMany(ids)` answers, for the batch's ids of that store
 * (its subscriptions or its customers), a map by id; a box of no batch, or one its batch does not know (a
 * preparation outside a run), reads its own with the same `readMany([id])`. `key` names the read (and what it
 * depends on beyond the ids: a cycle key, say); the merchant is added to it.
 */
export async function batchShare<V>(
  memo: RunMemo,
  key: string,
  members: keyof BatchMembers,
  merchantId: string,
  id: string,
  readMany: (ids: readonly string[]) => Promise<ReadonlyMap<string, V>>,
): Promise<V | undefined> {
  const ids = memo.batch?.[members](merchantId) ?? [];
  if (!ids.includes(id)) return (await readMany([id])).get(id);
  return (await memo(`${key}:${merchantId}`, () => readMany(ids))).get(id);
}
