import { z } from 'zod';
import { FactList, listTimeline, TimelineQuery } from '../events/timeline.service';
import { findSubscription } from './subscription-store';
import { actorFor, defineRoute, type MerchantPrincipal, type ProblemDoc, type RouteDefinition } from '../shared/http/route';
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
  SecondChoiceBody,
  UnskipBody,
  AddAddonBody,
  CadenceBody,
  ChargeDateBody,
  SubscriptionAddonParams,
  AcceptSaveOfferBody,
  ApplyPromoCodeBody,
  BoxAddressBody,
  SaveOfferList,
} from './subscription.schemas';
import {
  acceptSaveOffer,
  addAddon,
  applyPromoCode,
  cancelSubscription,
  listSaveOffers,
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
  setSecondChoice,
  shipBoxTo,
  unskipBox,
  type SubscriptionDeps,
} from './subscription.service';

const EmptyBody = z.strictObject({}).meta({ id: 'EmptyRequest' });

/** Why applying a promo code to a subscription is refused (documented for the merchant's and the shopper's routes). */
export const PROMO_CODE_REFUSED: ProblemDoc = {
  status: 422,
  code: 'promo_code_refused',
  when: "The code cannot be used here; `reason` says why: `unknown`, `archived`, `expired`, `used_up`, `first_box_only` (for new subscribers, at sign-up), `currency`, `already_used` (once per subscription), `one_at_a_time` (another code is still running), `better_discount` (a one-box code worth less than the first box's offer).",
};

