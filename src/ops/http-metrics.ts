import type { Request, RequestHandler, Response } from 'express';
import type { Metrics } from './metrics';

/** Set by a router that knows the full pattern of the route it ran (`/api/v1/subscriptions/:id/skip`). */
export const ROUTE_PATTERN_LOCAL = 'routePattern';

/** The route pattern of a finished request: never its raw URL, whose ids would make a label per document. */
export function routePatternOf(req: Request, res: Response): string {
  const known: unknown = res.locals[ROUTE_PATTERN_LOCAL];
  if (typeof known === 'string') return known;
  if (req.originalUrl.startsWith('/static/')) return '/static/*';
  return 'unmatched';
}

/**
 * Keeps the pattern of the last route Express dispatched the request to, with the path its router is mounted
 * at, as it happens: Express forgets `req.route` (and restores `req.baseUrl`) when a handler's error travels
 * on to the error handler, so reading them when the answer is sent would label a page's 404 "unmatched".
 */
function rememberRoutePatterns(req: Request, res: Response): void {
  let current: unknown = undefined;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (route: unknown) => {
      current = route;
      const path = (route as { path?: unknown } | undefined)?.path;
      if (typeof path === 'string') res.locals[ROUTE_PATTERN_LOCAL] = `${req.baseUrl}${path}`;
    },
  });
}

const WEBHOOK_PATH = '/webhooks/stripe';

/**
 * Times every request and counts it by method, route pattern and status; answers to Stripe's webhook
 * deliveries also count as acknowledgements by outcome.
 */
export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    rememberRoutePatterns(req, res);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routePatternOf(req, res);
      metrics.httpRequestDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      if (req.method === 'POST' && req.originalUrl.split('?')[0] === WEBHOOK_PATH) {
        const outcome = res.statusCode < 300 ? 'acknowledged' : res.statusCode < 500 ? 'refused' : 'unavailable';
        metrics.webhookAcknowledgements.inc({ outcome });
      }
    });
    next();
  };
}
