import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface ChildService {
  name: string;
  /** The groups of the ready line's pattern (empty when readiness was a TCP probe). */
  ready: RegExpMatchArray | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface SpawnServiceOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Ready when a line of stdout/stderr matches, or when this TCP port accepts a connection. */
  readyWhen: { line: RegExp } | { tcpPort: number };
  timeoutMs?: number;
  /**
   * Whether the program itself exits when its stdin closes (our launcher does). For programs that do not,
   * a small shell wrapper does it for them, so a parent killed with SIGKILL leaves no helper behind.
   */
  watchesStdin?: boolean;
}

/** `sh -c LIFELINE sh <command> <args…>`: runs the command, kills it when stdin closes or on TERM/INT. */
const LIFELINE = [
  // A background list's stdin is /dev/null in a non-interactive shell: keep ours on fd 3 for the watcher.
  'cmd="$1"; shift; exec 3<&0',
  '"$cmd" "$@" </dev/null & child=$!',
  "trap 'kill $child 2>/dev/null' TERM INT",
  '( cat <&3 >/dev/null; kill $child 2>/dev/null ) &',
  'wait $child; code=$?; wait $child 2>/dev/null; exit $code',
].join('\n');

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts a long-running helper process (database, stripe-mock) and resolves once it is ready.
 * Its stdin stays open as a lifeline: helpers that watch it exit when we die.
 */
export function spawnService(options: SpawnServiceOptions): Promise<ChildService> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const [command, args] = options.watchesStdin ? [options.command, options.args] : ['sh', ['-c', LIFELINE, 'sh', options.command, ...options.args]];
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => (exited = true));

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.stdin?.end();
    child.kill('SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exitedPromise;
    clearTimeout(killTimer);
  };

  return new Promise<ChildService>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, ready: RegExpMatchArray | null = null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      if (error) {
        void stop().finally(() => reject(error));
        return;
      }
      // Keep draining output so the child never blocks on a full pipe.
      resolve({ name: options.name, ready, process: child, stop });
    };
    const fail = (reason: string): Error => new Error(`${options.name} ${reason}. Last output:\n${output.slice(-3000)}`);

    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-20_000);
      if ('line' in options.readyWhen) {
        const match = output.match(options.readyWhen.line);
        if (match) finish(null, match);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', (error) => finish(fail(`could not start (${error.message})`)));
    child.once('exit', (code, signal) => finish(fail(`exited early (code ${code}, signal ${signal})`)));
    const timer = setTimeout(() => finish(fail(`was not ready within ${timeoutMs} ms`)), timeoutMs);
    const readyWhen = options.readyWhen;
    const poll =
      'tcpPort' in readyWhen
        ? setInterval(() => {
            void canConnect(readyWhen.tcpPort).then((ok) => ok && finish(null));
          }, 100)
        : setInterval(() => undefined, 60_000);
  });
}
