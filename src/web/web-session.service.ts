import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../shared/time';
import { WebSessionModel, type WebAudience, type WebSession } from './web-session.model';

/** How long a session lasts without use, and at the most, per audience. */
export const SESSION_LIMITS: Record<WebAudience, { idleMs: number; absoluteMs: number }> = {
  merchant: { idleMs: 12 * 3_600_000, absoluteMs: 14 * 86_400_000 },
  shopper: { idleMs: 30 * 86_400_000, absoluteMs: 180 * 86_400_000 },
};
/** A use moves the session's end at most this often (one write per five minutes, not per request). */
const TOUCH_EVERY_MS = 5 * 60_000;

const hashOf = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new session (at sign-in: a new token, so a session id fixed before sign-in is worth nothing after). */
export async function startWebSession(
  clock: Clock,
  input: { audience: WebAudience; merchantId: string; customerId?: string; email: string; userAgent?: string | undefined },
): Promise<{ token: string; session: WebSession }> {
  const token = randomBytes(32).toString('base64url');
  const now = clock.now();
  const limits = SESSION_LIMITS[input.audience];
  const session: WebSession = {
    _id: hashOf(token),
    audience: input.audience,
    merchantId: input.merchantId,
    ...(input.customerId ? { customerId: input.customerId } : {}),
    email: input.email,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + limits.idleMs),
    absoluteExpiresAt: new Date(now.getTime() + limits.absoluteMs),
    ...(input.userAgent ? { userAgent: input.userAgent.slice(0, 300) } : {}),
  };
  await WebSessionModel.create(session);
  return { token, session };
}

/** The session this token opens, if it is of this audience, not revoked and not expired; its end moves on. */
export async function findWebSession(clock: Clock, audience: WebAudience, token: string | undefined): Promise<WebSession | undefined> {
  if (!token || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  const now = clock.now();
  const session = await WebSessionModel.findOne({
    _id: hashOf(token),
    audience,
    revokedAt: { $exists: false },
    expiresAt: { $gt: now },
    absoluteExpiresAt: { $gt: now },
  }).lean();
  if (!session) return undefined;
  if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
    const expiresAt = new Date(Math.min(now.getTime() + SESSION_LIMITS[audience].idleMs, session.absoluteExpiresAt.getTime()));
    await WebSessionModel.updateOne({ _id: session._id, revokedAt: { $exists: false } }, { $set: { lastSeenAt: now, expiresAt } });
    return { ...session, lastSeenAt: now, expiresAt };
  }
  return session;
}

/** Signs this browser out. */
export async function endWebSession(clock: Clock, token: string | undefined): Promise<void> {
  if (!token) return;
  await WebSessionModel.updateOne({ _id: hashOf(token), revokedAt: { $exists: false } }, { $set: { revokedAt: clock.now() } });
}

/** Signs out every browser of this person (a merchant's staff address, or a shopper). */
export async function endAllWebSessions(
  clock: Clock,
  who: { audience: WebAudience; merchantId: string; customerId?: string; email?: string },
): Promise<number> {
  const result = await WebSessionModel.updateMany(
    {
      audience: who.audience,
      merchantId: who.merchantId,
      ...(who.customerId ? { customerId: who.customerId } : {}),
      ...(who.email ? { email: who.email } : {}),
      revokedAt: { $exists: false },
    },
    { $set: { revokedAt: clock.now() } },
  );
  return result.modifiedCount;
}

/** The sessions still open for this person (for "signed-in devices"). */
export async function openWebSessions(
  clock: Clock,
  who: { audience: WebAudience; merchantId: string; customerId?: string; email?: string },
): Promise<WebSession[]> {
  return WebSessionModel.find({
    audience: who.audience,
    merchantId: who.merchantId,
    ...(who.customerId ? { customerId: who.customerId } : {}),
    ...(who.email ? { email: who.email } : {}),
    revokedAt: { $exists: false },
    expiresAt: { $gt: clock.now() },
  })
    .sort({ lastSeenAt: -1 })
    .lean();
}
