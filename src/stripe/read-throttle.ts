import { isDuplicateKeyError } from '../shared/db';
import { RateLimitWindowModel } from '../shared/http/rate-limit.model';

/** Waits, when needed, before a Stripe read so that every process together stays under Stripe's read limit. */
export interface ReadThrottle {
  acquire(): Promise<void>;
}

/** Stripe's limit per endpoint in test mode; live mode allows more, so this is safe in both. */
export const STRIPE_READS_PER_SECOND = 25;

/**
 * A per-second counter in the database, shared by every web and worker process: at most `perSecond` reads
 * start in any wall-clock second; a caller over the limit waits for the next second and tries again. It
 * runs on real time, not the injected clock: it is about how fast requests really leave for Stripe.
 * Old windows are removed by the ops.sweep-request-records job.
 */
export function databaseReadThrottle(
  options: {
    perSecond?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    /** Told each time a read must wait, and how long (operations metrics). */
    onWait?: (ms: number) => void;
  } = {},
): ReadThrottle {
  const perSecond = options.perSecond ?? STRIPE_READS_PER_SECOND;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const countIn = async (second: number): Promise<number> => {
    const update = () =>
      RateLimitWindowModel.findOneAndUpdate(
        { _id: `stripe-read:${second}` },
        { $inc: { count: 1 }, $setOnInsert: { windowEndsAt: new Date((second + 1) * 1000) } },
        { upsert: true, returnDocument: 'after', lean: true },
      );
    try {
      return (await update())?.count ?? 1;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      return (await update())?.count ?? 1; // two first reads of the second raced to insert it
    }
  };
  return {
    async acquire() {
      for (;;) {
        const at = now();
        const second = Math.floor(at / 1000);
        if ((await countIn(second)) <= perSecond) return;
        const wait = (second + 1) * 1000 - at;
        options.onWait?.(wait);
        await sleep(wait);
      }
    },
  };
}
