import { formatMoney } from '../shared/money';

/** An amount of money in a message: integer minor units and an ISO 4217 currency. */
export interface MessageMoney {
  amountMinor: number;
  currency: string;
}

/**
 * How values read in one recipient's messages: money in their locale and the amount's own currency, dates in
 * their time zone (a calendar date such as a ship date reads as the date it is, in any zone). Only wording
 * helpers live here; what a message says is in its template.
 */
export interface MessageFormat {
  locale: string;
  timezone: string;
  /** "$24.00", "24,00 €", "￥2,400". */
  money(amount: MessageMoney): string;
  /** A calendar date `YYYY-MM-DD`: "April 1, 2026". */
  date(localDate: string): string;
  /** The day of an instant in the recipient's zone: "April 1, 2026". */
  day(instant: string | Date): string;
  /** An instant with its time in the recipient's zone: "April 1, 2026 at 9:00 AM EDT". */
  dateTime(instant: string | Date): string;
  /** "April 2026". */
  month(year: number, month: number): string;
  /** "every month", "every 2 weeks". */
  cadence(cadence: { interval: 'week' | 'month'; intervalCount: number }): string;
  /** A count with its noun: "1 point", "300 points". */
  count(n: number, one: string, many: string): string;
}

const asDate = (instant: string | Date): Date => (instant instanceof Date ? instant : new Date(instant));

export function messageFormat(locale: string, timezone: string): MessageFormat {
  const calendarDate = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' });
  const zonedDay = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: timezone });
  const zonedTime = new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    timeZoneName: 'short',
    timeZone: timezone,
  });
  const monthYear = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', timeZone: 'UTC' });
  const number = new Intl.NumberFormat(locale);
  return {
    locale,
    timezone,
    money: (amount) => formatMoney(amount.amountMinor, amount.currency, locale),
    date: (localDate) => calendarDate.format(new Date(`${localDate}T12:00:00Z`)),
    day: (instant) => zonedDay.format(asDate(instant)),
    dateTime: (instant) => zonedTime.format(asDate(instant)),
    month: (year, month) => monthYear.format(new Date(Date.UTC(year, month - 1, 15))),
    cadence: ({ interval, intervalCount }) => (intervalCount === 1 ? `every ${interval}` : `every ${intervalCount} ${interval}s`),
    count: (n, one, many) => `${number.format(n)} ${n === 1 ? one : many}`,
  };
}
