import { defineRoute, type RouteDefinition } from '../shared/http/route';
import { ListOrdersQuery, OrderList, OrderParams, OrderView } from './order.schemas';
import { getOrder, listOrders } from './order.service';

export function orderRoutes(): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'listOrders',
      method: 'get',
      path: '/orders',
      tag: 'Orders',
      summary: 'List box orders, newest first',
      description: 'One order per paid cycle of a subscription, made when Stripe reports the invoice paid.',
      auth: 'merchant',
      query: ListOrdersQuery,
      response: { status: 200, description: 'A page of orders', schema: OrderList },
      handler: async ({ principal, query }) => ({ body: await listOrders(principal!.merchantId, query) }),
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
  ];
}
