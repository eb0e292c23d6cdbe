import { CustomerParams } from '../customers/customer.schemas';
import { LoyaltyAccountView, LoyaltyEntryView } from '../loyalty/loyalty.schemas';
import { getLoyaltyAccount, redeemPoints } from '../loyalty/loyalty.service';
import { NewShopperSessionView, ShopperSessionList, ShopperSessionParams, ShopperSessionView } from '../merchants/merchant.schemas';
import { issueShopperSession, listShopperSessions, revokeShopperSession } from '../merchants/merchant.service';
import { NotFoundError } from '../shared/errors';
import { actorFor, defineRoute, type RouteDefinition } from '../shared/http/route';
import { findSubscription } from '../subscriptions/subscription.queries';
import { PROMO_CODE_REFUSED } from '../subscriptions/subscription.routes';
import { ApplyPromoCodeBody, BoxAddressBody, SubscriptionParams, SubscriptionView } from '../subscriptions/subscription.schemas';
import { applyPromoCode, shipBoxTo, type SubscriptionDeps } from '../subscriptions/subscription.service';
import { getSubscriptionRewards } from './shopper-rewards.service';
import { ShopperRedeemBody, SubscriptionRewardsParams, SubscriptionRewardsView } from './shopper.schemas';

/** The merchant's view of a subscription's rewards, and the shopper-facing operations a shopper session may call. */
export function shopperRoutes(deps: SubscriptionDeps): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'createShopperSession',
      method: 'post',
      path: '/customers/:id/shopper-sessions',
      tag: 'Shoppers',
      summary: 'Issue a shopper session for one customer',
      description:
        'For your storefront to hand to a logged-in shopper: it can only call the `/shopper` operations, for this customer, and expires after 24 hours unless revoked before. The token is shown once.',
      auth: 'merchant',
      params: CustomerParams,
      response: { status: 201, description: 'The session, with its token shown once', schema: NewShopperSessionView },
      secret: true,
      redactOnReplay: (body) => ({ ...body, token: '(shown once)' }),
      handler: async ({ principal, params }) => ({ status: 201, body: await issueShopperSession(deps.clock, principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'listShopperSessions',
      method: 'get',
      path: '/customers/:id/shopper-sessions',
      tag: 'Shoppers',
      summary: "List a customer's shopper sessions (prefix only)",
      description: 'The sessions whose 24 hours have not run out, revoked ones included (with `revokedAt`), newest first. Never the token.',
      auth: 'merchant',
      params: CustomerParams,
      response: { status: 200, description: 'The sessions', schema: ShopperSessionList },
      handler: async ({ principal, params }) => ({
        body: { object: 'list' as const, data: await listShopperSessions(deps.clock, principal!.merchantId, params.id) },
      }),
    }),
    defineRoute({
      operationId: 'revokeShopperSession',
      method: 'post',
      path: '/customers/:id/shopper-sessions/:sessionId/revoke',
      tag: 'Shoppers',
      summary: 'Revoke a shopper session at once',
      description: 'Its next request answers 401 (the shopper logged out, a device was lost). Revoking it again changes nothing.',
      auth: 'merchant',
      params: ShopperSessionParams,
      response: { status: 200, description: 'The revoked session', schema: ShopperSessionView },
      handler: async ({ principal, params }) => ({ body: await revokeShopperSession(deps.clock, principal!.merchantId, params.id, params.sessionId) }),
    }),
    defineRoute({
      operationId: 'getSubscriptionRewards',
      method: 'get',
      path: '/subscriptions/:id/rewards',
      tag: 'Shoppers',
      summary: "A subscription's perks, points, tier, referral code and what its boxes got",
      auth: 'merchant',
      params: SubscriptionRewardsParams,
      response: { status: 200, description: 'The rewards', schema: SubscriptionRewardsView },
      handler: async ({ principal, params }) => ({ body: await getSubscriptionRewards(deps.clock, principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'getMySubscriptionRewards',
      method: 'get',
      path: '/shopper/subscriptions/:id/rewards',
      tag: 'Shoppers',
      summary: 'Shopper: my perks, points, tier, referral code and what my boxes got',
      auth: 'shopper',
      params: SubscriptionRewardsParams,
      response: { status: 200, description: 'The rewards', schema: SubscriptionRewardsView },
      handler: async ({ principal, params }) => ({ body: await getSubscriptionRewards(deps.clock, principal!.merchantId, params.id, principal!.customerId) }),
    }),
    defineRoute({
      operationId: 'applyMyPromoCode',
      method: 'post',
      path: '/shopper/subscriptions/:id/promo-code',
      tag: 'Shoppers',
      summary: 'Shopper: apply a promo code to my subscription',
      description:
        "From my first box whose cut-off has not passed: that box, the code's number of boxes, or every box. One code at a time; a code for new subscribers is refused here. Another shopper's subscription is 404.",
      auth: 'shopper',
      params: SubscriptionParams,
      body: ApplyPromoCodeBody,
      response: { status: 200, description: 'The subscription after the change', schema: SubscriptionView },
      errors: [PROMO_CODE_REFUSED],
      handler: async ({ principal, params, body }) => {
        const { merchantId, customerId } = principal!;
        if (!(await findSubscription(merchantId, params.id, customerId))) throw new NotFoundError('No subscription with this id.');
        return { body: await applyPromoCode({ ...deps, actor: actorFor(principal) }, merchantId, params.id, body.code) };
      },
    }),
    defineRoute({
      operationId: 'shipMyBoxTo',
      method: 'post',
      path: '/shopper/subscriptions/:id/box-address',
      tag: 'Shoppers',
      summary: 'Shopper: send one of my boxes to another address',
      description:
        "My next box that can still change, or the cycle given, goes to this address instead of mine, until its cut-off; `address: null` sends it to my address again. Another shopper's subscription is 404.",
      auth: 'shopper',
      params: SubscriptionParams,
      body: BoxAddressBody,
      response: { status: 200, description: 'The subscription after the change', schema: SubscriptionView },
      handler: async ({ principal, params, body }) => {
        const { merchantId, customerId } = principal!;
        if (!(await findSubscription(merchantId, params.id, customerId))) throw new NotFoundError('No subscription with this id.');
        return { body: await shipBoxTo({ ...deps, actor: actorFor(principal) }, merchantId, params.id, body) };
      },
    }),
    defineRoute({
      operationId: 'getMyLoyalty',
      method: 'get',
      path: '/shopper/loyalty',
      tag: 'Shoppers',
      summary: 'Shopper: my points, credit, tier and points expiring soon',
      auth: 'shopper',
      response: { status: 200, description: 'The account', schema: LoyaltyAccountView },
      handler: async ({ principal }) => ({ body: await getLoyaltyAccount(deps.clock, principal!.merchantId, principal!.customerId!) }),
    }),
    defineRoute({
      operationId: 'redeemMyPoints',
      method: 'post',
      path: '/shopper/loyalty/redemptions',
      tag: 'Shoppers',
      summary: 'Shopper: redeem points for credit on my coming boxes',
      auth: 'shopper',
      body: ShopperRedeemBody,
      response: { status: 201, description: 'The ledger entry', schema: LoyaltyEntryView },
      errors: [409],
      handler: async ({ principal, body, idempotencyKey }) => ({
        status: 201,
        body: await redeemPoints(deps.clock, principal!.merchantId, principal!.customerId!, body.points, idempotencyKey, { actor: actorFor(principal) }),
      }),
    }),
  ];
}
