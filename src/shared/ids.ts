import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Prefixed random ids (`mer_…`, `plan_…`): readable in logs, unguessable, safe in URLs. */
export function newId(prefix: string): string {
  const bytes = randomBytes(20);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return `${prefix}_${out}`;
}

/**
 * An id derived from a stable name (e.g. merchant + Idempotency-Key): the same name always gives the same
 * id, so a retried operation finds, or re-creates with the same Stripe idempotency keys, what it made before.
 */
export function derivedId(prefix: string, name: string): string {
  const digest = createHash('sha256').update(name).digest();
  let out = '';
  for (const byte of digest.subarray(0, 20)) out += ALPHABET[byte % ALPHABET.length];
  return `${prefix}_${out}`;
}
