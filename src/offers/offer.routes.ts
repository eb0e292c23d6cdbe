import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import { CreateOfferBody, ListOffersQuery, OfferList, OfferParams, OfferView } from './offer.schemas';
import { archiveOffer, createOffer, getOffer, listOffers } from './offer.service';

export function offerRoutes(deps: { clock: Clock }): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'createOffer',
      method: 'post',
      path: '/offers',
      tag: 'Offers',
      summary: 'Create an offer for a segment',
      description:
        '`threshold`: a fixed amount off a box whose add-ons reach a minimum, for a segment (tenure, tier, plan). `comeback`: a discount on the first box of a shopper whose subscription ended within N days. `birthday` / `anniversary`: points, credit or a free add-on, once a year.',
      auth: 'merchant',
      body: CreateOfferBody,
      response: { status: 201, description: 'The offer', schema: OfferView },
      handler: async ({ principal, body }) => ({ status: 201, body: await createOffer(deps.clock, principal!.merchantId, body) }),
    }),
    defineRoute({
      operationId: 'listOffers',
      method: 'get',
      path: '/offers',
      tag: 'Offers',
      summary: 'List offers, newest first',
      auth: 'merchant',
      query: ListOffersQuery,
      response: { status: 200, description: 'A page of offers', schema: OfferList },
      handler: async ({ principal, query }) => ({ body: await listOffers(principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getOffer',
      method: 'get',
      path: '/offers/:id',
      tag: 'Offers',
      summary: 'Get an offer',
      auth: 'merchant',
      params: OfferParams,
      response: { status: 200, description: 'The offer', schema: OfferView },
      handler: async ({ principal, params }) => ({ body: await getOffer(principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'archiveOffer',
      method: 'post',
      path: '/offers/:id/archive',
      tag: 'Offers',
      summary: 'Stop an offer',
      auth: 'merchant',
      params: OfferParams,
      response: { status: 200, description: 'The offer', schema: OfferView },
      handler: async ({ principal, params }) => ({ body: await archiveOffer(deps.clock, principal!.merchantId, params.id) }),
    }),
  ];
}
