import type { CatalogPrice, StripeSync } from './catalog-price.subdocument';

/** The API view of a catalog price (plans and add-ons alike). */
export function toPriceView(price: CatalogPrice) {
  return { id: price._id, amountMinor: price.amountMinor, currency: price.currency, stripePriceId: price.stripePriceId ?? null };
}

/** The API view of where a catalog item stands with Stripe. */
export function toStripeSyncView(sync: StripeSync) {
  return { productId: sync.productId ?? null, state: sync.state, lastError: sync.lastError ?? null };
}
