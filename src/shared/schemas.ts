import { z } from 'zod';
import { isLocalDate, isValidTimezone } from './calendar';
import { isCountryCode } from './countries';
import { isCurrency } from './money';

/** Building blocks shared by the API schemas. */

export const Currency = z
  .string()
  .refine(isCurrency, { error: 'must be an ISO 4217 currency code in upper case, e.g. USD' })
  .describe('ISO 4217 currency code, upper case');

export const CountryCode = z
  .string()
  .refine(isCountryCode, { error: 'must be an assigned ISO 3166-1 alpha-2 country code in upper case, e.g. US' })
  .describe('ISO 3166-1 alpha-2 country code, upper case');

export const Timezone = z.string().refine(isValidTimezone, { error: 'must be an IANA time zone, e.g. America/New_York' }).describe('IANA time zone');

/**
 * The largest magnitude any integer in a request may have. Every integer field has a domain maximum well
 * below it; this ceiling (checked for every route by a test) keeps the sum of up to 90,000 of them exact
 * (below Number.MAX_SAFE_INTEGER), whatever the code adds up.
 */
export const MAX_REQUEST_INTEGER = 100_000_000_000;

/** A whole number from `min` to `max` (both within ±MAX_REQUEST_INTEGER). */
export function wholeNumber(min: number, max: number) {
  if (min < -MAX_REQUEST_INTEGER || max > MAX_REQUEST_INTEGER || min > max) throw new Error(`wholeNumber(${min}, ${max}) is outside the request limit`);
  const error = `must be a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** The most units of one SKU (an add-on or a plan variant) that can be on hand; adjustments never go beyond. */
export const MAX_STOCK_UNITS = 10_000_000;

/** Units on hand of a SKU. */
export const StockUnits = wholeNumber(0, MAX_STOCK_UNITS);

/** Units received (positive) or removed (negative); never zero. */
export const StockAdjustment = wholeNumber(-MAX_STOCK_UNITS, MAX_STOCK_UNITS).refine((n) => n !== 0, { error: 'must not be zero' });

/**
 * Names a plain object inherits or treats specially (`constructor`, `__proto__`, `toString`, `prototype`…)
 * and names Mongoose maps and MongoDB field paths refuse (`$…`, dots, NUL). A key of a record stored as a
 * map or sub-document is never one of them.
 */
const OBJECT_KEYS: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

export function isSafeRecordKey(key: string): boolean {
  return !OBJECT_KEYS.has(key) && !key.startsWith('$') && !key.includes('.') && !key.includes('\0');
}

/**
 * A record (an object used as a map: variant options) whose keys are safe to store and to read back. Every
 * record a request accepts is built with it. (`__proto__` never reaches it: the JSON body parser refuses it.)
 */
export function safeRecord<K extends z.ZodString, V extends z.ZodType>(key: K, value: V) {
  return z.record(key.refine(isSafeRecordKey, { error: 'is a reserved name (constructor, prototype, __proto__, $…, dots…)' }), value);
}

/** An amount of money in minor units (cents for USD). Never a float. */
export const AmountMinor = z
  .number()
  .int({ error: 'must be a whole number of minor units (e.g. cents)' })
  .min(0)
  .max(99_999_999_99)
  .describe('Amount in minor units of the currency (e.g. 2400 = $24.00)');

export const Email = z
  .email({ error: 'must be an e-mail address' })
  .max(254)
  .transform((value) => value.toLowerCase());

/** Our prefixed ids (`plan_…`). A path segment that is not one is simply not found. */
export function prefixedId(prefix: string) {
  return z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{20}$`), { error: `must be an id starting with ${prefix}_` });
}

/** A real calendar date within the years the calendar handles (a 2026-02-30 or a year 9999 is refused). */
export const LocalDate = z
  .string()
  .refine((value) => isLocalDate(value) && value >= '2000-01-01' && value <= '2199-12-31', { error: 'must be a real date YYYY-MM-DD between 2000 and 2199' });

export const Instant = z.iso.datetime().describe('UTC instant, ISO 8601');

/** `Date` → ISO string for responses. */
export function iso(date: Date): string;
export function iso(date: Date | undefined | null): string | null;
export function iso(date: Date | undefined | null): string | null {
  return date ? date.toISOString() : null;
}
