/**
 * Reads that are the same for every item of one run of a job (a merchant's profile, a plan, the active perks),
 * made once per run instead of once per item. A memo is made at the start of a run (or of each batch) and
 * dropped at its end: never module-level, so one run never serves another's data. Keys name what is read and
 * the merchant it belongs to (`plan:<merchant>:<plan>`). A read that fails is forgotten, so the next asks
 * again. The values are shared: callers read them and never change them.
 */
export type RunMemo = <T>(key: string, read: () => Promise<T>) => Promise<T>;

/** A memo for one run. */
export function runMemo(): RunMemo {
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
