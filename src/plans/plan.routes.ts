import { defineRoute, type RouteDefinition } from '../shared/http/route';
import { migrateSubscribersToCurrentPrice, type SubscriptionDeps } from '../subscriptions/subscription.service';
import { CreatePlanBody, ListPlansQuery, MigratePricesBody, MigratePricesResult, PlanList, PlanParams, PlanView, UpdatePlanBody } from './plan.schemas';
import { createPlan, getPlan, listPlans, setPlanStatus, updatePlan, type PlanDeps } from './plan.service';

export function planRoutes(deps: PlanDeps, subscriptions: SubscriptionDeps): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'createPlan',
      method: 'post',
      path: '/plans',
      tag: 'Plans',
      summary: 'Create a plan',
      description: 'A box with its variants and the cadences offered, each with a price. Mirrored to Stripe as a Product with a recurring Price per cadence.',
      auth: 'merchant',
      body: CreatePlanBody,
      response: { status: 201, description: 'The plan', schema: PlanView },
      handler: async ({ principal, body }) => ({ status: 201, body: await createPlan(deps, principal!.merchantId, body) }),
    }),
    defineRoute({
      operationId: 'listPlans',
      method: 'get',
      path: '/plans',
      tag: 'Plans',
      summary: 'List plans, newest first',
      auth: 'merchant',
      query: ListPlansQuery,
      response: { status: 200, description: 'A page of plans', schema: PlanList },
      handler: async ({ principal, query }) => ({ body: await listPlans(principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getPlan',
      method: 'get',
      path: '/plans/:id',
      tag: 'Plans',
      summary: 'Get a plan',
      auth: 'merchant',
      params: PlanParams,
      response: { status: 200, description: 'The plan', schema: PlanView },
      handler: async ({ principal, params }) => ({ body: await getPlan(principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'updatePlan',
      method: 'patch',
      path: '/plans/:id',
      tag: 'Plans',
      summary: 'Change a plan',
      description: 'A new amount for a cadence creates a new price (and Stripe Price) for new subscribers; existing subscribers keep theirs until migrated.',
      auth: 'merchant',
      params: PlanParams,
      body: UpdatePlanBody,
      response: { status: 200, description: 'The plan', schema: PlanView },
      handler: async ({ principal, params, body }) => ({ body: await updatePlan(deps, principal!.merchantId, params.id, body) }),
    }),
    defineRoute({
      operationId: 'archivePlan',
      method: 'post',
      path: '/plans/:id/archive',
      tag: 'Plans',
      summary: 'Archive a plan',
      description: 'No new subscribers; existing subscribers keep their boxes. Plans are never deleted while in use.',
      auth: 'merchant',
      params: PlanParams,
      response: { status: 200, description: 'The plan', schema: PlanView },
      handler: async ({ principal, params }) => ({ body: await setPlanStatus(deps, principal!.merchantId, params.id, 'archived') }),
    }),
    defineRoute({
      operationId: 'unarchivePlan',
      method: 'post',
      path: '/plans/:id/unarchive',
      tag: 'Plans',
      summary: 'Offer an archived plan again',
      auth: 'merchant',
      params: PlanParams,
      response: { status: 200, description: 'The plan', schema: PlanView },
      handler: async ({ principal, params }) => ({ body: await setPlanStatus(deps, principal!.merchantId, params.id, 'active') }),
    }),
    defineRoute({
      operationId: 'migratePlanSubscribers',
      method: 'post',
      path: '/plans/:id/price-migrations',
      tag: 'Plans',
      summary: "Move a cadence's subscribers to its current price",
      description:
        'Subscribers keep the price they subscribed at until this: each moves from their first box that is not locked yet (shown in the subscription). Re-running it changes nothing twice.',
      auth: 'merchant',
      params: PlanParams,
      body: MigratePricesBody,
      response: { status: 200, description: 'How many subscriptions moved', schema: MigratePricesResult },
      handler: async ({ principal, params, body }) => ({
        body: {
          object: 'price_migration' as const,
          ...(await migrateSubscribersToCurrentPrice(subscriptions, principal!.merchantId, params.id, body.cadence)),
        },
      }),
    }),
  ];
}
