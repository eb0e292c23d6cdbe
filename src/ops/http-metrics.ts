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

/**
 * Times every request and counts it by method, route pattern and status. Stripe's webhook deliveries are
 * answered ahead of this middleware (src/webhooks/stripe-webhook.routes.ts) and counted by webhookAnswerRecorder.
 */
export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    rememberRoutePatterns(req, res);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequestDuration.observe({ method: req.method, route: routePatternOf(req, res), status: String(res.statusCode) }, seconds);
    });
    next();
  };
}

/** What an answer to a Stripe webhook delivery counts as. */
function webhookOutcomeOf(statusCode: number): 'acknowledged' | 'refused' | 'unavailable' {
  return statusCode < 300 ? 'acknowledged' : statusCode < 500 ? 'refused' : 'unavailable';
}

/**
 * Counts one answer to a Stripe webhook delivery: its latency under the route's pattern (as httpMetrics labels
 * every other route) and an acknowledgement by outcome. The labelled series are looked up once per status,
 * not per delivery.
 */
export function webhookAnswerRecorder(metrics: Metrics, route: string): (statusCode: number, seconds: number) => void {
  const series = new Map<number, { latency: { observe: (seconds: number) => void }; outcome: { inc: () => void } }>();
  return (statusCode, seconds) => {
    let known = series.get(statusCode);
    if (!known) {
      known = {
        latency: metrics.httpRequestDuration.labels({ method: 'POST', route, status: String(statusCode) }),
        outcome: metrics.webhookAcknowledgements.labels({ outcome: webhookOutcomeOf(statusCode) }),
      };
      series.set(statusCode, known);
    }
    known.latency.observe(seconds);
    known.outcome.inc();
  };
}
