import { minorDigits } from '../shared/money';
import type { Merchant } from './merchant.model';

/** The shipping a merchant charges on each box in one currency, in that currency's minor units. */
export interface ShippingFee {
  currency: string;
  amountMinor: number;
}

/** A fee is at most this many whole units of its currency ($1,000,000, ¥1,000,000): bounded in the currency's own terms. */
export const MAX_SHIPPING_FEE_UNITS = 1_000_000;

/** The largest fee in minor units of a currency: 100000000 for USD (2 digits), 1000000 for JPY (0 digits). */
export function maxShippingFeeMinor(currency: string): number {
  return MAX_SHIPPING_FEE_UNITS * 10 ** minorDigits(currency);
}

/**
 * The merchant's shipping fees, one per currency. A document saved before fees were per currency holds one
 * `shippingFeeMinor` for every currency: it reads as the fee of the merchant's default currency (0: none),
 * until the merchant sets a list, which removes it.
 */
export function shippingFeesOf(merchant: Pick<Merchant, 'defaultCurrency' | 'subscriptionSettings'>): ShippingFee[] {
  const settings = merchant.subscriptionSettings ?? {};
  if (settings.shippingFees) return settings.shippingFees.map((fee) => ({ currency: fee.currency, amountMinor: fee.amountMinor }));
  const legacy = settings.shippingFeeMinor ?? 0;
  return legacy > 0 ? [{ currency: merchant.defaultCurrency, amountMinor: legacy }] : [];
}

/**
 * The fee on a box paid in `currency`: the merchant's fee for that currency, and none when the merchant set
 * no fee for it (shipping included, as a fee of 0 says explicitly). A fee is never converted or reused
 * from another currency.
 */
export function shippingFeeFor(merchant: Pick<Merchant, 'defaultCurrency' | 'subscriptionSettings'>, currency: string): number {
  return shippingFeesOf(merchant).find((fee) => fee.currency === currency)?.amountMinor ?? 0;
}
