import { CustomerParams } from '../customers/customer.schemas';
import { LoyaltyAccountView, LoyaltyEntryView } from '../loyalty/loyalty.schemas';
import { getLoyaltyAccount, redeemPoints } from '../loyalty/loyalty.service';
import { issueShopperSession } from '../merchants/merchant.service';
import { iso } from '../shared/schemas';
import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import { getSubscriptionRewards } from './shopper-rewards.service';
import { ShopperRedeemBody, ShopperSessionView, SubscriptionRewardsParams, SubscriptionRewardsView } from './shopper.schemas';

/** The merchant's view of a subscription's rewards, and the shopper-facing operations a shopper session may call. */
export function shopperRoutes(deps: { clock: Clock }): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'createShopperSession',
      method: 'post',
      path: '/customers/:id/shopper-sessions',
      tag: 'Shoppers',
      summary: 'Issue a shopper session for one customer',
      description:
        'For your storefront to hand to a logged-in shopper: it can only call the `/shopper` operations, for this customer, and expires after 24 hours. The token is shown once.',
      auth: 'merchant',
      params: CustomerParams,
      response: { status: 201, description: 'The session', schema: ShopperSessionView },
      redactOnReplay: (body) => ({ ...body, token: '(shown once)' }),
      handler: async ({ principal, params }) => {
        const session = await issueShopperSession(deps.clock, principal!.merchantId, params.id);
        return { status: 201, body: { object: 'shopper_session' as const, customerId: session.customerId, token: session.token, expiresAt: iso(session.expiresAt) } };
      },
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
        body: await redeemPoints(deps.clock, principal!.merchantId, principal!.customerId!, body.points, idempotencyKey),
      }),
    }),
  ];
}
