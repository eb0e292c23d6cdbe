import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Logger } from '../shared/logger';
import type { Metrics } from './metrics';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * `GET /metrics` in Prometheus's text format, on a port of its own (METRICS_PORT), so the public port never
 * serves it and a network policy can keep it private. With a token (METRICS_TOKEN) a scrape must send
 * `Authorization: Bearer <token>`: 401 otherwise. Every other path answers 404.
 */
export function metricsRequestHandler(metrics: Metrics, options: { token?: string | undefined; logger: Logger }): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
      return;
    }
    if (options.token) {
      const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      if (!match?.[1] || !sameSecret(match[1], options.token)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain; charset=utf-8' }).end('Send the metrics token\n');
        return;
      }
    }
    metrics.registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, 'could not render metrics');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics failed: see the log\n');
      },
    );
  };
}

export function startMetricsServer(
  metrics: Metrics,
  options: { port: number; host: string; token?: string | undefined; logger: Logger },
): Promise<MetricsServer> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(metricsRequestHandler(metrics, options));
    server.keepAliveTimeout = 5_000;
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : options.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
