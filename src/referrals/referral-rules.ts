import { randomInt } from 'node:crypto';
import type { PostalAddress } from '../customers/customer.model';
import type { HoldReason } from './referral.model';

/**
 * The pure rules of referrals: codes, and how we tell the same person (refused) from a suspicious pair
 * (held for the merchant). Refusing is for certainties; anything a real friend could also match is a hold.
 */

/** Upper case without the look-alikes 0/O and 1/I, so a code read aloud or off a screen is typed right. */
export const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const CODE_LENGTH = 8;

/** 8 characters from 32: 2^40 codes, crypto-random. */
export function newReferralCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i += 1) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** A code as typed: any case, spaces and dashes ignored (`abcd-efgh` is `ABCDEFGH`). */
export function normalizeReferralCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]+/g, '');
}

export function isReferralCode(code: string): boolean {
  return code.length === CODE_LENGTH && [...code].every((char) => CODE_ALPHABET.includes(char));
}

const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

/**
 * The mailbox an address delivers to: lower case, without a `+tag`; for Gmail (which ignores dots and has
 * two domains) without dots, on gmail.com. `Ana.Lopez+ref@GoogleMail.com` → `analopez@gmail.com`.
 */
export function normalizeEmail(email: string): string {
  const trimmed = email.trim().toLowerCase();
  const at = trimmed.lastIndexOf('@');
  if (at < 0) return trimmed;
  let local = trimmed.slice(0, at);
  let domain = trimmed.slice(at + 1);
  const plus = local.indexOf('+');
  if (plus >= 0) local = local.slice(0, plus);
  if (GMAIL_DOMAINS.has(domain)) {
    local = local.replace(/\./g, '');
    domain = 'gmail.com';
  }
  return `${local}@${domain}`;
}

function splitEmail(normalized: string): { local: string; domain: string } {
  const at = normalized.lastIndexOf('@');
  return { local: normalized.slice(0, at), domain: normalized.slice(at + 1) };
}

/** Levenshtein distance, stopping early once it exceeds `max` (we only ask "at most 1?"). */
function editDistanceAtMost(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j += 1) {
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return false;
    previous = current;
  }
  return previous[b.length]! <= max;
}

/** The shortest local part the one-edit rule applies to: `anna`/`anne` are two people more often than one. */
const MIN_LENGTH_FOR_ONE_EDIT = 6;

/**
 * Whether two addresses look like one person's: the same domain, and local parts that are near-identical
 * once normalized (see `normalizeEmail`) and stripped of `.`, `_` and `-`: equal without their digits
 * (`jane.doe`, `janedoe2`, `jane_doe84`), or one edit apart when both are at least 6 characters long
 * (`johnsmith`, `jonsmith`). Identical mailboxes are not "similar": they are the same shopper (refused).
 */
export function similarEmails(a: string, b: string): boolean {
  const x = splitEmail(normalizeEmail(a));
  const y = splitEmail(normalizeEmail(b));
  if (x.domain !== y.domain || x.local === y.local) return false;
  const bare = (local: string) => local.replace(/[._-]/g, '');
  const stem = (local: string) => bare(local).replace(/\d/g, '');
  if (stem(x.local).length > 0 && stem(x.local) === stem(y.local)) return true;
  const [p, q] = [bare(x.local), bare(y.local)];
  return Math.min(p.length, q.length) >= MIN_LENGTH_FOR_ONE_EDIT && editDistanceAtMost(p, q, 1);
}

const STREET_WORDS: Record<string, string> = {
  street: 'st',
  avenue: 'ave',
  road: 'rd',
  drive: 'dr',
  lane: 'ln',
  boulevard: 'blvd',
  court: 'ct',
  place: 'pl',
  apartment: 'apt',
  north: 'n',
  south: 's',
  east: 'e',
  west: 'w',
};

/**
 * Where a box goes, in a form two spellings of one address share: line 1 in lower case without accents or
 * punctuation and with common street words abbreviated (`1 Main Street.` = `1 main st`), the postal code
 * without spaces or dashes (a US ZIP+4 is its ZIP), and the country.
 */
export function addressKey(address: Pick<PostalAddress, 'line1' | 'postalCode' | 'country'>): string {
  const line1 = address.line1
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .map((word) => STREET_WORDS[word] ?? word)
    .join(' ');
  const country = address.country.trim().toUpperCase();
  let postalCode = address.postalCode.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (country === 'US' && /^\d{9}$/.test(postalCode)) postalCode = postalCode.slice(0, 5);
  return `${line1}|${postalCode}|${country}`;
}

export interface Party {
  customerId: string;
  email: string;
  shippingAddress: Pick<PostalAddress, 'line1' | 'postalCode' | 'country'>;
}

/** Why the friend cannot use this code at all (the same shopper), or undefined. */
export function selfReferralReason(referrer: Party, friend: Party): string | undefined {
  if (referrer.customerId === friend.customerId) return 'A shopper cannot use their own referral code.';
  if (normalizeEmail(referrer.email) === normalizeEmail(friend.email)) return 'This code belongs to the same e-mail address.';
  return undefined;
}

/** Why a referral should wait for the merchant's review; empty when nothing looks wrong. */
export function holdReasons(referrer: Party, friend: Party, referrer30DayCount: number, maxReferralsPer30Days: number): HoldReason[] {
  const reasons: HoldReason[] = [];
  if (addressKey(referrer.shippingAddress) === addressKey(friend.shippingAddress)) reasons.push('same_shipping_address');
  if (referrer30DayCount >= maxReferralsPer30Days) reasons.push('referrer_velocity');
  if (similarEmails(referrer.email, friend.email)) reasons.push('similar_email');
  return reasons;
}
