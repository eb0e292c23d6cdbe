import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import { AdjustVariantStockBody, ListStockItemsQuery, StockItemList, StockItemParams, StockItemView } from './stock-item.schemas';
import { adjustVariantStock, getStockItem, listStockItems } from './stock-item.service';

export function stockItemRoutes(deps: { clock: Clock }): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'listStockItems',
      method: 'get',
      path: '/stock-items',
      tag: 'Inventory',
      summary: "List the stock of plan variants' SKUs",
      description: 'Only tracked SKUs are listed; a variant with no stock item is always available.',
      auth: 'merchant',
      query: ListStockItemsQuery,
      response: { status: 200, description: 'A page of stock items', schema: StockItemList },
      handler: async ({ principal, query }) => ({ body: await listStockItems(principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getStockItem',
      method: 'get',
      path: '/stock-items/:sku',
      tag: 'Inventory',
      summary: "Get a variant SKU's stock",
      auth: 'merchant',
      params: StockItemParams,
      response: { status: 200, description: 'The stock item', schema: StockItemView },
      handler: async ({ principal, params }) => ({ body: await getStockItem(principal!.merchantId, params.sku) }),
    }),
    defineRoute({
      operationId: 'adjustVariantStock',
      method: 'post',
      path: '/stock-items/:sku/adjustments',
      tag: 'Inventory',
      summary: "Receive or remove units of a variant's SKU",
      description: 'The first receipt starts tracking the SKU. Atomic: concurrent adjustments and box reservations never take stock below zero.',
      auth: 'merchant',
      params: StockItemParams,
      body: AdjustVariantStockBody,
      response: { status: 200, description: 'The stock item', schema: StockItemView },
      handler: async ({ principal, params, body }) => ({ body: await adjustVariantStock(deps.clock, principal!.merchantId, params.sku, body.adjustBy) }),
    }),
  ];
}
