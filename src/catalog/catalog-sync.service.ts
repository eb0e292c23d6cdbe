import type { Model } from 'mongoose';
import type { Logger } from '../shared/logger';
import type { Clock } from '../shared/time';
import type { StripeGateway } from '../stripe/stripe-gateway';
import type { CatalogPrice, StripeSync } from './catalog-price.subdocument';

/** What plans and add-ons have in common for Stripe: a product, and prices that come and go. */
export interface CatalogItem {
  _id: string;
  merchantId: string;
  name: string;
  description: string;
  status: 'active' | 'archived';
  prices: CatalogPrice[];
  stripe: StripeSync;
  revision: number;
}

export interface CatalogSyncDeps {
  clock: Clock;
  stripe: StripeGateway;
  logger: Logger;
}

export interface CatalogItemKind<T extends CatalogItem> {
  /** `plan` or `addon`: part of every idempotency key and of the Stripe metadata. */
  kind: 'plan' | 'addon';
  model: Model<T>;
  /** The recurring interval of a price, or undefined for a one-time price. */
  recurringOf(item: T, price: CatalogPrice): { interval: 'week' | 'month'; intervalCount: number } | undefined;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Brings Stripe in line with one catalog item: creates its Product once, updates it when the item changed,
 * creates a Stripe Price for every price that has none, and deactivates the Stripe Prices of retired prices.
 * Each step records its result with a conditional update and uses an idempotency key named after the
 * step, so running this twice, or from two workers at once, makes nothing twice. A failure leaves the item
 * `pending` for the catalog sync job to retry; it never fails the merchant's request.
 */
export async function syncCatalogItemToStripe<T extends CatalogItem>(deps: CatalogSyncDeps, kind: CatalogItemKind<T>, itemId: string): Promise<void> {
  const model = kind.model as unknown as Model<CatalogItem>;
  const item = (await model.findById(itemId).lean()) as T | null;
  if (!item) return;
  const metadata = { boxcycle_merchant_id: item.merchantId, [`boxcycle_${kind.kind}_id`]: item._id };
  try {
    let productId = item.stripe.productId;
    if (!productId) {
      const product = await deps.stripe.createProduct(
        { name: item.name, ...(item.description ? { description: item.description } : {}), metadata },
        `${kind.kind}:${item._id}:product`,
      );
      await model.updateOne({ _id: item._id, 'stripe.productId': { $exists: false } }, { $set: { 'stripe.productId': product.id } });
      productId = (await model.findById(item._id, { stripe: 1 }).lean())?.stripe.productId ?? product.id;
    } else if (item.stripe.syncedRevision !== item.revision) {
      await deps.stripe.updateProduct(
        productId,
        { name: item.name, description: item.description || '', active: item.status === 'active' },
        `${kind.kind}:${item._id}:product:r${item.revision}`,
      );
    }

    // New prices first, then retire old ones: the product never goes without an active price.
    for (const price of item.prices.filter((p) => !p.stripePriceId)) {
      const recurring = kind.recurringOf(item, price);
      const created = await deps.stripe.createPrice(
        {
          productId,
          unitAmount: price.amountMinor,
          currency: price.currency,
          ...(recurring ? { recurring } : {}),
          metadata: { ...metadata, boxcycle_price_id: price._id },
        },
        `price:${price._id}:create`,
      );
      // Two racing syncs send the same idempotency key and so get the same Stripe Price: the same value.
      await model.updateOne({ _id: item._id, 'prices._id': price._id }, { $set: { 'prices.$.stripePriceId': created.id } });
      price.stripePriceId = created.id;
    }
    for (const price of item.prices.filter((p) => !p.active && p.stripePriceId && !p.stripeDeactivatedAt)) {
      await deps.stripe.deactivatePrice(price.stripePriceId!, `price:${price._id}:deactivate`);
      await model.updateOne({ _id: item._id, 'prices._id': price._id }, { $set: { 'prices.$.stripeDeactivatedAt': deps.clock.now() } });
    }

    // Synced as of the revision we read; a change made meanwhile keeps the item pending for the next run.
    await model.updateOne(
      { _id: item._id, revision: item.revision },
      { $set: { 'stripe.state': 'synced', 'stripe.syncedRevision': item.revision, 'stripe.attemptedAt': deps.clock.now() }, $unset: { 'stripe.lastError': 1 } },
    );
  } catch (error) {
    deps.logger.warn({ err: error, kind: kind.kind, itemId: item._id }, 'catalog item not synced to Stripe; the sync job will retry');
    await model.updateOne(
      { _id: item._id },
      { $set: { 'stripe.state': 'pending', 'stripe.lastError': describeError(error), 'stripe.attemptedAt': deps.clock.now() } },
    );
  }
}