export function subscriptionRoutes(deps: SubscriptionDeps): RouteDefinition[] {
  /** The services' dependencies for this caller: their changes are recorded as done by them. */
  const asCaller = (principal: MerchantPrincipal | undefined): SubscriptionDeps => ({ ...deps, actor: actorFor(principal) });
  const action = (
    operationId: string,
    path: string,
    summary: string,
    description: string,
    body: z.ZodType,
    run: (deps: SubscriptionDeps, merchantId: string, id: string, body: never) => Promise<unknown>,
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
        body: (await run(asCaller(principal), principal!.merchantId, params.id, input as never)) as SubscriptionView,
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
      errors: [
        409,
        {
          status: 422,
          code: 'referral_refused',
          when: "`referralCode` cannot be used: no referral programme is running, the code is not this shop's, it is the shopper's own, or the shopper was referred or subscribed before.",
        },
        {
          status: 422,
          code: 'promo_code_refused',
          when: "`promoCode` cannot be used (`reason`): `unknown`, `archived`, `expired`, `used_up`, `currency` (an amount in another currency than the plan's), or `better_discount` (a one-box code worth less than the first-box offer).",
        },
      ],
      handler: async ({ principal, body, idempotencyKey }) => ({
        status: 201,
        body: await createSubscription(asCaller(principal), principal!.merchantId, body, idempotencyKey),
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
    defineRoute({
      operationId: 'listSubscriptionEvents',
      method: 'get',
      path: '/subscriptions/:id/events',
      tag: 'Subscriptions',
      summary: "A subscription's timeline, newest first",
      description:
        'Every fact about the subscription and its boxes (and its gifts, referral, …): what became true, when, who did it (the shopper, the merchant, Stripe, a job) and what changed. Cursor pagination; `type` filters by fact type (repeat it for several).',
      auth: 'merchant',
      params: SubscriptionParams,
      query: TimelineQuery,
      response: { status: 200, description: 'A page of facts', schema: FactList },
      handler: async ({ principal, params, query }) => {
        await findSubscription(principal!.merchantId, params.id); // 404 for another merchant's, like a missing one
        return { body: await listTimeline(principal!.merchantId, { subscriptionId: params.id }, query) };
      },
    }),
    action(
      'skipBox',
      'skip',
      'Skip a box',
      'The next box, or the cycle given, until its cut-off. Stripe voids that invoice.',
      SkipBody,
      (d, m, id, body: { cycleKey?: string }) => skipBox(d, m, id, body.cycleKey),
    ),
    action('unskipBox', 'unskip', 'Un-skip a box', 'Until its cut-off.', UnskipBody, (d, m, id, body: { cycleKey: string }) =>
      unskipBox(d, m, id, body.cycleKey),
    ),
    action(
      'pauseSubscription',
      'pause',
      'Pause',
      'For a number of boxes or until a date; it resumes by itself.',
      PauseBody,
      (d, m, id, body: { cycles?: number; until?: string }) => pauseSubscription(d, m, id, body),
    ),
    action('resumeSubscription', 'resume', 'Resume now', 'The next box whose cut-off has not passed is charged.', EmptyBody, (d, m, id) =>
      resumeSubscription(d, m, id),
    ),
    action(
      'swapBox',
      'swap',
      'Swap variant or plan',
      'From the first box whose cut-off has not passed; no proration. `nextCharge` says what the shopper will pay.',
      SwapBody,
      (d, m, id, body: { planId?: string; variantId: string; cadence?: string }) => swapBox(d, m, id, body),
    ),
    action(
      'setSecondChoice',
      'second-choice',
      'Choose a second-choice variant',
      "Sent instead of their variant when it is out of stock at a box's cut-off (before the merchant's substitution rule).",
      SecondChoiceBody,
      (d, m, id, body: { variantId: string | null }) => setSecondChoice(d, m, id, body.variantId),
    ),
    action(
      'changeCadence',
      'cadence',
      'Change how often boxes come',
      "From the next box (if not locked yet); the calendar is re-anchored on it and the plan's current price for the new cadence applies.",
      CadenceBody,
      (d, m, id, body: { cadence: string }) => changeCadence(d, m, id, body.cadence),
    ),
    action(
      'changeChargeDate',
      'charge-date',
      'Move the next charge date',
      "Within the merchant's limit (14 days either way by default); later charges follow the new date.",
      ChargeDateBody,
      (d, m, id, body: { date: string }) => changeChargeDate(d, m, id, body.date),
    ),
    action(
      'addSubscriptionAddon',
      'addons',
      'Add an extra to the box',
      'A one-time add-on goes into the next box that can still change; a recurring one into every box from it on (or the next box only, with `kind: one_time`).',
      AddAddonBody,
      (d, m, id, body: { addonId: string; quantity: number; kind?: 'one_time' | 'recurring' }) => addAddon(d, m, id, body),
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
      handler: async ({ principal, params }) => ({ body: await removeAddon(asCaller(principal), principal!.merchantId, params.id, params.lineId) }),
    }),
    action(
      'shipBoxTo',
      'box-address',
      'Send one box to another address',
      "The next box that can still change, or the cycle given, goes to this address instead of the shopper's (`nextBoxAddress` shows it); until that box's cut-off. The same address again changes nothing; `address: null` sends it to the shopper's address again. To move every box, change the customer's `shippingAddress`.",
      BoxAddressBody,
      (d, m, id, body: BoxAddressBody) => shipBoxTo(d, m, id, body),
    ),
    defineRoute({
      operationId: 'listSaveOffers',
      method: 'get',
      path: '/subscriptions/:id/save-offers',
      tag: 'Subscriptions',
      summary: 'What to offer before a cancellation',
      description:
        "The merchant's offers that fit this subscription now: skip the next box, pause, or a one-time discount (once per subscription). Show them before calling cancel.",
      auth: 'merchant',
      params: SubscriptionParams,
      response: { status: 200, description: 'The offers', schema: SaveOfferList },
      handler: async ({ principal, params }) => ({ body: { object: 'list' as const, data: await listSaveOffers(deps, principal!.merchantId, params.id) } }),
    }),
    action(
      'acceptSaveOffer',
      'save-offers/accept',
      'Accept an offer instead of cancelling',
      'Applies a listed offer (skip, pause, or the discount on the next box through a Stripe once-coupon).',
      AcceptSaveOfferBody,
      (d, m, id, body: { type: 'skip_next' | 'pause' | 'discount'; cycles?: number }) => acceptSaveOffer(d, m, id, body),
    ),
    defineRoute({
      operationId: 'applyPromoCode',
      method: 'post',
      path: '/subscriptions/:id/promo-code',
      tag: 'Subscriptions',
      summary: 'Apply a promo code',
      description:
        "From the first box whose cut-off has not passed and that will be charged: that box, the code's number of boxes, or every box; `nextCharge` shows it, and Stripe gets the code's coupon for those boxes. One code at a time, each code once per subscription; applying the code it has already changes nothing (its use counts once). A box gets one discount from sign-up offers and codes (a save offer adds to it).",
      auth: 'merchant',
      params: SubscriptionParams,
      body: ApplyPromoCodeBody,
      response: { status: 200, description: 'The subscription after the change', schema: SubscriptionView },
      errors: [PROMO_CODE_REFUSED],
      handler: async ({ principal, params, body }) => ({
        body: await applyPromoCode(asCaller(principal), principal!.merchantId, params.id, body.code),
      }),
    }),
    action(
      'cancelSubscription',
      'cancel',
      'Cancel',
      'Now, or at the end of the paid period, with a reason.',
      CancelBody,
      (d, m, id, body: { mode: 'now' | 'period_end'; reason: string; comment?: string }) => cancelSubscription(d, m, id, body),
    ),
    action('reactivateSubscription', 'reactivate', 'Undo a cancellation at period end', 'Before the period ends.', EmptyBody, (d, m, id) =>
      reactivateSubscription(d, m, id),
    ),
  ];
}
