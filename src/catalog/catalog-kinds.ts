import { addonCatalogKind } from '../addons/addon.service';
import { planCatalogKind } from '../plans/plan.service';
import type { CatalogItem, CatalogItemKind } from './catalog-sync.service';

/** Every kind of catalog item mirrored to Stripe. */
export function catalogKinds(): Array<CatalogItemKind<CatalogItem>> {
  return [planCatalogKind as unknown as CatalogItemKind<CatalogItem>, addonCatalogKind as unknown as CatalogItemKind<CatalogItem>];
}
