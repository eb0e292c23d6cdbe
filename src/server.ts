import http from 'node:http';
import type { Express } from 'express';

export interface WebServer {
  server: http.Server;
  port: number;
  /** Stops accepting connections and waits for in-flight requests; idle keep-alive sockets are closed at once. */
  close(): Promise<void>;
}

export function listen(app: Express, port: number, host: string): Promise<WebServer> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const boundPort = typeof address === 'object' && address ? address.port : port;
      const close = (): Promise<void> =>
        new Promise<void>((done) => {
          server.close(() => done());
          server.closeIdleConnections();
        });
      resolve({ server, port: boundPort, close });
    });
  });
}
