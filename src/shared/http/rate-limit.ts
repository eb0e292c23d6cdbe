import { createHash } from 'node:crypto';
import { isDuplicateKeyError } from '../db';
import { RateLimitedError } from '../errors';
import type { Clock } from '../time';
import { RateLimitWindowModel } from './rate-limit.model';

/**
 * A fixed-window counter kept in the database, so every web process shares it. One atomic `$inc` upsert
 * per request. The key is hashed: e-mail addresses and IPs are not stored in clear.
 */
export async function consumeRateLimit(clock: Clock, limit: { name: string; limit: number; windowSeconds: number }, key: string): Promise<void> {
  const now = clock.now().getTime();
  const windowMs = limit.windowSeconds * 1000;
  const windowStart = Math.floor(now / windowMs) * windowMs;
  const hashed = createHash('sha256').update(key).digest('hex').slice(0, 32);
  const id = `${limit.name}:${hashed}:${windowStart}`;
  const windowEndsAt = new Date(windowStart + windowMs);
  const increment = () =>
    RateLimitWindowModel.findOneAndUpdate(
      { _id: id },
      { $inc: { count: 1 }, $setOnInsert: { windowEndsAt } },
      { upsert: true, returnDocument: 'after', lean: true },
    );
  let window;
  try {
    window = await increment();
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    window = await increment(); // two first requests raced to insert the window
  }
  if (window && window.count > limit.limit) {
    const retryAfterSeconds = Math.max(1, Math.ceil((windowEndsAt.getTime() - now) / 1000));
    throw new RateLimitedError(`Too many attempts. Try again in ${retryAfterSeconds} s.`, retryAfterSeconds);
  }
}

export async function sweepRateLimitWindows(clock: Clock): Promise<number> {
  const result = await RateLimitWindowModel.deleteMany({ windowEndsAt: { $lt: clock.now() } });
  return result.deletedCount;
}
