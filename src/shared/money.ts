/**
 * Money is a safe integer of minor units plus an ISO 4217 currency. Never a float.
 * Formatting is the only place minor units become a decimal, and it is done on the string, not by division.
 */
export interface Money {
  amountMinor: number;
  currency: string;
}

/** How many minor-unit digits a currency has (USD 2, JPY 0, KWD 3), per the platform's ICU data. */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** The exact decimal string of an amount of minor units: 2400 USD → "24.00", -5 USD → "-0.05", 500 JPY → "500". */
export function toDecimalString(amountMinor: number, currency: string): string {
  if (!Number.isSafeInteger(amountMinor)) throw new RangeError(`amountMinor must be a safe integer, got ${amountMinor}`);
  const digits = minorDigits(currency);
  const sign = amountMinor < 0 ? '-' : '';
  const abs = String(Math.abs(amountMinor)).padStart(digits + 1, '0');
  return digits === 0 ? `${sign}${abs}` : `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

/**
 * The minor units a person's decimal amount stands for, exactly (done on the string): "24" or "24.00" USD → 2400,
 * "500" JPY → 500. Undefined when it is not a plain non-negative amount with at most the currency's digits
 * ("24.005" USD, "1e3", "-1", "12,50").
 */
export function fromDecimalString(text: string, currency: string): number | undefined {
  const digits = minorDigits(currency);
  const match = /^(\d{1,15})(?:\.(\d+))?$/.exec(text.trim());
  if (!match || (match[2] !== undefined && (digits === 0 || match[2].length > digits))) return undefined;
  const minor = Number(match[1]! + (match[2] ?? '').padEnd(digits, '0'));
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** For people: "$24.00", "€24,00" (locale-aware), exact for any safe integer amount. */
export function formatMoney(amountMinor: number, currency: string, locale = 'en-US'): string {
  const decimal = toDecimalString(amountMinor, currency) as `${number}`;
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(decimal);
}

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** Whether a code is an ISO 4217 currency the platform knows (upper case, e.g. USD). */
export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code);
}

/** `percent` % of an amount, rounded down to a whole minor unit (a discount never exceeds the exact share). */
export function percentOf(amountMinor: number, percent: number): number {
  if (!Number.isSafeInteger(amountMinor) || !Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`percentOf needs a safe integer amount and a whole percent 0-100, got ${amountMinor} and ${percent}`);
  }
  return Math.floor((amountMinor * percent) / 100);
}
