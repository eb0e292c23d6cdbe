import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { addToLogContext } from '../log-context';
import { AppError, InvalidInputError, UnauthorizedError, UnsupportedMediaTypeError, ValidationError } from '../errors';
import type { Clock } from '../time';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../problem';
import { validate } from '../validate';
import { watchAnswer } from './answer-check';
import {
  beginIdempotentRequest,
  completeIdempotentRequest,
  IDEMPOTENCY_HEADER,
  idempotencyScope,
  parseIdempotencyKey,
  releaseIdempotentRequest,
  requestFingerprint,
} from './idempotency';
import { consumeRateLimit } from './rate-limit';
import type { MerchantPrincipal, RouteDefinition } from './route';

export interface ApiRouterDeps {
  clock: Clock;
  /** Resolves a bearer token to the merchant it belongs to, or undefined when it is unknown, revoked or expired. */
  authenticate: (token: string) => Promise<MerchantPrincipal | undefined>;
  /** Check every response against its documented schema (on in development and tests). */
  checkResponses: boolean;
}

const BEARER = /^Bearer ([A-Za-z0-9_]{10,200})$/;
const PERMANENT_REFUSALS = new Set([400, 401, 403, 404, 413, 415, 422]);
/** For responses that carry a secret: no browser, proxy or CDN may keep a copy (HTTP/1.0 caches read Pragma). */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

async function principalOf(req: Request, deps: ApiRouterDeps): Promise<MerchantPrincipal> {
  const header = req.headers.authorization;
  const match = header ? BEARER.exec(header) : null;
  if (!match?.[1]) {
    throw new UnauthorizedError('Send your secret API key as `Authorization: Bearer <key>`.');
  }
  const principal = await deps.authenticate(match[1]);
  if (!principal) throw new UnauthorizedError('This API key is not valid: it is unknown, revoked or expired.');
  return principal;
}

function readBody(req: Request, route: RouteDefinition): unknown {
  const hasBody = (req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is('application/json')) {
    throw new UnsupportedMediaTypeError('Send the request body as JSON with `Content-Type: application/json`.');
  }
  if (!route.body) return undefined;
  return req.body ?? {};
}

/** Where an input a service names came from: the part of the request whose schema has that field (the body first). */
function partOf(field: string, route: RouteDefinition): 'body' | 'query' | 'params' {
  const top = field.split('.')[0] ?? field;
  const has = (schema: unknown): boolean => schema instanceof z.ZodObject && top in schema.shape;
  if (has(route.body)) return 'body';
  if (has(route.query)) return 'query';
  if (has(route.params)) return 'params';
  return 'body';
}

/** A service's domain-worded input error, as the API says it: each field under the part of the request it came from. */
function atTheEdge(error: InvalidInputError, route: RouteDefinition): ValidationError {
  return new ValidationError(error.issues.map((issue) => ({ field: `${partOf(issue.field, route)}.${issue.field}`, message: issue.message })));
}

/** Runs one route: authenticate, validate, rate-limit, honour Idempotency-Key, call the handler, answer. */
function runRoute(route: RouteDefinition, deps: ApiRouterDeps) {
  const rateLimits = route.rateLimit === undefined ? [] : Array.isArray(route.rateLimit) ? route.rateLimit : [route.rateLimit];
  return async (req: Request, res: Response): Promise<void> => {
    if (deps.checkResponses) watchAnswer(route, res);
    // The route's pattern for the request metrics (never the raw URL, whose ids would make a label each).
    res.locals.routePattern = `${req.baseUrl}${route.path}`;
    // First, so that every answer of the route, refusals and replays too, carries it.
    if (route.secret) res.set(NO_STORE);
    const principal = route.auth === 'none' ? undefined : await principalOf(req, deps);
    // From here on, every line logged for this request names the store.
    if (principal) addToLogContext({ merchantId: principal.merchantId });
    if (principal && route.auth === 'merchant' && principal.customerId)
      throw new UnauthorizedError('A shopper session cannot call merchant operations: use a secret API key.');
    if (principal && route.auth === 'shopper' && !principal.customerId)
      throw new UnauthorizedError('This operation is for shoppers: send a shopper session key (POST /customers/{id}/shopper-sessions).');
    const params = route.params ? validate(route.params, req.params, 'params') : {};
    const query = route.query ? validate(route.query, req.query, 'query') : {};
    const rawBody = readBody(req, route);
    const body = route.body ? validate(route.body, rawBody, 'body') : undefined;

    for (const rateLimit of rateLimits) {
      await consumeRateLimit(deps.clock, rateLimit, rateLimit.key(req, body));
    }

    const requestKey = route.method === 'get' ? undefined : parseIdempotencyKey(req.get(IDEMPOTENCY_HEADER));
    let recordId: string | undefined;
    let idempotencyKey: string | undefined;
    if (requestKey) {
      const fingerprint = requestFingerprint(route.method, req.originalUrl.split('?')[0] ?? req.path, rawBody);
      const { scope, handlerKey } = idempotencyScope(principal, fingerprint, requestKey);
      idempotencyKey = handlerKey;
      const start = await beginIdempotentRequest(deps.clock, scope, requestKey, fingerprint);
      if (start.kind === 'replay') {
        res.status(start.status).set('idempotent-replayed', 'true');
        if (start.status >= 400) res.type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(start.body));
        else res.json(start.body);
        return;
      }
      recordId = start.recordId;
    }

    try {
      const result = await route.handler({ params, query, body, principal, idempotencyKey, req, res });
      const status = result.status ?? route.response.status;
      const out = deps.checkResponses ? route.response.schema.parse(result.body) : result.body;
      if (recordId) {
        const stored = route.redactOnReplay ? route.redactOnReplay(out) : out;
        await completeIdempotentRequest(deps.clock, recordId, status, JSON.parse(JSON.stringify(stored)));
      }
      if (result.headers) res.set(result.headers);
      if (result.text) res.status(status).type(result.text.contentType).send(result.text.content);
      else res.status(status).json(out);
    } catch (thrown) {
      const error = thrown instanceof InvalidInputError ? atTheEdge(thrown, route) : thrown;
      if (recordId) {
        // A refusal that will not change (bad input, not found, key reuse) is the answer and is replayed;
        // a conflict, a rate limit or a failure may go differently on retry, so the key is released.
        if (error instanceof AppError && PERMANENT_REFUSALS.has(error.status)) {
          await completeIdempotentRequest(deps.clock, recordId, error.status, toProblem(error, req.originalUrl));
        } else {
          await releaseIdempotentRequest(recordId);
        }
      }
      throw error;
    }
  };
}

export function apiRouter(routes: RouteDefinition[], deps: ApiRouterDeps): Router {
  const router = Router();
  for (const route of routes) router[route.method](route.path, runRoute(route, deps));
  return router;
}
