import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { Instant, StockAdjustment } from '../shared/schemas';

export const StockItemParams = z.strictObject({
  sku: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be 1-64 letters, digits, dots, dashes or underscores' }),
});

export const AdjustVariantStockBody = z
  .strictObject({
    adjustBy: StockAdjustment.describe(
      'Units to add (received) or remove (damaged, counted); the first adjustment starts tracking the SKU. Stock never goes below zero nor above 10,000,000',
    ),
    reason: z.string().trim().min(1).max(200),
  })
  .meta({ id: 'AdjustVariantStockRequest' });

export const ListStockItemsQuery = z.strictObject({ ...ListQuery });

export const StockItemView = z
  .strictObject({
    sku: z.string(),
    object: z.literal('stock_item'),
    onHand: z.number().int().describe('Units that can still be promised to boxes'),
    reserved: z.number().int().describe('Units promised to boxes built at their cut-off and not shipped yet'),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'StockItem' });
export type StockItemView = z.infer<typeof StockItemView>;

export const StockItemList = listSchema(StockItemView, 'StockItemList');
