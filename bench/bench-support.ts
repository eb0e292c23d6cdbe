/**
 * Plumbing for the benchmarks (`npm run bench`, bench/*.bench.ts): the database and stripe-mock, settings from
 * the environment, the processes under load as children, a small HTTP poster, CPU shares, a bounded pool,
 * percentiles and medians. Nothing here knows about billing.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import { z } from 'zod';
import { LOCAL_DB_ENGINES, startLocalDatabase, type LocalDbEngine } from '../src/local/local-database';
import { startLocalStripeMock } from '../src/local/local-stripe-mock';
import { disconnectDatabase } from '../src/shared/db';

export const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};
export const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

// ---------------------------------------------------------------------------------------------------------
// The database and stripe-mock
// ---------------------------------------------------------------------------------------------------------

export interface Services {
  mongoUri: string;
  /** The local server that runs (`mongo-java-server`…), or `MONGODB_URI`. */
  engine: string;
  databaseDescription: string;
  stripeHost: string;
  stripePort: number;
  stop(): Promise<void>;
}

/**
 * The database and stripe-mock, as the tests' global setup gets them (test/helpers/global-setup.ts; MONGODB_URI
 * and STRIPE_API_HOST/PORT when set). Also sets the TEST_ variables the test helpers read (stripe-mock client, config).
 */
export async function startServices(logTo: (message: string) => void = log): Promise<Services> {
  const engine = process.env.LOCAL_DB || 'auto';
  if (!(LOCAL_DB_ENGINES as readonly string[]).includes(engine)) throw new Error(`LOCAL_DB must be one of ${LOCAL_DB_ENGINES.join(', ')}`);
  const javaHeap = process.env.LOCAL_DB_JAVA_HEAP || undefined;
  if (javaHeap && !/^\d{1,3}[mg]$/.test(javaHeap)) throw new Error('LOCAL_DB_JAVA_HEAP must look like 12g or 4096m');
  // A folder for the local server's data (mongo-java-server: an H2 file instead of memory), for stores bigger than its heap.
  const dataDir = process.env.LOCAL_DB_DATA_DIR || undefined;
  // mongo-java-server in memory: one copy of each field name and short string (LOCAL_DB_SHARED_STRINGS=1), for big stores.
  const sharedStrings = process.env.LOCAL_DB_SHARED_STRINGS === '1';
  const [database, stripeMock] = await Promise.all([
    process.env.MONGODB_URI
      ? undefined
      : startLocalDatabase({ engine: engine as LocalDbEngine, log: logTo, ...(javaHeap ? { javaHeap } : {}), ...(dataDir ? { dataDir } : {}), sharedStrings }),
    process.env.STRIPE_API_HOST ? undefined : startLocalStripeMock(logTo),
  ]);
  const stops = [database?.stop, stripeMock?.stop].filter((stop): stop is () => Promise<void> => stop !== undefined);
  const services = {
    mongoUri: database?.uri ?? process.env.MONGODB_URI!,
    engine: database?.engine ?? 'MONGODB_URI',
    databaseDescription: database ? `local ${database.engine} (${database.storage})` : 'MONGODB_URI',
    stripeHost: stripeMock?.host ?? process.env.STRIPE_API_HOST!,
    stripePort: stripeMock?.port ?? Number(process.env.STRIPE_API_PORT || 12111),
    stop: async () => {
      await Promise.all(stops.map((stop) => stop()));
    },
  };
  process.env.TEST_MONGODB_URI = services.mongoUri;
  process.env.TEST_STRIPE_HOST = services.stripeHost;
  process.env.TEST_STRIPE_PORT = String(services.stripePort);
  return services;
}

