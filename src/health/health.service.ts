import type mongoose from 'mongoose';
import type Stripe from 'stripe';
import type { Clock } from '../shared/time';
import { isDuplicateKeyError, pingDatabase } from '../shared/db';
import { WorkerHeartbeatModel } from './worker-heartbeat.model';

export const AGENDA_HEARTBEAT_ID = 'agenda';

export async function recordWorkerHeartbeat(clock: Clock, workerName: string): Promise<void> {
  const beatAt = clock.now();
  try {
    // Only ever moves forward: when a newer beat is stored the filter misses, the upsert's insert collides
    // on _id, and that duplicate means "a newer heartbeat is already there".
    await WorkerHeartbeatModel.updateOne({ _id: AGENDA_HEARTBEAT_ID, beatAt: { $lt: beatAt } }, { $set: { beatAt, workerName } }, { upsert: true });
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
}

export interface CheckResult {
  status: 'ok' | 'failing';
  detail?: string;
  [key: string]: unknown;
}

export interface Readiness {
  status: 'ok' | 'failing';
  checks: { database: CheckResult; stripe: CheckResult; worker: CheckResult };
}

export interface ReadinessDeps {
  clock: Clock;
  connection: mongoose.Connection;
  stripe: Stripe;
  workerStaleSeconds: number;
  /** How long a Stripe reachability result is reused, so probes do not spend Stripe's rate limit. */
  stripeCheckTtlMs?: number;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Checks the database, Stripe and the worker heartbeat; each failure is named in the result. */
export function createReadinessCheck(deps: ReadinessDeps): () => Promise<Readiness> {
  const ttl = deps.stripeCheckTtlMs ?? 30_000;
  let stripeCache: { at: number; result: CheckResult } | undefined;

  const checkDatabase = async (): Promise<CheckResult> => {
    try {
      await withTimeout(pingDatabase(deps.connection), 2_000, 'the database');
      return { status: 'ok' };
    } catch (error) {
      return { status: 'failing', detail: describe(error) };
    }
  };

  const checkStripe = async (): Promise<CheckResult> => {
    const now = deps.clock.now().getTime();
    if (stripeCache && now - stripeCache.at < ttl) return stripeCache.result;
    let result: CheckResult;
    try {
      await withTimeout(deps.stripe.balance.retrieve(), 5_000, 'Stripe');
      result = { status: 'ok', checkedAt: new Date(now).toISOString() };
    } catch (error) {
      result = { status: 'failing', detail: describe(error), checkedAt: new Date(now).toISOString() };
    }
    stripeCache = { at: now, result };
    return result;
  };

  const checkWorker = async (): Promise<CheckResult> => {
    try {
      const beat = await withTimeout(WorkerHeartbeatModel.findById(AGENDA_HEARTBEAT_ID).lean().exec(), 2_000, 'the database');
      if (!beat) return { status: 'failing', detail: 'no worker has reported yet' };
      const ageSeconds = Math.round((deps.clock.now().getTime() - beat.beatAt.getTime()) / 1000);
      const fresh = ageSeconds <= deps.workerStaleSeconds;
      return {
        status: fresh ? 'ok' : 'failing',
        lastBeatAt: beat.beatAt.toISOString(),
        ageSeconds,
        workerName: beat.workerName,
        ...(fresh ? {} : { detail: `last heartbeat ${ageSeconds} s ago (stale after ${deps.workerStaleSeconds} s)` }),
      };
    } catch (error) {
      return { status: 'failing', detail: describe(error) };
    }
  };

  return async () => {
    const [database, stripe, worker] = await Promise.all([checkDatabase(), checkStripe(), checkWorker()]);
    const status = [database, stripe, worker].every((check) => check.status === 'ok') ? 'ok' : 'failing';
    return { status, checks: { database, stripe, worker } };
  };
}
