import type { CatalogItemKind, CatalogSyncDeps } from './catalog-sync.service';
import { syncCatalogItemToStripe, type CatalogItem } from './catalog-sync.service';

/** Retries every catalog item still `pending` with Stripe, oldest attempt first, a batch at a time. */
export async function syncPendingCatalogItems(deps: CatalogSyncDeps, kinds: Array<CatalogItemKind<CatalogItem>>, batchSize = 50): Promise<number> {
  let synced = 0;
  for (const kind of kinds) {
    const pending = await kind.model.find({ 'stripe.state': 'pending' }, { _id: 1 }).sort({ 'stripe.attemptedAt': 1 }).limit(batchSize).lean();
    for (const item of pending) {
      await syncCatalogItemToStripe(deps, kind, item._id);
      synced += 1;
    }
  }
  return synced;
}
