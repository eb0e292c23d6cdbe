import { RateLimitWindowModel } from '../../../src/shared/http/rate-limit.model';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import {
  databaseReadThrottle,
  databaseThrottle,
  STRIPE_READS_PER_SECOND,
  stripeThrottles,
  stripeWritesPerSecond,
  type StripeThrottle,
} from '../../../src/stripe/stripe-throttle';
import { testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * A time the test holds still. `sleep` records the wait and parks the caller; `wake()` moves time to the
 * earliest parked caller's wake-up and lets every caller due by then go on.
 */
function manualTime(startMs: number) {
  let t = startMs;
  const waits: number[] = [];
  const parked: Array<{ until: number; resolve: () => void }> = [];
  return {
    now: () => t,
    waits,
    parked,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        waits.push(ms);
        parked.push({ until: t + ms, resolve });
      }),
    wake: () => {
      t = Math.max(t, Math.min(...parked.map((p) => p.until)));
      for (const p of parked.filter((p) => p.until <= t)) {
        parked.splice(parked.indexOf(p), 1);
        p.resolve();
      }
    },
  };
}

/** Lets pending database round trips finish until `done()` holds (no timers: it only yields to I/O). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !done(); i += 1) await new Promise((resolve) => setImmediate(resolve));
  if (!done()) throw new Error('the callers never settled');
}

describe('databaseReadThrottle', () => {
  useTestDatabase();

  test('when 60 reads start one after another at t = 1000.2 s, then 25 pass in each second and the 26th and 51st wait for the next second', async () => {
    let t = 1_000_200;
    const waits: number[] = [];
    const admittedAt: number[] = [];
    const throttle = databaseReadThrottle({
      perSecond: 25,
      now: () => t,
      sleep: async (ms) => {
        waits.push(ms);
        t += ms;
      },
    });

    for (let i = 0; i < 60; i += 1) {
      await throttle.acquire();
      admittedAt.push(t);
    }

    expect(waits).toEqual([800, 1000]);
    expect(admittedAt.slice(0, 25)).toEqual(Array(25).fill(1_000_200));
    expect(admittedAt.slice(25, 50)).toEqual(Array(25).fill(1_001_000));
    expect(admittedAt.slice(50)).toEqual(Array(10).fill(1_002_000));
    // The counter of each second lives in the database, shared by every process (refused tries count too).
    const windows = await RateLimitWindowModel.find({ _id: { $in: ['stripe-read:1000', 'stripe-read:1001', 'stripe-read:1002'] } })
      .sort({ _id: 1 })
      .lean();
    expect(windows.map((w) => [w._id, w.count, w.windowEndsAt.toISOString()])).toEqual([
      ['stripe-read:1000', 26, new Date(1_001_000).toISOString()],
      ['stripe-read:1001', 26, new Date(1_002_000).toISOString()],
      ['stripe-read:1002', 10, new Date(1_003_000).toISOString()],
    ]);
  });

  /** Starts `n` reads at once and runs time forward, a wake-up at a time, until all got through. */
  async function raceReads(n: number, perSecond: number, startMs: number) {
    const time = manualTime(startMs);
    const throttle = databaseReadThrottle({ perSecond, now: time.now, sleep: time.sleep });
    const admittedInSecond: number[] = [];
    const wokeAt: number[] = [];
    const all = Promise.all(
      Array.from({ length: n }, async () => {
        await throttle.acquire();
        admittedInSecond.push(Math.floor(time.now() / 1000));
      }),
    );
    while (admittedInSecond.length < n) {
      await until(() => admittedInSecond.length + time.parked.length === n);
      if (time.parked.length > 0) {
        time.wake();
        wokeAt.push(time.now());
      }
    }
    await all;
    const perSecondCount = admittedInSecond.reduce<Map<number, number>>((acc, second) => acc.set(second, (acc.get(second) ?? 0) + 1), new Map());
    return { perSecondCount, waits: time.waits, wokeAt };
  }

  // The exact split depends on the counter's answers: a real mongod answers each increment with its own count;
  // the mongo-java-server stand-in may answer two racing increments with the same, later count, which only
  // ever admits fewer. What never happens, on either, is a second admitting more than the limit.
  test('when 30 reads start at once, then no second admits more than 25, the first admits at most 25, and the rest wait for the next second', async () => {
    const { perSecondCount, waits, wokeAt } = await raceReads(30, 25, 2_000_200);

    expect([...perSecondCount.values()].reduce((a, b) => a + b, 0)).toBe(30);
    expect(Math.max(...perSecondCount.values())).toBeLessThanOrEqual(25);
    expect(perSecondCount.get(2000)).toBeLessThanOrEqual(25);
    expect(perSecondCount.get(2000)! + (perSecondCount.get(2001) ?? 0)).toBe(30);
    // Every refused read waited exactly until the next second began.
    expect(waits.length).toBe(30 - perSecondCount.get(2000)!);
    expect(new Set(waits)).toEqual(new Set([800]));
    expect(wokeAt).toEqual([2_001_000]);
  });

  test('when 40 reads start at once with a limit of 10, then every second admits at most 10, each wait ends on a second boundary, and all get through', async () => {
    const { perSecondCount, wokeAt } = await raceReads(40, 10, 3_000_000);

    expect([...perSecondCount.values()].reduce((a, b) => a + b, 0)).toBe(40);
    expect(Math.max(...perSecondCount.values())).toBeLessThanOrEqual(10);
    expect(perSecondCount.size).toBeGreaterThanOrEqual(4);
    expect(wokeAt.length).toBeGreaterThanOrEqual(3);
    expect(wokeAt.every((t, i) => t % 1000 === 0 && t === 3_001_000 + i * 1000)).toBe(true);
  });

  test("when no limit is given, then it is Stripe's test-mode limit of 25 reads a second", async () => {
    expect(STRIPE_READS_PER_SECOND).toBe(25);
    let t = 4_000_999;
    const waits: number[] = [];
    const throttle = databaseReadThrottle({
      now: () => t,
      sleep: async (ms) => {
        waits.push(ms);
        t += ms;
      },
    });
    for (let i = 0; i < 26; i += 1) await throttle.acquire();
    expect(waits).toEqual([1]);
  });
});

