import type { Request } from 'express';
import type { MerchantProfile } from '../../merchants/merchant.queries';
import { formatMoney } from '../../shared/money';

/** What every shopper page needs of the store's look: its name, colour and logo. */
export interface Brand {
  name: string;
  handle: string | null;
  accentColor: string;
  logoUrl: string | null;
}

const DEFAULT_ACCENT = '#1e5bb0';

export function brandOf(store: Pick<MerchantProfile, 'name' | 'handle' | 'brand'>): Brand {
  return { name: store.name, handle: store.handle ?? null, accentColor: store.brand?.accentColor ?? DEFAULT_ACCENT, logoUrl: store.brand?.logoUrl ?? null };
}

/** The shopper's language, from what their browser asks for (a valid BCP 47 tag), else English. */
export function localeOf(req: Request): string {
  for (const tag of req.acceptsLanguages()) {
    if (tag === '*') continue;
    try {
      return Intl.getCanonicalLocales(tag)[0] ?? 'en-US';
    } catch {
      // not a language tag: try the next one
    }
  }
  return 'en-US';
}

/** An amount of minor units in its currency, written the shopper's way ($24.00, 24,00 €, ¥500). */
export function money(amountMinor: number, currency: string, locale: string): string {
  return formatMoney(amountMinor, currency, locale);
}

/** A calendar date (`YYYY-MM-DD`) written the shopper's way: "Thursday, April 2". */
export function longDate(localDate: string, locale: string): string {
  const [year, month, day] = localDate.split('-').map(Number) as [number, number, number];
  return new Intl.DateTimeFormat(locale, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric', timeZone: 'UTC' }).format(
    Date.UTC(year, month - 1, day),
  );
}