/** A bench's end, whatever happened: its databases dropped (when it got connected), the connection closed, the services stopped. Never throws. */
export async function tearDownBench(services: Services | undefined, databases: readonly string[], connected: boolean): Promise<void> {
  if (connected) {
    for (const name of databases)
      await mongoose.connection
        .getClient()
        .db(name)
        .dropDatabase()
        .catch(() => undefined);
    await disconnectDatabase().catch(() => undefined);
  }
  await services?.stop().catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------------------

const Count = (fallback: number) => z.coerce.number().int().positive().default(fallback);
export const PIPELINE_MODES = ['direct', 'worker1', 'worker2'] as const;
export type PipelineMode = (typeof PIPELINE_MODES)[number];

/** Every knob of the webhook bench; an empty variable counts as unset, a bad one stops the bench naming it. */
export const BenchEnv = z.object({
  BENCH_DURATION_S: Count(10),
  BENCH_WARMUP_S: z.coerce.number().int().min(0).default(5),
  BENCH_ROUNDS: Count(5),
  BENCH_CONNECTIONS: Count(10),
  BENCH_DUPLICATE_PERCENT: z.coerce.number().min(0).max(50).default(0),
  BENCH_PARTS: z
    .string()
    .default('ack,pipeline')
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(z.enum(['ack', 'pipeline']))),
  BENCH_PIPELINE_EVENTS: Count(400),
  BENCH_PIPELINE_ROUNDS: Count(3),
  BENCH_PIPELINE_MODES: z
    .string()
    .default(PIPELINE_MODES.join(','))
    .transform((value) =>
      value
        .split(',')
        .map((mode) => mode.trim())
        .filter((mode) => mode !== ''),
    )
    .pipe(z.array(z.enum(PIPELINE_MODES)).min(1)),
  BENCH_PIPELINE_TIMEOUT_S: Count(180),
  BENCH_WORKER_CONCURRENCY: Count(10),
  BENCH_ACK_ROLE: z.enum(['web', 'all']).default('web'),
  BENCH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'silent']).default('warn'),
  BENCH_JSON: z.string().optional(),
});
export type BenchSettings = z.output<typeof BenchEnv>;

export class SettingsError extends Error {
  override name = 'SettingsError';
}

export function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  return readEnv(BenchEnv, env);
}

