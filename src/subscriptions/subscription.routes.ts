import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../shared/http/route';
import {
  CancelBody,
  CreateSubscriptionBody,
  ListSubscriptionsQuery,
  PauseBody,
  SkipBody,
  SubscriptionList,
  SubscriptionParams,
  SubscriptionView,
  SwapBody,
  UnskipBody,
  AddAddonBody,
  CadenceBody,
  ChargeDateBody,
  SubscriptionAddonParams,
} from './subscription.schemas';
import {
  addAddon,
  cancelSubscription,
  changeCadence,
  changeChargeDate,
  createSubscription,
  removeAddon,
  getSubscription,
  listSubscriptions,
  pauseSubscription,
  reactivateSubscription,
  resumeSubscription,
  skipBox,
  swapBox,
  unskipBox,
  type SubscriptionDeps,
} from './subscription.service';

const EmptyBody = z.strictObject({}).meta({ id: 'EmptyRequest' });

export function subscriptionRoutes(deps: SubscriptionDeps): RouteDefinition[] {
  const action = (
    operationId: string,
    path: string,
    summary: string,
    description: string,
    body: z.ZodType,
    run: (merchantId: string, id: string, body: never) => Promise<unknown>,
  ) =>
    defineRoute({
      operationId,
      method: 'post',
      path: `/subscriptions/:id/${path}`,
      tag: 'Subscriptions',
      summary,
      description,
      auth: 'merchant',
      params: SubscriptionParams,
      body,
      response: { status: 200, description: 'The subscription after the change', schema: SubscriptionView },
      handler: async ({ principal, params, body: input }) => ({
        body: (await run(principal!.merchantId, params.id, input as never)) as SubscriptionView,
      }),
    });

  return [
    defineRoute({
      operationId: 'createSubscription',
      method: 'post',
      path: '/subscriptions',
      tag: 'Subscriptions',
      summary: 'Subscribe a customer',
      description:
        'With `paymentMethodId` the Stripe subscription is created at once. With `checkout: true` the answer carries a Stripe Checkout `checkoutUrl` and the subscription stays `incomplete` until Stripe confirms payment. Send an Idempotency-Key: a retry after a failure then never makes a second Stripe subscription.',
      auth: 'merchant',
      body: CreateSubscriptionBody,
      response: { status: 201, description: 'The subscription', schema: SubscriptionView },
      errors: [409],
      handler: async ({ principal, body, idempotencyKey }) => ({
        status: 201,
        body: await createSubscription(deps, principal!.merchantId, body, idempotencyKey),
      }),
    }),
    defineRoute({
      operationId: 'listSubscriptions',
      method: 'get',
      path: '/subscriptions',
      tag: 'Subscriptions',
      summary: 'List subscriptions, newest first',
      auth: 'merchant',
      query: ListSubscriptionsQuery,
      response: { status: 200, description: 'A page of subscriptions', schema: SubscriptionList },
      handler: async ({ principal, query }) => ({ body: await listSubscriptions(deps, principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getSubscription',
      method: 'get',
      path: '/subscriptions/:id',
      tag: 'Subscriptions',
      summary: 'Get a subscription: status, next charge and box, upcoming cycles, history',
      auth: 'merchant',
      params: SubscriptionParams,
      response: { status: 200, description: 'The subscription', schema: SubscriptionView },
      handler: async ({ principal, params }) => ({ body: await getSubscription(deps, principal!.merchantId, params.id) }),
    }),
    action('skipBox', 'skip', 'Skip a box', 'The next box, or the cycle given, until its cut-off. Stripe voids that invoice.', SkipBody, (m, id, body: { cycleKey?: string }) =>
      skipBox(deps, m, id, body.cycleKey),
    ),
    action('unskipBox', 'unskip', 'Un-skip a box', 'Until its cut-off.', UnskipBody, (m, id, body: { cycleKey: string }) => unskipBox(deps, m, id, body.cycleKey)),
    action('pauseSubscription', 'pause', 'Pause', 'For a number of boxes or until a date; it resumes by itself.', PauseBody, (m, id, body: { cycles?: number; until?: string }) =>
      pauseSubscription(deps, m, id, body),
    ),
    action('resumeSubscription', 'resume', 'Resume now', 'The next box whose cut-off has not passed is charged.', EmptyBody, (m, id) => resumeSubscription(deps, m, id)),
    action(
      'swapBox',
      'swap',
      'Swap variant or plan',
      'From the first box whose cut-off has not passed; no proration. `nextCharge` says what the shopper will pay.',
      SwapBody,
      (m, id, body: { planId?: string; variantId: string; cadence?: string }) => swapBox(deps, m, id, body),
    ),
    action(
      'changeCadence',
      'cadence',
      'Change how often boxes come',
      "From the next box (if not locked yet); the calendar is re-anchored on it and the plan's current price for the new cadence applies.",
      CadenceBody,
      (m, id, body: { cadence: string }) => changeCadence(deps, m, id, body.cadence),
    ),
    action(
      'changeChargeDate',
      'charge-date',
      'Move the next charge date',
      "Within the merchant's limit (14 days either way by default); later charges follow the new date.",
      ChargeDateBody,
      (m, id, body: { date: string }) => changeChargeDate(deps, m, id, body.date),
    ),
    action(
      'addSubscriptionAddon',
      'addons',
      'Add an extra to the box',
      'A one-time add-on goes into the next box that can still change; a recurring one into every box from it on.',
      AddAddonBody,
      (m, id, body: { addonId: string; quantity: number }) => addAddon(deps, m, id, body),
    ),
    defineRoute({
      operationId: 'removeSubscriptionAddon',
      method: 'post',
      path: '/subscriptions/:id/addons/:lineId/remove',
      tag: 'Subscriptions',
      summary: 'Take an extra out of the box',
      description: 'Until the cut-off of the box it is in.',
      auth: 'merchant',
      params: SubscriptionAddonParams,
      body: EmptyBody,
      response: { status: 200, description: 'The subscription after the change', schema: SubscriptionView },
      handler: async ({ principal, params }) => ({ body: await removeAddon(deps, principal!.merchantId, params.id, params.lineId) }),
    }),
    action('cancelSubscription', 'cancel', 'Cancel', 'Now, or at the end of the paid period, with a reason.', CancelBody, (m, id, body: { mode: 'now' | 'period_end'; reason: string; comment?: string }) =>
      cancelSubscription(deps, m, id, body),
    ),
    action('reactivateSubscription', 'reactivate', 'Undo a cancellation at period end', 'Before the period ends.', EmptyBody, (m, id) =>
      reactivateSubscription(deps, m, id),
    ),
  ];
}
