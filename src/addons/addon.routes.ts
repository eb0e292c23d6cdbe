import { defineRoute, type RouteDefinition } from '../shared/http/route';
import { AddonList, AddonParams, AddonView, AdjustStockBody, CreateAddonBody, ListAddonsQuery, UpdateAddonBody } from './addon.schemas';
import { adjustAddonStock, createAddon, getAddon, listAddons, updateAddon, type AddonDeps } from './addon.service';

export function addonRoutes(deps: AddonDeps): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'createAddon',
      method: 'post',
      path: '/addons',
      tag: 'Add-ons',
      summary: 'Create an add-on',
      description: 'An extra for the box, once or in every box, with optional stock. Mirrored to Stripe as a Product with a one-time Price.',
      auth: 'merchant',
      body: CreateAddonBody,
      response: { status: 201, description: 'The add-on', schema: AddonView },
      handler: async ({ principal, body }) => ({ status: 201, body: await createAddon(deps, principal!.merchantId, body) }),
    }),
    defineRoute({
      operationId: 'listAddons',
      method: 'get',
      path: '/addons',
      tag: 'Add-ons',
      summary: 'List add-ons, newest first',
      auth: 'merchant',
      query: ListAddonsQuery,
      response: { status: 200, description: 'A page of add-ons', schema: AddonList },
      handler: async ({ principal, query }) => ({ body: await listAddons(principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getAddon',
      method: 'get',
      path: '/addons/:id',
      tag: 'Add-ons',
      summary: 'Get an add-on',
      auth: 'merchant',
      params: AddonParams,
      response: { status: 200, description: 'The add-on', schema: AddonView },
      handler: async ({ principal, params }) => ({ body: await getAddon(principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'updateAddon',
      method: 'patch',
      path: '/addons/:id',
      tag: 'Add-ons',
      summary: 'Change an add-on',
      auth: 'merchant',
      params: AddonParams,
      body: UpdateAddonBody,
      response: { status: 200, description: 'The add-on', schema: AddonView },
      handler: async ({ principal, params, body }) => ({ body: await updateAddon(deps, principal!.merchantId, params.id, body) }),
    }),
    defineRoute({
      operationId: 'adjustAddonStock',
      method: 'post',
      path: '/addons/:id/stock-adjustments',
      tag: 'Add-ons',
      summary: 'Add or remove stock',
      description: 'Atomic: concurrent adjustments and renewals never take stock below zero.',
      auth: 'merchant',
      params: AddonParams,
      body: AdjustStockBody,
      response: { status: 200, description: 'The add-on with its new stock', schema: AddonView },
      handler: async ({ principal, params, body }) => ({ body: await adjustAddonStock(deps, principal!.merchantId, params.id, body.adjustBy) }),
    }),
  ];
}