/** Parses the BENCH_ variables with a bench's schema; unknown ones are ignored (each bench has its own). */
export function readEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([name, value]) => name.startsWith('BENCH_') && value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - ${issue.path.join('.')}: ${issue.message}`);
    throw new SettingsError(`Invalid bench settings:\n${problems.join('\n')}`);
  }
  return parsed.data;
}

export function describeMachine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${os.availableParallelism()} CPUs (${cpu}), ${memGiB} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** The commit measured, and whether src/ or jobs/ differ from it (figures then describe uncommitted code). */
export function describeCode(cwd: string): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src', 'jobs'], { cwd, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return changed > 0 ? `${commit} with ${changed} uncommitted changes under src/ and jobs/` : `${commit} (src/ and jobs/ as committed)`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Target servers (bench/webhook-target.ts) in child processes
// ---------------------------------------------------------------------------------------------------------

export const TARGET_ROLES = ['baseline', 'insert', 'web', 'all', 'worker', 'direct'] as const;
/** Where the `insert` baseline stores events: beside the inbox, with the inbox's indexes. */
export const BASELINE_COLLECTION = 'webhook_events_baseline';
export type TargetRole = (typeof TARGET_ROLES)[number];

/** What the bench hands a target in its environment. */
export interface TargetEnv {
  BENCH_MONGODB_URI: string;
  BENCH_MONGODB_DB: string;
  BENCH_STRIPE_HOST: string;
  BENCH_STRIPE_PORT: string;
  BENCH_WEBHOOK_SECRET: string;
  BENCH_LOG_LEVEL: string;
  /** The worker's inbox consumer concurrency (passed through to the real roles). */
  WEBHOOK_CONCURRENCY?: string;
}

export interface Target {
  role: TargetRole;
  port: number;
  pid: number;
  /** Warnings and errors the target logged (pino level ≥ 40) and anything it wrote that is not a log line. */
  problems(): { count: number; samples: string[] };
  /** Sends a message and waits for the target's next answer (the `direct` role's work orders). */
  ask(message: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts a target as a child process (its own event loop and CPU time) and waits until it listens. */
export function startTarget(role: TargetRole, env: TargetEnv): Promise<Target> {
  const child: ChildProcess = fork(path.join(__dirname, 'webhook-target.js'), [role], {
    env: { ...process.env, ...env },
    // BENCH_TARGET_NODE_ARGS adds Node flags to the processes under load, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
    execArgv: ['--enable-source-maps', ...(process.env.BENCH_TARGET_NODE_ARGS ?? '').split(' ').filter(Boolean)],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let problemCount = 0;
  const samples: string[] = [];
  const note = (line: string): void => {
    problemCount += 1;
    if (samples.length < 5) samples.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
  };
  const onLine = (line: string): void => {
    if (!line.trim()) return;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((entry.level ?? 0) >= 40) note(`${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`);
    } catch {
      note(line);
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(onLine);
    });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return new Promise<Target>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${role} target did not start within 60 s: ${samples.join(' | ')}`));
    }, 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the ${role} target exited before listening (code ${code}, signal ${signal}): ${samples.join(' | ')}`));
    });
    const answers: Array<(message: unknown) => void> = [];
    child.once('message', (message) => {
      clearTimeout(timer);
      child.on('message', (answer) => answers.shift()?.(answer));
      const port = (message as { port?: unknown }).port;
      if (typeof port !== 'number') {
        reject(new Error(`the ${role} target sent ${JSON.stringify(message)}`));
        return;
      }
      resolve({
        role,
        port,
        pid: child.pid ?? -1,
        problems: () => ({ count: problemCount, samples: [...samples] }),
        ask: (request) =>
          new Promise((resolveAnswer) => {
            answers.push(resolveAnswer);
            child.send(request as never);
          }),
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          if (child.connected) child.send('stop');
          else child.kill('SIGTERM');
          const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(killTimer);
        },
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Posting signed deliveries (the end-to-end part; the throughput part uses autocannon)
// ---------------------------------------------------------------------------------------------------------

export interface Delivery {
  payload: string;
  header: string;
}

export interface PostOutcome {
  status: number;
  body: string;
  ms: number;
}

/** Posts deliveries to `POST /webhooks/stripe` over `connections` keep-alive connections; each is signed just before it is sent. */
export async function postAll<T>(port: number, items: T[], connections: number, sign: (item: T) => Delivery): Promise<PostOutcome[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  try {
    return await mapPool(items, connections, (item) => postOne(agent, port, sign(item)));
  } finally {
    agent.destroy();
  }
}

function postOne(agent: http.Agent, port: number, delivery: Delivery): Promise<PostOutcome> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/webhooks/stripe',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(delivery.payload), 'stripe-signature': delivery.header },
        timeout: 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - started }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('request timed out after 30 s')));
    request.on('error', reject);
    request.end(delivery.payload);
  });
}

// ---------------------------------------------------------------------------------------------------------
// CPU: the machine is small (2 cores here) and shared by the load generator, the server, the database
// and anything else running; these figures say how much of it each had while a figure was measured.
// ---------------------------------------------------------------------------------------------------------

interface MachineTicks {
  busy: number;
  steal: number;
  total: number;
}

/** Whole-machine CPU ticks: /proc/stat on Linux (which also counts time the hypervisor stole), else os.cpus(). */
function machineTicks(): MachineTicks {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
    return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
  } catch {
    let busy = 0;
    let total = 0;
    for (const cpu of os.cpus()) {
      const { user, nice, sys, idle, irq } = cpu.times;
      busy += user + nice + sys + irq;
      total += user + nice + sys + idle + irq;
    }
    return { busy, steal: 0, total };
  }
}

interface ProcessStat {
  ppid: number;
  comm: string;
  /** CPU seconds used so far. */
  cpu: number;
}

/** Every process's parent, name and CPU seconds (Linux /proc; empty elsewhere). */
function processTable(): Map<number, ProcessStat> {
  const table = new Map<number, ProcessStat>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return table;
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // After the name come the state (field 3), the parent (4) … utime (14) and stime (15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { ppid: Number(fields[1]), comm, cpu: (Number(fields[11]) + Number(fields[12])) / 100 }); // USER_HZ is 100 on Linux
    } catch {
      // the process ended meanwhile
    }
  }
  return table;
}

type Part = 'target' | 'database' | 'stripeMock' | 'otherChildren';

/** CPU seconds of this process's descendants, by role: the target server(s), the database, stripe-mock. */
function descendantsCpu(targetPids: readonly number[]): Record<Part, number> {
  const table = processTable();
  const sums: Record<Part, number> = { target: 0, database: 0, stripeMock: 0, otherChildren: 0 };
  const isDescendant = (pid: number): boolean => {
    for (let current = table.get(pid)?.ppid, hops = 0; current !== undefined && hops < 10; current = table.get(current)?.ppid, hops += 1) {
      if (current === process.pid) return true;
    }
    return false;
  };
  for (const [pid, stat] of table) {
    if (pid === process.pid || !isDescendant(pid)) continue;
    const part: Part = targetPids.includes(pid)
      ? 'target'
      : /^(java|mongod|ferretdb)$/.test(stat.comm)
        ? 'database'
        : stat.comm.startsWith('stripe-mock')
          ? 'stripeMock'
          : 'otherChildren';
    sums[part] += stat.cpu;
  }
  return sums;
}

export interface CpuShare {
  cores: number;
  /** Busy share of the whole machine, in % of one core (200 % = both cores of a 2-core machine). */
  machinePct: number;
  /** CPU the hypervisor gave to other machines while we wanted it (% of one core). */
  stealPct: number;
  /** This process: the load generator (and, end to end, the direct processing). */
  benchPct: number;
  /** The process(es) under load. */
  targetPct: number;
  /** The local database server (mongo-java-server's JVM) when the bench started it. */
  databasePct: number;
  stripeMockPct: number;
  /** Everything else on the machine (another test run, an external database, …). */
  otherPct: number;
}

/** Starts measuring; the returned function stops and answers each one's share over the window. */
export function measureCpu(target: number | readonly number[] | undefined): () => CpuShare {
  const targetPids = target === undefined ? [] : typeof target === 'number' ? [target] : target;
  const machine0 = machineTicks();
  const self0 = process.cpuUsage();
  const children0 = descendantsCpu(targetPids);
  const started = performance.now();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const machine1 = machineTicks();
    const children1 = descendantsCpu(targetPids);
    const cores = os.availableParallelism();
    const share = (ticks: number): number => (100 * cores * ticks) / Math.max(1, machine1.total - machine0.total);
    const machinePct = share(machine1.busy - machine0.busy);
    const self1 = process.cpuUsage(self0);
    const pct = (cpuSeconds: number): number => (100 * cpuSeconds) / seconds;
    const benchPct = pct((self1.user + self1.system) / 1e6);
    const targetPct = pct(children1.target - children0.target);
    const databasePct = pct(children1.database - children0.database);
    const stripeMockPct = pct(children1.stripeMock - children0.stripeMock);
    const known = benchPct + targetPct + databasePct + stripeMockPct + pct(children1.otherChildren - children0.otherChildren);
    return {
      cores,
      machinePct,
      stealPct: share(machine1.steal - machine0.steal),
      benchPct,
      targetPct,
      databasePct,
      stripeMockPct,
      otherPct: Math.max(0, machinePct - known),
    };
  };
}

/**
 * Waits (at most `maxMs`) until the machine is nearly idle: stripe-mock spends several CPU-seconds
 * loading its spec after it says it listens, and a test run beside the bench would skew every figure.
 * Answers the busy share of the last sample, in % of one core.
 */
export async function waitForQuietMachine(maxMs: number, busyBelowPct = 25): Promise<{ busyPct: number; waitedMs: number }> {
  const started = performance.now();
  for (;;) {
    const before = machineTicks();
    await sleep(1000);
    const after = machineTicks();
    const busyPct = (100 * os.availableParallelism() * (after.busy - before.busy)) / Math.max(1, after.total - before.total);
    const waitedMs = performance.now() - started;
    if (busyPct < busyBelowPct || waitedMs >= maxMs) return { busyPct, waitedMs };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

/** Runs `fn` over `items` with at most `concurrency` at once; results in input order. */
export async function mapPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

export interface Percentiles {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Exact percentiles (nearest rank) of latencies in milliseconds. */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  let sum = 0;
  for (const value of sorted) sum += value;
  return { count: sorted.length, mean: sum / sorted.length, p50: rank(50), p90: rank(90), p99: rank(99), max: sorted[sorted.length - 1]! };
}

/** The median of some numbers (NaN when there are none). */
export function median(values: readonly number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `check` answers true, polling every `everyMs`; false when `timeoutMs` passed first. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
}

export const fmt = {
  rate: (value: number): string => (Number.isFinite(value) ? value.toFixed(value >= 100 ? 0 : 1) : 'n/a'),
  ms: (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)} ms` : 'n/a'),
  ratio: (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a'),
  cpu: (share: CpuShare): string =>
    `machine ${share.machinePct.toFixed(0)} % of ${share.cores * 100} % = server ${share.targetPct.toFixed(0)} % + bench process ${share.benchPct.toFixed(0)} % + database ${share.databasePct.toFixed(0)} % + stripe-mock ${share.stripeMockPct.toFixed(0)} % + other ${share.otherPct.toFixed(0)} %; stolen by the hypervisor ${share.stealPct.toFixed(0)} %`,
  pct: (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '0 %'),
};

