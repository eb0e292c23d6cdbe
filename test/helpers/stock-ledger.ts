import { StockItemModel } from '../../src/inventory/stock-item.model';
import { BoxOrderModel } from '../../src/orders/box-order.model';

/**
 * One SKU's stock beside the merchant's box lines of that SKU (the chaos test's invariant): every unit
 * reserved in stock is one live hold and one line that records it as reserved.
 */
export async function stockBesideLines(merchantId: string, sku: string) {
  const item = await StockItemModel.findOne({ merchantId, sku }).lean();
  const orders = await BoxOrderModel.find({ merchantId }).lean();
  const lines = orders.flatMap((order) => order.lines.filter((line) => line.sku === sku));
  const count = (state: string) => lines.filter((line) => line.stock === state).length;
  return {
    onHand: item?.stock.onHand ?? 0,
    reserved: item?.stock.reserved ?? 0,
    holds: item?.stock.holds.length ?? 0,
    linesReserved: count('reserved'),
    linesConsumed: count('consumed'),
  };
}
