import { FactList, listTimeline, TimelineQuery } from '../events/timeline.service';
import { actorFor, defineRoute, type RouteDefinition } from '../shared/http/route';
import { CreateCustomerBody, CustomerList, CustomerParams, CustomerView, ListCustomersQuery, UpdateCustomerBody } from './customer.schemas';
import { createCustomer, getCustomer, listCustomers, updateCustomer, type CustomerDeps } from './customer.service';

export function customerRoutes(deps: CustomerDeps): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'createCustomer',
      method: 'post',
      path: '/customers',
      tag: 'Customers',
      summary: 'Create a customer',
      description: 'Also creates the Stripe customer (with an idempotency key); if Stripe is unreachable it is created before the first charge.',
      auth: 'merchant',
      body: CreateCustomerBody,
      response: { status: 201, description: 'The customer', schema: CustomerView },
      handler: async ({ principal, body }) => ({ status: 201, body: await createCustomer(deps, principal!.merchantId, body) }),
    }),
    defineRoute({
      operationId: 'listCustomers',
      method: 'get',
      path: '/customers',
      tag: 'Customers',
      summary: 'List customers, newest first',
      auth: 'merchant',
      query: ListCustomersQuery,
      response: { status: 200, description: 'A page of customers', schema: CustomerList },
      handler: async ({ principal, query }) => ({ body: await listCustomers(principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getCustomer',
      method: 'get',
      path: '/customers/:id',
      tag: 'Customers',
      summary: 'Get a customer',
      auth: 'merchant',
      params: CustomerParams,
      response: { status: 200, description: 'The customer', schema: CustomerView },
      handler: async ({ principal, params }) => ({ body: await getCustomer(principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'updateCustomer',
      method: 'patch',
      path: '/customers/:id',
      tag: 'Customers',
      summary: 'Change a customer',
      description:
        "A new shipping address is recorded as the fact `customer.address_changed` (the shopper is told, with a link to undo it). `locale` and `timezone` set how their messages read (null: the merchant's).",
      auth: 'merchant',
      params: CustomerParams,
      body: UpdateCustomerBody,
      response: { status: 200, description: 'The customer', schema: CustomerView },
      handler: async ({ principal, params, body }) => ({
        body: await updateCustomer({ ...deps, actor: actorFor(principal) }, principal!.merchantId, params.id, body),
      }),
    }),
    defineRoute({
      operationId: 'listCustomerEvents',
      method: 'get',
      path: '/customers/:id/events',
      tag: 'Customers',
      summary: "A shopper's timeline, newest first",
      description:
        'Every fact about the shopper: their subscriptions and boxes, loyalty, referrals and gifts — what became true, when, who did it (the shopper, the merchant, Stripe, a job) and what changed. Cursor pagination; `type` filters by fact type (repeat it for several).',
      auth: 'merchant',
      params: CustomerParams,
      query: TimelineQuery,
      response: { status: 200, description: 'A page of facts', schema: FactList },
      handler: async ({ principal, params, query }) => {
        await getCustomer(principal!.merchantId, params.id); // 404 for another merchant's, like a missing one
        return { body: await listTimeline(principal!.merchantId, { customerId: params.id }, query) };
      },
    }),
  ];
}
