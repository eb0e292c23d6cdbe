import { CustomerParams } from '../customers/customer.schemas';
import { actorFor, defineRoute, type RouteDefinition } from '../shared/http/route';
import {
  AdjustPointsBody,
  ListLoyaltyEntriesQuery,
  LoyaltyAccountView,
  LoyaltyEntryList,
  LoyaltyEntryView,
  LoyaltyProgramBody,
  LoyaltyProgramView,
  RedeemPointsBody,
} from './loyalty.schemas';
import { adjustPoints, getLoyaltyAccount, getLoyaltyProgram, listLoyaltyEntries, putLoyaltyProgram, redeemPoints, type LoyaltyDeps } from './loyalty.service';

export function loyaltyRoutes(deps: LoyaltyDeps): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'getLoyaltyProgram',
      method: 'get',
      path: '/loyalty-program',
      tag: 'Loyalty',
      summary: 'Get the loyalty programme',
      description: 'Not found until the programme is set up.',
      auth: 'merchant',
      response: { status: 200, description: 'The programme', schema: LoyaltyProgramView },
      errors: [404],
      handler: async ({ principal }) => ({ body: await getLoyaltyProgram(principal!.merchantId) }),
    }),
    defineRoute({
      operationId: 'putLoyaltyProgram',
      method: 'put',
      path: '/loyalty-program',
      tag: 'Loyalty',
      summary: 'Set up or change the loyalty programme',
      description:
        'Points per currency unit paid for each box (times the tier multiplier), what points are worth as credit, auto-apply, expiry with notice, and tiers by paid boxes or spend over a rolling 12 months. Changes apply to what is earned from now on.',
      auth: 'merchant',
      body: LoyaltyProgramBody,
      response: { status: 200, description: 'The programme', schema: LoyaltyProgramView },
      handler: async ({ principal, body }) => ({ body: await putLoyaltyProgram(deps.clock, principal!.merchantId, body) }),
    }),
    defineRoute({
      operationId: 'getLoyaltyAccount',
      method: 'get',
      path: '/customers/:id/loyalty',
      tag: 'Loyalty',
      summary: "A shopper's points, credit, tier and points expiring soon",
      auth: 'merchant',
      params: CustomerParams,
      response: { status: 200, description: 'The account', schema: LoyaltyAccountView },
      handler: async ({ principal, params }) => ({ body: await getLoyaltyAccount(deps.clock, principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'listLoyaltyEntries',
      method: 'get',
      path: '/customers/:id/loyalty/entries',
      tag: 'Loyalty',
      summary: "A shopper's ledger, newest first",
      auth: 'merchant',
      params: CustomerParams,
      query: ListLoyaltyEntriesQuery,
      response: { status: 200, description: 'A page of entries', schema: LoyaltyEntryList },
      handler: async ({ principal, params, query }) => ({ body: await listLoyaltyEntries(principal!.merchantId, params.id, query) }),
    }),
    defineRoute({
      operationId: 'redeemLoyaltyPoints',
      method: 'post',
      path: '/customers/:id/loyalty/redemptions',
      tag: 'Loyalty',
      summary: 'Redeem points for credit on the coming boxes',
      description:
        'Points go in whole blocks of the programme rate. The credit is taken off each box at its cut-off (as an amount off the Stripe invoice), up to the box total; the rest carries over. With an Idempotency-Key a retry redeems once.',
      auth: 'merchant',
      params: CustomerParams,
      body: RedeemPointsBody,
      response: { status: 201, description: 'The ledger entry', schema: LoyaltyEntryView },
      errors: [409],
      handler: async ({ principal, params, body, idempotencyKey }) => ({
        status: 201,
        body: await redeemPoints(deps.clock, principal!.merchantId, params.id, body.points, idempotencyKey, { actor: actorFor(principal) }),
      }),
    }),
    defineRoute({
      operationId: 'adjustLoyaltyPoints',
      method: 'post',
      path: '/customers/:id/loyalty/adjustments',
      tag: 'Loyalty',
      summary: 'Grant points for an action you choose, or take points back',
      auth: 'merchant',
      params: CustomerParams,
      body: AdjustPointsBody,
      response: { status: 201, description: 'The ledger entry', schema: LoyaltyEntryView },
      errors: [409],
      handler: async ({ principal, params, body, idempotencyKey }) => ({
        status: 201,
        body: await adjustPoints(deps.clock, principal!.merchantId, params.id, body, idempotencyKey, { actor: actorFor(principal) }),
      }),
    }),
  ];
}
