import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/local/project-paths';
import { runCommand } from '../../src/local/run-command';

const MAIN = path.join(projectRoot, 'dist', 'src', 'main.js');

/** Compiles the app as `npm start` does, so the tests run the real entry point. */
export async function buildAppOnce(): Promise<void> {
  await runCommand(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: projectRoot,
  });
}

/** The environment of a fresh shell: none of the app's variables, none of the test run's. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(MONGODB_|STRIPE_|SMTP_|MAIL_|APP_SECRET|TEST_|LOCAL_DB|DATA_DIR|PORT|HOST|PUBLIC_URL|SEED_DEMO|LOG_|NODE_ENV|JEST_)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export interface AppProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of the pattern in stdout+stderr. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startAppProcess(role: 'all' | 'web' | 'worker', env: NodeJS.ProcessEnv): AppProcess {
  const child = spawn(process.execPath, [MAIN, role], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    listeners.forEach((listener) => listener());
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = output.match(pattern);
        if (!match) return;
        cleanup();
        resolve(match);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output.slice(-3000)}`));
      }, timeoutMs);
      const onExit = (): void => {
        cleanup();
        reject(new Error(`process exited before ${pattern}; output:\n${output.slice(-3000)}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
      };
      listeners.add(check);
      child.once('exit', onExit);
      check();
    });
  return { child, output: () => output, waitFor, exited };
}

/** Polls a URL until it answers 200 (the process is real; its readiness depends on its own worker loop). */
export async function waitForOk(url: string, timeoutMs = 30_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return await res.json();
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms: ${last}`);
}

/** Sends SIGTERM and measures how long the process takes to exit. */
export async function terminate(app: AppProcess): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  app.child.kill('SIGTERM');
  const { code } = await app.exited;
  return { code, ms: Date.now() - started };
}
