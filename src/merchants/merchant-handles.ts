import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** A store's handle: its address on the storefront (`/shop/<handle>`). */
export const HANDLE_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$/;

/** Words a store may not take: paths of our own, and names that would mislead shoppers. */
const RESERVED = new Set([
  'admin',
  'api',
  'app',
  'boxcycle',
  'checkout',
  'docs',
  'help',
  'login',
  'merchant',
  'shop',
  'sign-in',
  'static',
  'stripe',
  'support',
  'www',
]);

export const Handle = z
  .string()
  .trim()
  .toLowerCase()
  .regex(HANDLE_PATTERN, { error: 'must be 3 to 40 lower-case letters, digits or dashes, starting and ending with a letter or digit' })
  .refine((value) => !RESERVED.has(value), { error: 'is reserved: choose another' })
  .describe('The store’s address on the storefront: /shop/<handle>');

/** A handle made from a store's name: "Bean & Co. Roasters" → `bean-co-roasters`. */
export function handleFrom(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 34)
    .replace(/-+$/g, '');
  const base = slug.length >= 3 ? slug : `store-${slug || 'shop'}`;
  return RESERVED.has(base) ? `${base}-store` : base;
}

/**
 * The handles to try, in order: the name's, then with -2 … -5, then with a random suffix (a common name —
 * "Coffee Club" — still finds a free address at once).
 */
export function handleCandidates(name: string, tries = 20): string[] {
  const base = handleFrom(name);
  const numbered = [base, ...[2, 3, 4, 5].map((n) => `${base}-${n}`)];
  const random = Array.from(
    { length: Math.max(0, tries - numbered.length) },
    () => `${base.slice(0, 32).replace(/-+$/, '')}-${randomBytes(4).readUInt32BE(0).toString(36)}`,
  );
  return [...numbered, ...random];
}

/** The contrast ratio of white text on this colour (#rrggbb), as WCAG 2 computes it (1 to 21). */
export function contrastWithWhite(colour: string): number {
  const channel = (hex: string): number => {
    const value = Number.parseInt(hex, 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(colour.slice(1, 3)) + 0.7152 * channel(colour.slice(3, 5)) + 0.0722 * channel(colour.slice(5, 7));
  return 1.05 / (luminance + 0.05);
}
