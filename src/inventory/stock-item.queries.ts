import { StockItemModel } from './stock-item.model';

/** What other domains and pages may read of variant stock: narrow, merchant-scoped reads. */

/** How many of the merchant's tracked SKUs have nothing left to promise (none on hand beyond what built boxes hold). */
export async function soldOutSkuCount(merchantId: string): Promise<number> {
  return StockItemModel.countDocuments({ merchantId, 'stock.onHand': { $lte: 0 } });
}