describe('the Stripe write throttle', () => {
  useTestDatabase();

  test('when the read budget of a second is spent, then writes in that second still pass, and each kind waits only for its own budget', async () => {
    const t = 7_000_100;
    const waits: Array<{ kind: string; ms: number }> = [];
    const clock = { now: () => t, sleep: () => Promise.reject(new Error('must not wait')) };
    const reads = databaseThrottle({ kind: 'read', perSecond: 2, ...clock, onWait: (kind, ms) => waits.push({ kind, ms }) });
    const writes = databaseThrottle({ kind: 'write', perSecond: 2, ...clock, onWait: (kind, ms) => waits.push({ kind, ms }) });

    await reads.acquire();
    await reads.acquire();
    await writes.acquire();
    await writes.acquire();
    await expect(writes.acquire()).rejects.toThrow('must not wait');

    expect(waits).toEqual([{ kind: 'write', ms: 900 }]);
    expect((await RateLimitWindowModel.findById('stripe-read:7000').lean())?.count).toBe(2);
    expect((await RateLimitWindowModel.findById('stripe-write:7000').lean())?.count).toBe(3);
  });

  test("when Stripe itself answers, then writes are paced at 80 a second live and 20 in test mode (a fifth of Stripe's limits kept for people's changes); stripe-mock has no limit and no write throttle", () => {
    expect(stripeWritesPerSecond('stripe-live')).toBe(80);
    expect(stripeWritesPerSecond('stripe-test')).toBe(20);
    expect(stripeWritesPerSecond('stripe-mock')).toBeUndefined();
    expect(stripeThrottles('stripe-mock', () => undefined).writeThrottle).toBeUndefined();
    expect(stripeThrottles('stripe-test', () => undefined).writeThrottle).toBeDefined();
    expect(stripeThrottles('stripe-live', () => undefined).readThrottle).toBeDefined();
  });

  test('when the gateway has a write throttle, then every write waits on it once and reads do not', async () => {
    const counted = (): StripeThrottle & { calls: number } => {
      const throttle = {
        calls: 0,
        acquire: () => {
          throttle.calls += 1;
          return Promise.resolve();
        },
      };
      return throttle;
    };
    const readThrottle = counted();
    const writeThrottle = counted();
    const gateway = createStripeGateway(testStripe(), { readThrottle, writeThrottle });

    const customer = await gateway.createCustomer({ email: 'throttle@example.com', name: 'Tess', metadata: {} }, 'throttle-test:customer');
    await gateway.updateCustomer(customer.id, { name: 'Tess T.' }, 'throttle-test:customer:update');
    await gateway.retrievePaymentMethod('pm_card_visa');

    expect(writeThrottle.calls).toBe(2);
    expect(readThrottle.calls).toBe(1);
  });
});
