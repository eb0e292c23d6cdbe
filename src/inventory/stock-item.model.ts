import { model, Schema } from 'mongoose';
import { StockLevelSchema, type StockLevel } from './stock';

/**
 * Stock of a plan variant's SKU. A variant without a stock item is not tracked (always available).
 * Add-ons keep their stock on the add-on itself, in the same shape.
 */
export interface StockItem {
  _id: string;
  merchantId: string;
  sku: string;
  stock: StockLevel;
  createdAt: Date;
  updatedAt: Date;
}

const StockItemSchema = new Schema<StockItem>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    sku: { type: String, required: true },
    stock: { type: StockLevelSchema, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'stock_items', versionKey: false, minimize: false },
);
StockItemSchema.index({ merchantId: 1, sku: 1 }, { unique: true });
StockItemSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });

export const StockItemModel = model<StockItem>('StockItem', StockItemSchema);

/** Where a variant's units are counted. */
export function variantStockPlace(merchantId: string, sku: string) {
  return { model: StockItemModel, filter: { merchantId, sku } };
}
