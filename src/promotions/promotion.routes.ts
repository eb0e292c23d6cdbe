import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { PromotionSyncDeps } from './promotion-stripe-sync.service';
import {
  CreatePromoCodeBody,
  ListPromoCodesQuery,
  ListRedemptionsQuery,
  PromoCodeList,
  PromoCodeParams,
  PromoCodeRedemptionList,
  PromoCodeView,
} from './promotion.schemas';
import { archivePromoCode, createPromoCode, getPromoCode, listPromoCodeRedemptions, listPromoCodes } from './promotion.service';

const APPLYING =
  "A shopper applies a code when subscribing (`promoCode` on create subscription) or to their subscription (`POST /subscriptions/:id/promo-code`, or `/shopper/subscriptions/:id/promo-code` with a shopper session). A box gets one discount from sign-up offers and codes: on the first box the plan's first-box discount, a welcome or comeback offer and a code compete, and the one worth most on the plan's price applies (a one-box code worth less is refused); a code lasting several boxes carries on after it. One code at a time per subscription, each code once per subscription.";

export function promotionRoutes(deps: PromotionSyncDeps): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'createPromoCode',
      method: 'post',
      path: '/promo-codes',
      tag: 'Promo codes',
      summary: 'Create a promo code',
      description: `A percentage or an amount off for one box, a number of boxes or every box, with limits: new subscribers only (\`firstBoxOnly\`), a number of uses across the store (\`maxRedemptions\`), an expiry. It is mirrored to Stripe as a coupon and a promotion code (\`stripe.state\` is \`pending\` while the catalog sync job retries). ${APPLYING}`,
      auth: 'merchant',
      body: CreatePromoCodeBody,
      response: { status: 201, description: 'The promo code', schema: PromoCodeView },
      errors: [{ status: 409, code: 'promo_code_taken', when: 'Another promo code of yours has this code (codes ignore case).' }],
      handler: async ({ principal, body, idempotencyKey }) => ({
        status: 201,
        body: await createPromoCode(deps, principal!.merchantId, body, idempotencyKey),
      }),
    }),
    defineRoute({
      operationId: 'listPromoCodes',
      method: 'get',
      path: '/promo-codes',
      tag: 'Promo codes',
      summary: 'List promo codes, newest first',
      auth: 'merchant',
      query: ListPromoCodesQuery,
      response: { status: 200, description: 'A page of promo codes', schema: PromoCodeList },
      handler: async ({ principal, query }) => ({ body: await listPromoCodes(deps.clock, principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getPromoCode',
      method: 'get',
      path: '/promo-codes/:id',
      tag: 'Promo codes',
      summary: 'Get a promo code, with how many subscriptions used it',
      auth: 'merchant',
      params: PromoCodeParams,
      response: { status: 200, description: 'The promo code', schema: PromoCodeView },
      handler: async ({ principal, params }) => ({ body: await getPromoCode(deps.clock, principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'listPromoCodeRedemptions',
      method: 'get',
      path: '/promo-codes/:id/redemptions',
      tag: 'Promo codes',
      summary: 'The subscriptions that used a promo code, newest first',
      auth: 'merchant',
      params: PromoCodeParams,
      query: ListRedemptionsQuery,
      response: { status: 200, description: 'A page of redemptions', schema: PromoCodeRedemptionList },
      handler: async ({ principal, params, query }) => ({ body: await listPromoCodeRedemptions(principal!.merchantId, params.id, query) }),
    }),
    defineRoute({
      operationId: 'archivePromoCode',
      method: 'post',
      path: '/promo-codes/:id/archive',
      tag: 'Promo codes',
      summary: 'Stop a promo code',
      description:
        'No one can apply it any more, here or in Stripe (its promotion code is deactivated). Subscriptions that applied it keep their discount for the boxes it covers.',
      auth: 'merchant',
      params: PromoCodeParams,
      response: { status: 200, description: 'The promo code', schema: PromoCodeView },
      handler: async ({ principal, params }) => ({ body: await archivePromoCode(deps, principal!.merchantId, params.id) }),
    }),
  ];
}
