import type { Request } from 'express';
import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import {
  ApiKeyList,
  ApiKeyParams,
  ApiKeyView,
  CreateApiKeyBody,
  LogInBody,
  MerchantView,
  NewApiKeyView,
  SignUpBody,
  SignUpResponse,
  UpdateMerchantBody,
} from './merchant.schemas';
import {
  createApiKey,
  getMerchant,
  listApiKeys,
  logInMerchant,
  revokeApiKey,
  signUpMerchant,
  updateMerchant,
} from './merchant.service';

const clientIp = (req: Request): string => req.ip ?? 'unknown';

/** Secrets are shown once: a replayed response says a key was issued but does not show it again. */
function withoutSecret<T extends { apiKey: { secret: string | null } }>(body: T): T {
  return { ...body, apiKey: { ...body.apiKey, secret: null } };
}

export function merchantRoutes(deps: { clock: Clock }): RouteDefinition[] {
  const { clock } = deps;
  return [
    defineRoute({
      operationId: 'signUpMerchant',
      method: 'post',
      path: '/merchants',
      tag: 'Merchants',
      summary: 'Sign a merchant up',
      description: 'Creates the merchant and its first secret API key. The key is in the response once and never again.',
      auth: 'none',
      body: SignUpBody,
      response: { status: 201, description: 'The merchant and its first API key', schema: SignUpResponse },
      errors: [409],
      rateLimit: { name: 'sign-up', limit: 10, windowSeconds: 3600, key: (req) => clientIp(req) },
      redactOnReplay: withoutSecret,
      handler: async ({ body }) => ({ body: await signUpMerchant(clock, body) }),
    }),
    defineRoute({
      operationId: 'logInMerchant',
      method: 'post',
      path: '/merchants/login',
      tag: 'Merchants',
      summary: 'Log in with e-mail and password',
      description: 'Issues a session key that works like a secret key and expires after 12 hours.',
      auth: 'none',
      body: LogInBody,
      response: { status: 201, description: 'The merchant and a session key', schema: SignUpResponse },
      errors: [401],
      rateLimit: { name: 'log-in', limit: 10, windowSeconds: 900, key: (req, body) => `${clientIp(req)}|${body.email}` },
      redactOnReplay: withoutSecret,
      handler: async ({ body }) => ({ body: await logInMerchant(clock, body) }),
    }),
    defineRoute({
      operationId: 'getCurrentMerchant',
      method: 'get',
      path: '/merchants/me',
      tag: 'Merchants',
      summary: 'The merchant this API key belongs to',
      auth: 'merchant',
      response: { status: 200, description: 'The merchant', schema: MerchantView },
      handler: async ({ principal }) => ({ body: await getMerchant(principal!.merchantId) }),
    }),
    defineRoute({
      operationId: 'updateCurrentMerchant',
      method: 'patch',
      path: '/merchants/me',
      tag: 'Merchants',
      summary: 'Update the merchant',
      auth: 'merchant',
      body: UpdateMerchantBody,
      response: { status: 200, description: 'The updated merchant', schema: MerchantView },
      handler: async ({ principal, body }) => ({ body: await updateMerchant(clock, principal!.merchantId, body) }),
    }),
    defineRoute({
      operationId: 'listApiKeys',
      method: 'get',
      path: '/api-keys',
      tag: 'API keys',
      summary: 'List API keys (prefix only)',
      auth: 'merchant',
      response: { status: 200, description: 'The keys, newest first', schema: ApiKeyList },
      handler: async ({ principal }) => ({ body: { object: 'list' as const, data: await listApiKeys(principal!.merchantId) } }),
    }),
    defineRoute({
      operationId: 'createApiKey',
      method: 'post',
      path: '/api-keys',
      tag: 'API keys',
      summary: 'Create a secret API key',
      auth: 'merchant',
      body: CreateApiKeyBody,
      response: { status: 201, description: 'The key, with its secret shown once', schema: NewApiKeyView },
      redactOnReplay: (key) => ({ ...key, secret: null }),
      handler: async ({ principal, body }) => ({ body: await createApiKey(clock, principal!.merchantId, body.name) }),
    }),
    defineRoute({
      operationId: 'revokeApiKey',
      method: 'post',
      path: '/api-keys/:id/revoke',
      tag: 'API keys',
      summary: 'Revoke an API key at once',
      auth: 'merchant',
      params: ApiKeyParams,
      response: { status: 200, description: 'The revoked key', schema: ApiKeyView },
      handler: async ({ principal, params }) => ({ body: await revokeApiKey(clock, principal!.merchantId, params.id) }),
    }),
  ];
}
