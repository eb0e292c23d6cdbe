import type { Clock } from '../time';
import { IdempotencyRecordModel } from './idempotency.model';
import { sweepRateLimitWindows } from './rate-limit';

/** Idempotency keys are honoured for 48 hours (Stripe keeps its own for at least 24). */
export const IDEMPOTENCY_RETENTION_MS = 48 * 3_600_000;

/** Deletes rate-limit windows that ended and idempotency records past retention. Safe to run anywhere, any time. */
export async function sweepExpiredRequestRecords(clock: Clock): Promise<{ rateLimitWindows: number; idempotencyRecords: number }> {
  const rateLimitWindows = await sweepRateLimitWindows(clock);
  const cutoff = new Date(clock.now().getTime() - IDEMPOTENCY_RETENTION_MS);
  const idempotencyRecords = (await IdempotencyRecordModel.deleteMany({ createdAt: { $lt: cutoff } })).deletedCount;
  return { rateLimitWindows, idempotencyRecords };
}
