import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Signed, expiring, single-purpose tokens for links sent to people (in e-mails): each names one action, one
 * subject and its merchant, and when it expires; the signature (HMAC-SHA256 with the installation's secret)
 * makes it unforgeable. A link opens a page whose button acts (mail scanners open every link), and the action
 * is idempotent, so a second click says it is done. Format: `<base64url(json)>.<base64url(hmac)>`.
 */
export const ActionClaim = z.strictObject({
  /** What the link does: `subscription.skip`, `messages.unsubscribe`, `shopper.sign-in`… */
  action: z.string().min(1).max(64),
  /** The merchant the subject belongs to. */
  merchantId: z.string().min(1).max(100),
  /** What it acts on: a subscription, a customer, an order. */
  subjectId: z.string().min(1).max(100),
  /** Epoch seconds after which the link no longer works. */
  exp: z.number().int().positive(),
  /** Anything else the action needs (a cycle, a category), as strings. */
  data: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,40}$/), z.string().max(200)).optional(),
  /** Random, so two links for the same action differ (and a single-use one can be spent). */
  nonce: z.string().max(40),
});
export type ActionClaim = z.infer<typeof ActionClaim>;

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

export function signActionToken(secret: string, claim: Omit<ActionClaim, 'exp' | 'nonce'> & { expiresAt: Date }): string {
  const { expiresAt, ...rest } = claim;
  const body: ActionClaim = { ...rest, exp: Math.floor(expiresAt.getTime() / 1000), nonce: randomBytes(9).toString('base64url') };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

export type ActionTokenCheck = { ok: true; claim: ActionClaim } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'wrong_action' };

/** Checks a token's signature, shape, expiry and (when given) that it is for `action`. */
export function verifyActionToken(secret: string, token: string, now: Date, action?: string): ActionTokenCheck {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined || token.length > 2000) return { ok: false, reason: 'malformed' };
  const expected = mac(secret, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const claim = ActionClaim.safeParse(parsed);
  if (!claim.success) return { ok: false, reason: 'malformed' };
  if (claim.data.exp * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  if (action !== undefined && claim.data.action !== action) return { ok: false, reason: 'wrong_action' };
  return { ok: true, claim: claim.data };
}
