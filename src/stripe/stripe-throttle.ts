import { isDuplicateKeyError } from '../shared/db';
import { RateLimitWindowModel } from '../shared/http/rate-limit.model';
import type { StripeMode } from './stripe-client';

/** Waits, when needed, before a Stripe call so that every process together stays under a per-second budget. */
export interface StripeThrottle {
  acquire(): Promise<void>;
}

/** Reads and writes have separate budgets at Stripe, so they have separate counters here. */
export type StripeCallKind = 'read' | 'write';

/** Stripe's read limit per endpoint in test mode; live mode allows more, so this is safe in both. */
export const STRIPE_READS_PER_SECOND = 25;

/**
 * The write budget for a Stripe mode. Stripe allows 100 writes a second in live mode and 25 in test mode,
 * for every process together; we keep a fifth of it free for what people do (a swap, a skip, a new
 * subscription) while the cut-off sends its invoice items. stripe-mock has no limit: no throttle.
 */
export function stripeWritesPerSecond(mode: StripeMode): number | undefined {
  if (mode === 'stripe-live') return 80;
  if (mode === 'stripe-test') return 20;
  return undefined;
}

/**
 * A per-second counter in the database, shared by every web and worker process: at most `perSecond` calls
 * of a kind start in any wall-clock second; a caller over the limit waits for the next second and tries
 * again. It runs on real time, not the injected clock: it is about how fast requests really leave for
 * Stripe. Old windows are removed by the ops.sweep-request-records job.
 */
export function databaseThrottle(options: {
  kind: StripeCallKind;
  perSecond: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Told each time a call must wait, and how long (operations metrics). */
  onWait?: (kind: StripeCallKind, ms: number) => void;
}): StripeThrottle {
  const { kind, perSecond } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const countIn = async (second: number): Promise<number> => {
    const update = () =>
      RateLimitWindowModel.findOneAndUpdate(
        { _id: `stripe-${kind}:${second}` },
        { $inc: { count: 1 }, $setOnInsert: { windowEndsAt: new Date((second + 1) * 1000) } },
        { upsert: true, returnDocument: 'after', lean: true },
      );
    try {
      return (await update())?.count ?? 1;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      return (await update())?.count ?? 1; // two first calls of the second raced to insert it
    }
  };
  return {
    async acquire() {
      for (;;) {
        const at = now();
        const second = Math.floor(at / 1000);
        if ((await countIn(second)) <= perSecond) return;
        const wait = (second + 1) * 1000 - at;
        options.onWait?.(kind, wait);
        await sleep(wait);
      }
    },
  };
}

/** The read throttle: Stripe's test-mode read limit unless told otherwise. */
export function databaseReadThrottle(
  options: Omit<Parameters<typeof databaseThrottle>[0], 'kind' | 'perSecond'> & { perSecond?: number } = {},
): StripeThrottle {
  return databaseThrottle({ ...options, kind: 'read', perSecond: options.perSecond ?? STRIPE_READS_PER_SECOND });
}

/** Both throttles for a Stripe mode: reads always, writes only where Stripe itself answers (see stripeWritesPerSecond). */
export function stripeThrottles(
  mode: StripeMode,
  onWait: (kind: StripeCallKind, ms: number) => void,
): { readThrottle: StripeThrottle; writeThrottle?: StripeThrottle } {
  const writes = stripeWritesPerSecond(mode);
  return {
    readThrottle: databaseReadThrottle({ onWait }),
    ...(writes === undefined ? {} : { writeThrottle: databaseThrottle({ kind: 'write', perSecond: writes, onWait }) }),
  };
}
