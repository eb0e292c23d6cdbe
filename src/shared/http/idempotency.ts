import { createHash } from 'node:crypto';
import { isDuplicateKeyError } from '../db';
import { IdempotencyInProgressError, IdempotencyKeyReusedError, ValidationError } from '../errors';
import { newId } from '../ids';
import type { Clock } from '../time';
import { IdempotencyRecordModel } from './idempotency.model';
import type { MerchantPrincipal } from './route';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Like Stripe: any printable ASCII without spaces, up to 255 characters (UUIDs recommended). */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/**
 * A request still "processing" after this long died with its process; a retry may take it over. Far above
 * the longest request (a few Stripe calls of at most 10 s, each retried twice).
 */
const ABANDONED_AFTER_MS = 5 * 60_000;

/** Stable JSON: object keys sorted, so the same body in another key order has the same fingerprint. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${path}\n${canonical(body ?? null)}`)
    .digest('hex');
}

export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!KEY_PATTERN.test(header)) {
    throw new ValidationError([{ field: 'header.idempotency-key', message: 'must be 1-255 printable ASCII characters without spaces' }]);
  }
  return header;
}

export interface IdempotencyScope {
  /** Whose stored answers a key names (the unique index is on scope and key). */
  scope: string;
  /** The key as handlers see it, to derive stable ids from: unique across every caller of one merchant. */
  handlerKey: string;
}

/**
 * Stored answers belong to the caller, never to whoever sends the same key:
 * - a merchant's secret and session keys share the merchant's scope (like Stripe's account), so a retry
 *   after a new log-in still finds the first answer;
 * - a shopper session's scope is its customer: another shopper replaying the key gets nothing of theirs,
 *   and a shopper cannot burn a key the merchant uses later;
 * - a public operation (sign-up, log-in) has no caller to scope by, so its scope is the request itself: only
 *   the same body (the same e-mail and password, the same token) finds the stored answer, which someone
 *   holding those could have obtained anyway; a stranger reusing the key starts a request of their own.
 * A key never contains a space, so the composed scopes cannot collide with a merchant's raw keys.
 */
export function idempotencyScope(principal: MerchantPrincipal | undefined, fingerprint: string, key: string): IdempotencyScope {
  if (principal && !principal.customerId) return { scope: principal.merchantId, handlerKey: key };
  const scope = principal ? `${principal.merchantId} customer ${principal.customerId}` : `public ${fingerprint}`;
  return { scope, handlerKey: `${scope} ${key}` };
}

export type IdempotencyStart = { kind: 'proceed'; recordId: string } | { kind: 'replay'; status: number; body: unknown };

/**
 * Claims a key for a request, or says what the first request with it answered. The unique index on
 * {scope, key} decides between concurrent requests: exactly one proceeds.
 */
export async function beginIdempotentRequest(clock: Clock, scope: string, key: string, fingerprint: string): Promise<IdempotencyStart> {
  const now = clock.now();
  const recordId = newId('idem');
  try {
    await IdempotencyRecordModel.create({ _id: recordId, scope, key, fingerprint, state: 'processing', createdAt: now });
    return { kind: 'proceed', recordId };
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
  const existing = await IdempotencyRecordModel.findOne({ scope, key }).lean();
  if (!existing) return beginIdempotentRequest(clock, scope, key, fingerprint); // released meanwhile
  if (existing.fingerprint !== fingerprint) {
    throw new IdempotencyKeyReusedError('This Idempotency-Key was already used with a different method, path or body. Use a new key for a new request.');
  }
  if (existing.state === 'completed') {
    return { kind: 'replay', status: existing.responseStatus ?? 200, body: existing.responseBody ?? null };
  }
  if (now.getTime() - existing.createdAt.getTime() > ABANDONED_AFTER_MS) {
    const takenOver = await IdempotencyRecordModel.updateOne(
      { _id: existing._id, state: 'processing', createdAt: existing.createdAt },
      { $set: { createdAt: now } },
    );
    if (takenOver.modifiedCount === 1) return { kind: 'proceed', recordId: existing._id };
  }
  throw new IdempotencyInProgressError('The first request with this Idempotency-Key has not finished yet. Retry shortly.');
}

export async function completeIdempotentRequest(clock: Clock, recordId: string, status: number, body: unknown): Promise<void> {
  await IdempotencyRecordModel.updateOne(
    { _id: recordId, state: 'processing' },
    { $set: { state: 'completed', responseStatus: status, responseBody: body, completedAt: clock.now() } },
  );
}

/** The request failed in a way a retry may fix (a 5xx): forget the key so the retry runs. */
export async function releaseIdempotentRequest(recordId: string): Promise<void> {
  await IdempotencyRecordModel.deleteOne({ _id: recordId, state: 'processing' });
}
