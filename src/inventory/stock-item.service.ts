import { isPlanVariantSku } from '../plans/plan.queries';
import { InvalidStateError, NotFoundError } from '../shared/errors';
import { isDuplicateKeyError } from '../shared/db';
import { newId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso, MAX_STOCK_UNITS } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { holdsOfOrderFilter, refusedAdjustment, stockAdjustmentGuard, type StockLevel } from './stock';
import { StockItemModel, type StockItem } from './stock-item.model';

/** Where a plan variant's units are counted: for the stock holds of boxes (reserve, release, consume in stock.ts). */
export { variantStockPlace } from './stock-item.model';
import type { StockItemView } from './stock-item.schemas';

function toStockItemView(item: StockItem): StockItemView {
  return {
    sku: item.sku,
    object: 'stock_item',
    onHand: item.stock.onHand,
    reserved: item.stock.reserved ?? 0,
    createdAt: iso(item.createdAt),
    updatedAt: iso(item.updatedAt),
  };
}

export async function getStockItem(merchantId: string, sku: string): Promise<StockItemView> {
  const item = await StockItemModel.findOne({ merchantId, sku }).lean();
  if (!item) throw new NotFoundError('This SKU has no stock tracked.');
  return toStockItemView(item);
}

export async function listStockItems(merchantId: string, query: { limit: number; startingAfter?: string | undefined }) {
  const items = await StockItemModel.find({ merchantId, ...afterCursor(decodeCursor(query.startingAfter)) })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(items, query.limit, toStockItemView);
}

/**
 * Receives or removes units of a plan variant's SKU, atomically: the first receipt starts tracking it, a
 * removal never takes `onHand` below zero (units reserved for boxes are not on hand any more), and a receipt
 * never takes it above MAX_STOCK_UNITS.
 */
export async function adjustVariantStock(clock: Clock, merchantId: string, sku: string, adjustBy: number): Promise<StockItemView> {
  if (!(await isPlanVariantSku(merchantId, sku))) {
    throw new NotFoundError('No plan variant has this SKU (add-on stock is adjusted on the add-on).');
  }
  const now = clock.now();
  const updated = await StockItemModel.findOneAndUpdate(
    { merchantId, sku, ...stockAdjustmentGuard(adjustBy) },
    { $inc: { 'stock.onHand': adjustBy }, $set: { updatedAt: now } },
    { returnDocument: 'after', lean: true },
  );
  if (updated) return toStockItemView(updated);
  const current = await StockItemModel.findOne({ merchantId, sku }).lean();
  // A concurrent first receipt created it between our two reads: a receipt that fits simply adds to it.
  if (current && adjustBy > 0 && current.stock.onHand <= MAX_STOCK_UNITS - adjustBy) return adjustVariantStock(clock, merchantId, sku, adjustBy);
  if (current || adjustBy < 0) throw new InvalidStateError(refusedAdjustment(current?.stock.onHand ?? 0, adjustBy));
  try {
    const created = await StockItemModel.create({
      _id: newId('stk'),
      merchantId,
      sku,
      stock: { tracked: true, onHand: adjustBy, reserved: 0, holds: [] },
      createdAt: now,
      updatedAt: now,
    });
    return toStockItemView(created.toObject());
  } catch (error) {
    // A concurrent first receipt created it: add to it.
    if (isDuplicateKeyError(error)) return adjustVariantStock(clock, merchantId, sku, adjustBy);
    throw error;
  }
}

/** A plan variant's stock as counted now, if it is tracked. */
export async function variantStock(merchantId: string, sku: string): Promise<StockLevel | undefined> {
  return (await StockItemModel.findOne({ merchantId, sku }, { stock: 1 }).lean())?.stock;
}

/**
 * Every SKU whose stock holds `holdId`. Usually one; two racing preparations of a box can hold one line at the
 * variant and at a substitute under the same id before either records it (boxes prepared before preparation
 * attempts were numbered: since, each attempt holds under ids of its own, `variantHoldsOfOrder`).
 */
export async function skusHolding(merchantId: string, holdId: string): Promise<string[]> {
  return (await StockItemModel.find({ merchantId, 'stock.holds': holdId }, { sku: 1 }).lean()).map((item) => item.sku);
}

/** Every variant stock item holding a hold of one order, with those holds (for the sweep of holds no line records). */
export async function variantHoldsOfOrder(merchantId: string, orderId: string): Promise<Array<{ sku: string; holds: string[] }>> {
  const items = await StockItemModel.find({ merchantId, ...holdsOfOrderFilter(orderId) }, { sku: 1, stock: 1 }).lean();
  return items.map((item) => ({ sku: item.sku, holds: item.stock.holds.filter((id) => id.startsWith(`${orderId}:`)) }));
}
