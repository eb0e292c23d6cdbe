import { Router } from 'express';
import type { Readiness } from './health.service';

export interface HealthRoutesDeps {
  checkReadiness: () => Promise<Readiness>;
  /** True once shutdown began: report not ready so load balancers stop sending traffic. */
  isDraining: () => boolean;
  version: string;
}

export function healthRoutes(deps: HealthRoutesDeps): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.set('cache-control', 'no-store').json({
      status: 'ok',
      version: deps.version,
      uptimeSeconds: Math.round(process.uptime()),
    });
  });

  router.get('/readyz', async (_req, res) => {
    if (deps.isDraining()) {
      res.status(503).set('cache-control', 'no-store').json({ status: 'draining' });
      return;
    }
    const readiness = await deps.checkReadiness();
    res
      .status(readiness.status === 'ok' ? 200 : 503)
      .set('cache-control', 'no-store')
      .json(readiness);
  });

  return router;
}
