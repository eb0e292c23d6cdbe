import { freePort, spawnService } from './child-service';
import { ensureStripeMock } from './local-tools';

export interface LocalStripeMock {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts Stripe's official stripe-mock on 127.0.0.1 (HTTP only). With `-strict-version-check` it refuses any
 * request whose Stripe-Version differs from its embedded spec, which proves our pinned apiVersion matches it.
 */
export async function startLocalStripeMock(log: (message: string) => void): Promise<LocalStripeMock> {
  const binary = await ensureStripeMock(log);
  const port = await freePort();
  // stripe-mock also opens HTTPS (on :12112 of every interface unless told otherwise): keep it on loopback too.
  const httpsPort = await freePort();
  const service = await spawnService({
    name: 'stripe-mock',
    command: binary,
    args: ['-http-addr', `127.0.0.1:${port}`, '-https-addr', `127.0.0.1:${httpsPort}`, '-strict-version-check'],
    readyWhen: { line: /Listening for HTTP at address: [\d.]+:(\d+)/ },
  });
  return { host: '127.0.0.1', port, stop: () => service.stop() };
}
