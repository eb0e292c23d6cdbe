import { actorFor, defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import {
  CancelOrderBody,
  EmptyOrderBody,
  ListOrdersQuery,
  OrderList,
  OrderParams,
  OrderView,
  PickListQuery,
  PickListView,
  ShipOrderBody,
} from './order.schemas';
import { buildPickList, pickListCsv } from './pick-list.service';
import { getOrder, listOrders, moveOrder } from './order.service';

export function orderRoutes(deps: { clock: Clock }): RouteDefinition[] {
  const { clock } = deps;
  return [
    defineRoute({
      operationId: 'listOrders',
      method: 'get',
      path: '/orders',
      tag: 'Orders',
      summary: 'List box orders, newest first',
      description: 'One order per cycle of a subscription: built and reserved at the cut-off, paid when Stripe reports the invoice paid.',
      auth: 'merchant',
      query: ListOrdersQuery,
      response: { status: 200, description: 'A page of orders', schema: OrderList },
      handler: async ({ principal, query }) => ({ body: await listOrders(principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getPickList',
      method: 'get',
      path: '/pick-list',
      tag: 'Orders',
      summary: 'The pick list of a ship date',
      description:
        'Paid and packed boxes due to ship that day: units per SKU and every order line. `format=csv` answers text/csv (`part=lines` or `part=totals`).',
      auth: 'merchant',
      query: PickListQuery,
      response: {
        status: 200,
        description: 'The pick list',
        schema: PickListView,
        alternatives: [
          {
            mediaType: 'text/csv',
            description: 'with `format=csv`, an attachment: one row per order line (`part=lines`) or the units per SKU (`part=totals`), with a header row.',
          },
        ],
      },
      handler: async ({ principal, query }) => {
        const pickList = await buildPickList(principal!.merchantId, query.shipOn);
        if (query.format === 'json') return { body: pickList };
        return {
          body: pickList,
          headers: { 'content-disposition': `attachment; filename="pick-list-${query.shipOn}-${query.part}.csv"` },
          text: { contentType: 'text/csv; charset=utf-8', content: pickListCsv(pickList, query.part) },
        };
      },
    }),
    defineRoute({
      operationId: 'getOrder',
      method: 'get',
      path: '/orders/:id',
      tag: 'Orders',
      summary: 'Get a box order',
      auth: 'merchant',
      params: OrderParams,
      response: { status: 200, description: 'The order', schema: OrderView },
      handler: async ({ principal, params }) => ({ body: await getOrder(principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'packOrder',
      method: 'post',
      path: '/orders/:id/pack',
      tag: 'Orders',
      summary: 'Mark a paid order packed',
      auth: 'merchant',
      params: OrderParams,
      body: EmptyOrderBody,
      response: { status: 200, description: 'The order', schema: OrderView },
      handler: async ({ principal, params }) => ({ body: await moveOrder({ clock, actor: actorFor(principal) }, principal!.merchantId, params.id, 'packed') }),
    }),
    defineRoute({
      operationId: 'shipOrder',
      method: 'post',
      path: '/orders/:id/ship',
      tag: 'Orders',
      summary: 'Mark an order shipped, with its tracking',
      auth: 'merchant',
      params: OrderParams,
      body: ShipOrderBody,
      response: { status: 200, description: 'The order', schema: OrderView },
      handler: async ({ principal, params, body }) => ({
        body: await moveOrder({ clock, actor: actorFor(principal) }, principal!.merchantId, params.id, 'shipped', {
          shipment: {
            carrier: body.carrier,
            trackingNumber: body.trackingNumber,
            ...(body.trackingUrl ? { trackingUrl: body.trackingUrl } : {}),
            shippedAt: clock.now(),
          },
        }),
      }),
    }),
    defineRoute({
      operationId: 'deliverOrder',
      method: 'post',
      path: '/orders/:id/deliver',
      tag: 'Orders',
      summary: 'Mark a shipped order delivered',
      auth: 'merchant',
      params: OrderParams,
      body: EmptyOrderBody,
      response: { status: 200, description: 'The order', schema: OrderView },
      handler: async ({ principal, params }) => ({
        body: await moveOrder({ clock, actor: actorFor(principal) }, principal!.merchantId, params.id, 'delivered'),
      }),
    }),
    defineRoute({
      operationId: 'cancelOrder',
      method: 'post',
      path: '/orders/:id/cancel',
      tag: 'Orders',
      summary: 'Cancel an order that has not shipped',
      description:
        'The box will not be sent and its reserved stock returns. Refund the payment in Stripe: the refund comes back as charge.refunded and is recorded on the order.',
      auth: 'merchant',
      params: OrderParams,
      body: CancelOrderBody,
      response: { status: 200, description: 'The order', schema: OrderView },
      handler: async ({ principal, params, body }) => ({
        body: await moveOrder({ clock, actor: actorFor(principal) }, principal!.merchantId, params.id, 'cancelled', { cancellationReason: body.reason }),
      }),
    }),
  ];
}
