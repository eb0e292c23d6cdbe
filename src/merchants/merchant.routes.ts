import type { Request } from 'express';
import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import {
  ApiKeyList,
  ApiKeyParams,
  ApiKeyView,
  ConfirmSignUpBody,
  CreateApiKeyBody,
  LogInBody,
  MerchantView,
  NewApiKeyView,
  SignUpAccepted,
  SignUpBody,
  SignUpResponse,
  UpdateMerchantBody,
} from './merchant.schemas';
import {
  confirmMerchantSignUp,
  createApiKey,
  getMerchant,
  listApiKeys,
  logInMerchant,
  requestMerchantSignUp,
  revokeApiKey,
  SIGN_UP_CONFIRMATION_HOURS,
  updateMerchant,
  type SignUpDeps,
} from './merchant.service';

const clientIp = (req: Request): string => req.ip ?? 'unknown';

/** Secrets are shown once: a replayed response says a key was issued but does not show it again. */
function withoutSecret<T extends { apiKey: { secret: string | null } }>(body: T): T {
  return { ...body, apiKey: { ...body.apiKey, secret: null } };
}

export function merchantRoutes(deps: { clock: Clock; publicUrl: string; queueMessage: SignUpDeps['queueMessage'] }): RouteDefinition[] {
  const { clock } = deps;
  const signUpDeps: SignUpDeps = { clock, publicUrl: deps.publicUrl, queueMessage: deps.queueMessage };
  return [
    defineRoute({
      operationId: 'signUpMerchant',
      method: 'post',
      path: '/merchants',
      tag: 'Merchants',
      summary: 'Sign a merchant up',
      description: `Sends a message to the address, and answers the same whether or not it already has a store (so no one learns which addresses have accounts). A new address gets a confirmation token that works once within ${SIGN_UP_CONFIRMATION_HOURS} hours: \`POST /merchants/confirmations\` with it opens the store. An address that has a store is told someone tried, and how to log in. The password is checked here (400 naming \`body.password\` and why).`,
      auth: 'none',
      body: SignUpBody,
      response: { status: 202, description: 'Accepted: a message is on its way to the address', schema: SignUpAccepted },
      rateLimit: { name: 'sign-up', limit: 10, windowSeconds: 3600, key: (req) => clientIp(req) },
      handler: async ({ body }) => ({ status: 202, body: await requestMerchantSignUp(signUpDeps, body) }),
    }),
    defineRoute({
      operationId: 'confirmMerchantSignUp',
      method: 'post',
      path: '/merchants/confirmations',
      tag: 'Merchants',
      summary: 'Confirm a sign-up: open the store',
      description:
        'With the token from the sign-up message: creates the merchant and its first secret API key. The key is in the response once and never again (a replay with the same Idempotency-Key shows `secret: null`). A token works once; an unknown, used or expired one answers 400 naming `body.token`; 409 `email_taken` when the address got a store meanwhile.',
      auth: 'none',
      body: ConfirmSignUpBody,
      response: { status: 201, description: 'The merchant and its first API key', schema: SignUpResponse },
      errors: [409],
      rateLimit: { name: 'sign-up-confirmation', limit: 20, windowSeconds: 3600, key: (req) => clientIp(req) },
      secret: true,
      redactOnReplay: withoutSecret,
      handler: async ({ body }) => ({ status: 201, body: await confirmMerchantSignUp(clock, body.token) }),
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
      rateLimit: [
        // One address guessed at: 10 tries per 15 minutes from one IP.
        { name: 'log-in', limit: 10, windowSeconds: 900, key: (req, body) => `${clientIp(req)}|${body.email}` },
        // Password spraying, a few guesses at many addresses: one IP's budget across all addresses.
        { name: 'log-in-ip', limit: 30, windowSeconds: 900, key: (req) => clientIp(req) },
      ],
      secret: true,
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
      secret: true,
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