// ---------------------------------------------------------------------------------------------------------
// Targets: what issue 16 asks, printed beside what was measured (never asserted: a bench exits 0 either way)
// ---------------------------------------------------------------------------------------------------------

export interface TargetResult {
  /** What is compared, in words. */
  name: string;
  /** The figure and its baseline, as measured in this run. */
  measured: string;
  value: number;
  /** At least (`min`) or at most (`max`) this; `report`: printed beside the others, no target. */
  goal: { kind: 'min' | 'max' | 'report'; value: number; unit: string };
  met: boolean;
}

export function target(name: string, measured: string, value: number, goal: TargetResult['goal']): TargetResult {
  const met = goal.kind === 'report' || (Number.isFinite(value) && (goal.kind === 'min' ? value >= goal.value : value <= goal.value));
  return { name, measured, value, goal, met };
}

export function printTargets(results: TargetResult[]): void {
  out('Targets (issue 16; ratios against a baseline measured in the same run; nothing here fails the run):');
  for (const result of results) {
    const value = Number.isFinite(result.value) ? `${result.value.toFixed(2)}${result.goal.unit}` : 'n/a';
    if (result.goal.kind === 'report') {
      out(`   [info] ${result.name}: ${value} (no target) — ${result.measured}`);
      continue;
    }
    const goal = `${result.goal.kind === 'min' ? '≥' : '≤'} ${result.goal.value}${result.goal.unit}`;
    out(`   [${result.met ? 'met ' : 'MISS'}] ${result.name}: ${value} (target ${goal}) — ${result.measured}`);
  }
}

/** Runs a bench's `main`: exit 0 when it finished (whatever its targets said), 1 with the reason when it crashed. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      const detail =
        error instanceof SettingsError || !(error instanceof Error) ? String(error instanceof Error ? error.message : error) : (error.stack ?? error.message);
      process.stderr.write(`[bench] failed: ${detail}\n`);
      process.exit(1);
    },
  );
}
