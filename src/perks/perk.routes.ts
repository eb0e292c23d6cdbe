import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import { CreatePerkBody, ListPerksQuery, PerkList, PerkParams, PerkView } from './perk.schemas';
import { archivePerk, createPerk, getPerk, listPerks } from './perk.service';

export function perkRoutes(deps: { clock: Clock }): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'createPerk',
      method: 'post',
      path: '/perks',
      tag: 'Perks',
      summary: 'Create a subscriber-only perk',
      description:
        'Eligibility by plan, tenure (paid boxes), tier and date window. Applied when each box is built at its cut-off and recorded on the order line with the perk that granted it; at most once per box.',
      auth: 'merchant',
      body: CreatePerkBody,
      response: { status: 201, description: 'The perk', schema: PerkView },
      handler: async ({ principal, body }) => ({ status: 201, body: await createPerk(deps.clock, principal!.merchantId, body) }),
    }),
    defineRoute({
      operationId: 'listPerks',
      method: 'get',
      path: '/perks',
      tag: 'Perks',
      summary: 'List perks, newest first',
      auth: 'merchant',
      query: ListPerksQuery,
      response: { status: 200, description: 'A page of perks', schema: PerkList },
      handler: async ({ principal, query }) => ({ body: await listPerks(principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getPerk',
      method: 'get',
      path: '/perks/:id',
      tag: 'Perks',
      summary: 'Get a perk',
      auth: 'merchant',
      params: PerkParams,
      response: { status: 200, description: 'The perk', schema: PerkView },
      handler: async ({ principal, params }) => ({ body: await getPerk(principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'archivePerk',
      method: 'post',
      path: '/perks/:id/archive',
      tag: 'Perks',
      summary: 'Stop granting a perk',
      auth: 'merchant',
      params: PerkParams,
      response: { status: 200, description: 'The perk', schema: PerkView },
      handler: async ({ principal, params }) => ({ body: await archivePerk(deps.clock, principal!.merchantId, params.id) }),
    }),
  ];
}
