import type { Request, Response } from 'express';
import type { z } from 'zod';
import { actors, type Actor } from '../../events/fact-types';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The merchant a request acts for, from its API key. Every query a route makes is scoped by it. */
export interface MerchantPrincipal {
  merchantId: string;
  apiKeyId: string;
  /** Set for a shopper session: the one customer it acts for (only `auth: 'shopper'` routes accept it). */
  customerId?: string;
}

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Present on every route with `auth: 'merchant'` or `'shopper'` (then with `customerId`). */
  principal: MerchantPrincipal | undefined;
  /**
   * The request's Idempotency-Key, for operations that derive stable ids from it, already scoped to the
   * caller: a shopper session's key never names what the merchant (or another shopper) made with the same key.
   */
  idempotencyKey: string | undefined;
  req: Request;
  res: Response;
}

export interface RouteResult<R> {
  status?: number;
  body: R;
  headers?: Record<string, string>;
  /** Answer with this text instead of the JSON body (e.g. a CSV export), in a media type of `response.alternatives`; the body is still checked. */
  text?: { contentType: string; content: string };
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

/** A fixed-window budget of requests per key (an IP, an IP and an e-mail), shared by every web process. */
export interface RateLimitRule<B = unknown> {
  name: string;
  limit: number;
  windowSeconds: number;
  key: (req: Request, body: B) => string;
}

/** A problem an operation can answer besides those every operation of its kind can give (documented with its type). */
export interface ProblemDoc {
  status: number;
  /** The problem's code: its `type` is `/problems/<code>`. */
  code: string;
  /** When it is answered, in the client's words. */
  when: string;
}

/** Another media type the success answer can have (a handler returning `text` must use one of these). */
export interface AlternativeMediaType {
  /** The media type without parameters, e.g. `text/csv`. */
  mediaType: string;
  /** When it is answered and what it holds. */
  description: string;
}

/**
 * One API operation: its validation at the edge, its documentation (the OpenAPI document is generated from
 * these), and its handler, which only calls services. Unknown fields are refused by the strict schemas.
 */
export interface RouteDefinition<
  P extends AnyObject = AnyObject,
  Q extends AnyObject = AnyObject,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  operationId: string;
  method: HttpMethod;
  /** Express-style path under /api/v1, e.g. `/plans/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** `merchant`: a secret or session key; `shopper`: a shopper session (acts for one customer); `none`: public. */
  auth: 'merchant' | 'shopper' | 'none';
  params?: P;
  query?: Q;
  body?: B;
  response: { status: number; description: string; schema: R; alternatives?: AlternativeMediaType[] };
  /**
   * Problems this operation documents besides those its kind always can give (400, 500; 401 with auth; 404 with
   * params; 409, 413, 415 and 422 for writes; 429 with a rate limit): a status with a standard meaning, or a
   * problem type and when it is answered.
   */
  errors?: Array<number | ProblemDoc>;
  /** Rate limits for this operation (sign-up, log-in); with several, each must have room. */
  rateLimit?: RateLimitRule<z.output<B>> | Array<RateLimitRule<z.output<B>>>;
  /**
   * The response carries a secret (a key or token shown once): it is sent with `Cache-Control: no-store`
   * (and `Pragma: no-cache`), so no browser, proxy or CDN keeps a copy. Use with `redactOnReplay`.
   */
  secret?: boolean;
  /** Whether the stored replay of this operation must not keep a field (secrets shown once). */
  redactOnReplay?: (body: z.output<R>) => z.output<R>;
  handler: (ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>) => Promise<RouteResult<z.input<R>> | RouteResult<z.output<R>>>;
}

/** Who a request acts as, for the facts its changes record: the shopper of a shopper session, else the merchant's key. */
export function actorFor(principal: MerchantPrincipal | undefined): Actor {
  if (!principal) return actors.system();
  return principal.customerId ? actors.shopper(principal.customerId) : actors.merchant(principal.apiKeyId);
}

/** Keeps each route's types while collecting them in one list. */
export function defineRoute<P extends AnyObject, Q extends AnyObject, B extends z.ZodType, R extends z.ZodType>(
  route: RouteDefinition<P, Q, B, R>,
): RouteDefinition {
  return route;
}
