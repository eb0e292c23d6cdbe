import type { StockLevel } from './stock';
import { StockItemModel } from './stock-item.model';

/**
 * What other domains may read of the stock of plan variants: narrow, merchant-scoped reads. Nothing here
 * writes; stock moves through src/inventory/stock.ts and the stock-item service.
 */

/** The stock of these SKUs that is tracked (a SKU with no stock item is not counted: always available). */
export async function stockOfSkus(merchantId: string, skus: readonly string[]): Promise<Map<string, StockLevel>> {
  if (skus.length === 0) return new Map();
  const items = await StockItemModel.find({ merchantId, sku: { $in: [...new Set(skus)] } }, { sku: 1, stock: 1 }).lean();
  return new Map(items.map((item) => [item.sku, item.stock]));
}

/** How many of the merchant's tracked SKUs have nothing left to promise (none on hand beyond what built boxes hold). */
export async function soldOutSkuCount(merchantId: string): Promise<number> {
  return StockItemModel.countDocuments({ merchantId, 'stock.onHand': { $lte: 0 } });
}
