/**
 * `npm run bench:webhooks`: the webhook path of issue 16, each figure beside a baseline measured in the same run.
 * Not a test: it asserts nothing, prints its figures and the targets they meet or miss, and exits 0 either way.
 *
 * 1. Acknowledgement (`ack`): autocannon sends distinct signed `invoice.paid` events (a fresh event id, signed
 *    at send time, per request) to three servers, measured in alternating slices after a warm-up:
 *    `baseline` (verify the signature, answer), `insert` (verify, one insertOne into the same database, answer)
 *    and the real web role. Target: real ≥ 0.8× insert, real p99 ≤ 50 ms at 10 connections.
 * 2. Pipeline (`pipeline`): BENCH_PIPELINE_EVENTS subscriptions (one made through the API, copied in bulk), then
 *    per pass one `invoice.paid` each for a new cycle, stored in the inbox as the endpoint stores them, and
 *    processed by: `direct` (processWebhookEvent called BENCH_WORKER_CONCURRENCY at once in a process of its
 *    own), `worker1` (one real worker process, `npm run worker`) or `worker2` (two). BENCH_PIPELINE_ROUNDS
 *    rounds, the order rotated each round; medians. Targets: worker1 ≥ 0.6× direct, worker2 ≥ 1.6× worker1,
 *    every event processed exactly once and one order per invoice.
 *
 * Servers and workers run in child processes (bench/webhook-target.ts); autocannon runs here. The database
 * (MONGODB_URI, else a local server as the tests start one) and stripe-mock (STRIPE_API_HOST/PORT, else a
 * local one) are started when not given, and stopped at the end; the bench's databases are dropped.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import mongoose from 'mongoose';
import type Stripe from 'stripe';
import { drainFacts } from '../src/events/dispatcher.service';
import { listeners } from '../src/listeners';
import { projectRoot } from '../src/local/project-paths';
import { BoxOrderModel } from '../src/orders/box-order.model';
import { connectDatabase, syncIndexes } from '../src/shared/db';
import { FakeClock, systemClock } from '../src/shared/time';
import { createStripeGateway } from '../src/stripe/stripe-gateway';
import { WebhookEventModel } from '../src/webhooks/webhook-event.model';
import { inboxRowOf } from '../src/webhooks/webhook-inbox.service';
import { cloneSubscriptions, paidInvoiceEvents, type ClonedSubscription } from '../test/factories/bulk.factory';
import { buildPaidInvoice } from '../test/factories/invoice.factory';
import { createMerchant } from '../test/factories/merchant.factory';
import { subscribeShopper } from '../test/factories/subscription.factory';
import { buildEvent, signEvent, TEST_WEBHOOK_SECRET } from '../test/helpers/stripe-events';
import { buildTestApp } from '../test/helpers/test-app';
import { silentLogger, testStripe } from '../test/helpers/test-env';
import {
  BASELINE_COLLECTION,
  describeCode,
  describeMachine,
  fmt,
  log,
  measureCpu,
  median,
  out,
  percentiles,
  printTargets,
  readSettings,
  sleep,
  startServices,
  startTarget,
  target,
  waitForQuietMachine,
  waitUntil,
  type BenchSettings,
  type CpuShare,
  type Delivery,
  type Percentiles,
  type PipelineMode,
  type Services,
  type Target,
  type TargetEnv,
  type TargetResult,
  type TargetRole,
  tearDownBench,
  runBench,
} from './bench-support';

// ---------------------------------------------------------------------------------------------------------
// 1. Acknowledgement throughput
// ---------------------------------------------------------------------------------------------------------

/**
 * Fresh signed `invoice.paid` deliveries, one new event id each; with BENCH_DUPLICATE_PERCENT > 0, every
 * k-th delivery re-sends one of the last thousand events instead (a redelivery, which must be acknowledged
 * as a duplicate and change nothing).
 */
class DeliverySource {
  private made = 0;
  private readonly recent: Array<Record<string, unknown>> = [];
  private readonly duplicateEvery: number;

  constructor(
    private readonly stripe: Stripe,
    duplicatePercent: number,
  ) {
    this.duplicateEvery = duplicatePercent > 0 ? Math.max(2, Math.round(100 / duplicatePercent)) : 0;
  }

  next(): Delivery {
    this.made += 1;
    const now = systemClock.now();
    let event: Record<string, unknown>;
    if (this.duplicateEvery > 0 && this.made % this.duplicateEvery === 0 && this.recent.length > 0) {
      event = this.recent[this.made % this.recent.length]!;
    } else {
      const invoice = buildPaidInvoice(`sub_bench_${randomBytes(6).toString('hex')}`, now, 2600);
      event = buildEvent('invoice.paid', invoice, now);
      if (this.recent.length < 1000) this.recent.push(event);
      else this.recent[this.made % 1000] = event;
    }
    return signEvent(this.stripe, event, now);
  }
}

/** One autocannon run against one target. */
interface Slice {
  seconds: number;
  result: autocannon.Result;
  /** Every 2xx response time autocannon measured, in ms (its own histogram keeps whole milliseconds). */
  latencies: number[];
  freshAcks: number;
  duplicateAcks: number;
  non2xx: Record<string, number>;
  non2xxSamples: string[];
  cpu: CpuShare;
}

/** One endpoint's measured slices, added up. */
interface LoadRun {
  label: string;
  role: TargetRole;
  slices: number;
  seconds: number;
  eventsPerSecond: number;
  latency: Percentiles;
  /** autocannon's own latency histogram (whole ms), of the last slice. */
  autocannonLatency: { p50: number; p99: number };
  sent: number;
  acknowledged: number;
  freshAcks: number;
  duplicateAcks: number;
  non2xxCount: number;
  errors: number;
  timeouts: number;
  non2xx: Record<string, number>;
  non2xxSamples: string[];
  /** Mean CPU shares over the slices. */
  cpu: CpuShare;
  targetProblems: { count: number; samples: string[] };
}

async function load(target: Target, seconds: number, settings: BenchSettings, stripe: Stripe): Promise<Slice> {
  const source = new DeliverySource(stripe, settings.BENCH_DUPLICATE_PERCENT);
  const latencies: number[] = [];
  let freshAcks = 0;
  let duplicateAcks = 0;
  const non2xx: Record<string, number> = {};
  const non2xxSamples: string[] = [];
  const instance = autocannon({
    url: `http://127.0.0.1:${target.port}`,
    connections: settings.BENCH_CONNECTIONS,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: '/webhooks/stripe',
        setupRequest: (request) => {
          const delivery = source.next();
          return {
            ...request,
            body: delivery.payload,
            headers: { ...request.headers, 'content-type': 'application/json', 'stripe-signature': delivery.header },
          };
        },
        onResponse: (status, body) => {
          if (status >= 200 && status < 300) {
            if (body.includes('"duplicate":true')) duplicateAcks += 1;
            else freshAcks += 1;
            return;
          }
          non2xx[status] = (non2xx[status] ?? 0) + 1;
          if (non2xxSamples.length < 3) non2xxSamples.push(`${status} ${body.slice(0, 300)}`);
        },
      },
    ],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
  });
  const cpu = measureCpu(target.pid);
  const result = await instance;
  return { seconds: result.duration, result, latencies, freshAcks, duplicateAcks, non2xx, non2xxSamples, cpu: cpu() };
}

function addUp(label: string, target: Target, slices: Slice[]): LoadRun {
  const sum = (pick: (slice: Slice) => number): number => slices.reduce((total, slice) => total + pick(slice), 0);
  const seconds = sum((slice) => slice.seconds);
  const acknowledged = sum((slice) => slice.result['2xx']);
  const non2xx: Record<string, number> = {};
  for (const slice of slices) for (const [status, n] of Object.entries(slice.non2xx)) non2xx[status] = (non2xx[status] ?? 0) + n;
  const meanCpu = <K extends keyof CpuShare>(key: K): number => sum((slice) => slice.cpu[key]) / slices.length;
  const last = slices[slices.length - 1]!;
  return {
    label,
    role: target.role,
    slices: slices.length,
    seconds,
    eventsPerSecond: acknowledged / seconds,
    latency: percentiles(slices.flatMap((slice) => slice.latencies)),
    autocannonLatency: { p50: last.result.latency.p50, p99: last.result.latency.p99 },
    sent: sum((slice) => slice.result.requests.sent),
    acknowledged,
    freshAcks: sum((slice) => slice.freshAcks),
    duplicateAcks: sum((slice) => slice.duplicateAcks),
    non2xxCount: sum((slice) => slice.result.non2xx),
    errors: sum((slice) => slice.result.errors),
    timeouts: sum((slice) => slice.result.timeouts),
    non2xx,
    non2xxSamples: slices.flatMap((slice) => slice.non2xxSamples).slice(0, 3),
    cpu: {
      cores: last.cpu.cores,
      machinePct: meanCpu('machinePct'),
      stealPct: meanCpu('stealPct'),
      benchPct: meanCpu('benchPct'),
      targetPct: meanCpu('targetPct'),
      databasePct: meanCpu('databasePct'),
      stripeMockPct: meanCpu('stripeMockPct'),
      otherPct: meanCpu('otherPct'),
    },
    targetProblems: target.problems(),
  };
}

const ACK_KEYS = ['baseline', 'insert', 'real'] as const;
type AckKey = (typeof ACK_KEYS)[number];

interface AckPhase {
  runs: Record<AckKey, LoadRun>;
  /** real ÷ insert and real ÷ baseline events/s of each round (slices measured back to back). */
  roundRatios: { insert: number[]; baseline: number[] };
  /** Busy share of the machine (one core = 100 %) just before the warm-up; high means something else was running. */
  busyBeforePct: number;
  /** Rows the inbox gained while the real endpoint was measured: its fresh acknowledgements, plus the requests still in flight when a slice stopped. */
  inboxRowsAdded: number;
  /** Rows the insert baseline stored. */
  baselineRowsAdded: number;
  jobsQueued: number;
}

/** Waits until a count stops moving (the requests in flight when autocannon stopped have finished), at most 10 s. */
async function settledCount(count: () => Promise<number>): Promise<number> {
  let last = await count();
  for (let i = 0; i < 50; i += 1) {
    await sleep(200);
    const now = await count();
    if (now === last) return now;
    last = now;
  }
  return last;
}

/**
 * The three targets run side by side and are measured in alternating slices (BENCH_ROUNDS of each, the order
 * rotated every round), so a change in what the machine can give (another process, the hypervisor) hits all
 * alike and the ratios stay meaningful.
 */
async function ackPhase(
  settings: BenchSettings,
  stripe: Stripe,
  targetEnv: (db: string) => TargetEnv,
  ackDb: string,
  track: (t: Target) => void,
): Promise<AckPhase> {
  const ackDatabase = mongoose.connection.getClient().db(ackDb);
  const inbox = () => ackDatabase.collection('webhook_events').countDocuments();
  const stored = () => ackDatabase.collection(BASELINE_COLLECTION).countDocuments();
  const jobs = () => ackDatabase.collection('agenda_jobs').countDocuments({ name: 'webhooks.process-event' });
  const labels: Record<AckKey, string> = {
    baseline: 'baseline: verify + 200',
    insert: 'insert: verify + insertOne + 200',
    real: `real: POST /webhooks/stripe (${settings.BENCH_ACK_ROLE} role)`,
  };
  log(`acknowledgement: starting the baselines and the real endpoint (${settings.BENCH_ACK_ROLE} role)`);
  const roles: Record<AckKey, TargetRole> = { baseline: 'baseline', insert: 'insert', real: settings.BENCH_ACK_ROLE };
  const targets = {} as Record<AckKey, Target>;
  for (const key of ACK_KEYS) {
    targets[key] = await startTarget(roles[key], targetEnv(ackDb));
    track(targets[key]);
  }
  try {
    const quiet = await waitForQuietMachine(30_000);
    if (quiet.busyPct >= 25)
      log(`  the machine is still busy (${quiet.busyPct.toFixed(0)} % of one core) after ${(quiet.waitedMs / 1000).toFixed(0)} s: figures will be low`);
    if (settings.BENCH_WARMUP_S > 0) {
      log(`  warm-up: ${settings.BENCH_WARMUP_S} s each`);
      for (const key of ACK_KEYS) await load(targets[key], settings.BENCH_WARMUP_S, settings, stripe);
    }
    const inboxBefore = await settledCount(inbox);
    const storedBefore = await stored();
    const jobsBefore = await jobs();
    const sliceSeconds = settings.BENCH_DURATION_S / settings.BENCH_ROUNDS;
    log(
      `  measuring ${settings.BENCH_DURATION_S} s each, in ${settings.BENCH_ROUNDS} rotating slices of ${sliceSeconds.toFixed(1)} s, ${settings.BENCH_CONNECTIONS} connections`,
    );
    const slices: Record<AckKey, Slice[]> = { baseline: [], insert: [], real: [] };
    const roundRatios = { insert: [] as number[], baseline: [] as number[] };
    for (let round = 0; round < settings.BENCH_ROUNDS; round += 1) {
      const order = ACK_KEYS.map((_, i) => ACK_KEYS[(i + round) % ACK_KEYS.length]!);
      const rate: Partial<Record<AckKey, number>> = {};
      for (const key of order) {
        const slice = await load(targets[key], sliceSeconds, settings, stripe);
        slices[key].push(slice);
        rate[key] = slice.result['2xx'] / slice.seconds;
        if (key !== 'baseline') await settledCount(key === 'real' ? inbox : stored); // let the requests still in flight finish
      }
      roundRatios.insert.push(rate.real! / rate.insert!);
      roundRatios.baseline.push(rate.real! / rate.baseline!);
    }
    const runs = Object.fromEntries(ACK_KEYS.map((key) => [key, addUp(labels[key], targets[key], slices[key])])) as Record<AckKey, LoadRun>;
    return {
      runs,
      roundRatios,
      busyBeforePct: quiet.busyPct,
      inboxRowsAdded: (await settledCount(inbox)) - inboxBefore,
      baselineRowsAdded: (await settledCount(stored)) - storedBefore,
      jobsQueued: (await jobs()) - jobsBefore,
    };
  } finally {
    await Promise.all(ACK_KEYS.map((key) => targets[key].stop()));
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. The worker pipeline: events in the inbox → box orders out
// ---------------------------------------------------------------------------------------------------------

interface PipelinePass {
  mode: PipelineMode;
  round: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  completed: boolean;
  orders: number;
  /** Events claimed more than once (attempts > 1): none when each is processed exactly once. */
  processedTwice: number;
  /** Invoices with more than one order (none: one order per paid invoice). */
  duplicateOrders: number;
  inboxStates: Record<string, number>;
  /** How many events each worker process took (by its claims). */
  byWorker: number[];
  failures: string[];
  cpu: CpuShare;
  problems: string[];
}

interface PipelinePhase {
  subscriptions: number;
  setupSeconds: number;
  passes: PipelinePass[];
}

const WORKERS: Record<PipelineMode, number> = { direct: 0, worker1: 1, worker2: 2 };

async function startWorkers(count: number, env: TargetEnv, track: (t: Target) => void): Promise<Target[]> {
  const started = await Promise.all(Array.from({ length: count }, () => startTarget('worker', env)));
  started.forEach(track);
  return started;
}

/**
 * Lets the recurring jobs a worker runs when first started (reconciliation with Stripe over every live
 * subscription, the inbox sweep…) run once before any pass, so that no pass pays for them.
 */
async function settleRecurringJobs(env: TargetEnv, track: (t: Target) => void): Promise<void> {
  const [worker] = await startWorkers(1, env, track);
  const agendaJobs = mongoose.connection.collection('agenda_jobs');
  const started = systemClock.now();
  await waitUntil(async () => {
    const recurring = await agendaJobs.find({ type: 'single' }, { projection: { lastFinishedAt: 1, lockedAt: 1, nextRunAt: 1 } }).toArray();
    return recurring.length > 0 && recurring.every((job) => (job.lockedAt === null || job.lockedAt === undefined) && job.nextRunAt > started);
  }, 120_000);
  await waitUntil(async () => (await WebhookEventModel.countDocuments({ state: { $in: ['pending', 'processing'] } })) === 0, 60_000);
  await worker!.stop();
}

async function pipelinePass(
  settings: BenchSettings,
  mode: PipelineMode,
  round: number,
  subscriptions: ClonedSubscription[],
  cycleIndex: number,
  env: TargetEnv,
  track: (t: Target) => void,
): Promise<PipelinePass> {
  const prefix = `in_p${cycleIndex}_`;
  const events = await paidInvoiceEvents(subscriptions, cycleIndex, systemClock.now(), prefix);
  const rows = events.map((event) => inboxRowOf(systemClock, event as unknown as Stripe.Event));
  const ids = events.map((event) => event.id);
  const inbox = WebhookEventModel.collection;
  const targets = mode === 'direct' ? [await startTarget('direct', env)] : await startWorkers(WORKERS[mode], env, track);
  targets.forEach(track);
  let seconds: number;
  let completed = true;
  let cpu: CpuShare;
  try {
    await waitForQuietMachine(15_000);
    log(`pipeline round ${round + 1}, ${mode}: ${events.length} invoice.paid events`);
    const measure = measureCpu(targets.map((t) => t.pid));
    if (mode === 'direct') {
      await inbox.insertMany(rows as never[]);
      const answer = (await targets[0]!.ask({ process: ids, concurrency: settings.BENCH_WORKER_CONCURRENCY })) as { seconds?: number; error?: string };
      if (answer.error) throw new Error(`direct processing failed: ${answer.error}`);
      seconds = answer.seconds!;
    } else {
      const started = performance.now();
      await inbox.insertMany(rows as never[]);
      completed = await waitUntil(
        async () => (await WebhookEventModel.countDocuments({ _id: { $in: ids }, state: { $in: ['succeeded', 'failed'] } })) === ids.length,
        settings.BENCH_PIPELINE_TIMEOUT_S * 1000,
        50,
      );
      seconds = (performance.now() - started) / 1000;
    }
    cpu = measure();
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
  }
  const problems = targets.flatMap((t) => t.problems().samples);
  // Exactly once: every event claimed once (one attempt), one order per invoice of this pass.
  const stored = await WebhookEventModel.find({ _id: { $in: ids } }, { state: 1, attempts: 1, claimedBy: 1, lastError: 1 }).lean();
  const inboxStates: Record<string, number> = {};
  const byClaimant = new Map<string, number>();
  for (const event of stored) {
    inboxStates[event.state] = (inboxStates[event.state] ?? 0) + 1;
    const claimant = event.claimedBy?.split('#')[0] ?? 'direct';
    byClaimant.set(claimant, (byClaimant.get(claimant) ?? 0) + 1);
  }
  const orders = await BoxOrderModel.aggregate<{ _id: string; n: number }>([
    { $match: { stripeInvoiceId: { $regex: `^${prefix}` } } },
    { $group: { _id: '$stripeInvoiceId', n: { $sum: 1 } } },
  ]);
  // What the workers' fact dispatcher did not get to is followed here, unmeasured, so the next pass starts clean.
  await drainFacts({ clock: systemClock, stripe: createStripeGateway(testStripe()), logger: silentLogger }, listeners, { maxRounds: 100 });
  return {
    mode,
    round,
    events: ids.length,
    seconds,
    eventsPerSecond: ids.length / seconds,
    completed,
    orders: orders.length,
    processedTwice: stored.filter((event) => event.attempts > 1).length,
    duplicateOrders: orders.filter((order) => order.n > 1).length,
    inboxStates,
    byWorker: [...byClaimant.values()].sort((a, b) => b - a),
    failures: stored
      .filter((event) => event.state !== 'succeeded')
      .slice(0, 3)
      .map((event) => `${event._id} ${event.state}: ${event.lastError ?? ''}`),
    cpu,
    problems,
  };
}

async function pipelinePhase(settings: BenchSettings, targetEnv: (db: string) => TargetEnv, db: string, track: (t: Target) => void): Promise<PipelinePhase> {
  // One shopper subscribes through the API of an in-process app, as the integration tests do; the rest are copies.
  const clock = new FakeClock(systemClock.now());
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const setupStarted = performance.now();
  const template = await subscribeShopper(app, merchant);
  const subscriptions = await cloneSubscriptions(template.subscription.id, settings.BENCH_PIPELINE_EVENTS);
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  log(`pipeline: ${subscriptions.length} subscriptions ready in ${setupSeconds.toFixed(1)} s; letting a worker's first recurring jobs run`);
  await settleRecurringJobs(targetEnv(db), track);

  const passes: PipelinePass[] = [];
  const modes = settings.BENCH_PIPELINE_MODES;
  let cycleIndex = 2; // cycle 0 was paid at subscription; each pass pays a later cycle, so each makes its own orders
  for (let round = 0; round < settings.BENCH_PIPELINE_ROUNDS; round += 1) {
    const order = modes.map((_, i) => modes[(i + round) % modes.length]!);
    for (const mode of order) {
      passes.push(await pipelinePass(settings, mode, round, subscriptions, cycleIndex, targetEnv(db), track));
      cycleIndex += 1;
    }
  }
  return { subscriptions: subscriptions.length, setupSeconds, passes };
}

// ---------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------

function pad(value: string, width: number): string {
  return value.length >= width ? value : value + ' '.repeat(width - value.length);
}

function printAck(phase: AckPhase, settings: BenchSettings): TargetResult[] {
  const { baseline, insert, real } = phase.runs;
  out('1. Acknowledgement: POST /webhooks/stripe, distinct signed invoice.paid events (autocannon)');
  out(
    `   ${settings.BENCH_DURATION_S} s measured per endpoint (${settings.BENCH_ROUNDS} rotating slices each) after ${settings.BENCH_WARMUP_S} s of warm-up each; ${settings.BENCH_CONNECTIONS} connections, no pipelining`,
  );
  out();
  const head = ['endpoint', 'events/s', 'p50', 'p90', 'p99', 'max', '2xx', 'non-2xx', 'errors'];
  const widths = [44, 10, 11, 11, 11, 11, 8, 8, 7];
  out(`   ${head.map((h, i) => pad(h, widths[i]!)).join('')}`);
  for (const run of [baseline, insert, real]) {
    const cells = [
      run.label,
      fmt.rate(run.eventsPerSecond),
      fmt.ms(run.latency.p50),
      fmt.ms(run.latency.p90),
      fmt.ms(run.latency.p99),
      fmt.ms(run.latency.max),
      String(run.acknowledged),
      String(run.non2xxCount),
      String(run.errors),
    ];
    out(`   ${cells.map((c, i) => pad(c, widths[i]!)).join('')}`);
  }
  out();
  const ratios = (values: number[]) => values.map((v) => fmt.ratio(v)).join(' ');
  out(`   real ÷ insert, per round: ${ratios(phase.roundRatios.insert)}; median ${fmt.ratio(median(phase.roundRatios.insert))}`);
  out(`   real ÷ baseline (verify only), per round: ${ratios(phase.roundRatios.baseline)}; median ${fmt.ratio(median(phase.roundRatios.baseline))}`);
  out(`   insert ÷ baseline: ${fmt.ratio(insert.eventsPerSecond / baseline.eventsPerSecond)} (what one insert costs on this database)`);
  out(
    `   real endpoint: ${real.freshAcks} new events stored, ${real.duplicateAcks} acknowledged as duplicates (${fmt.pct(real.duplicateAcks, real.acknowledged)} of acknowledgements)`,
  );
  const inFlight = real.sent - real.acknowledged - real.non2xxCount;
  out(
    `   inbox rows added while measuring: ${phase.inboxRowsAdded} (= ${real.freshAcks} fresh acknowledgements + up to ${Math.max(0, inFlight)} requests in flight when slices stopped); baseline rows: ${phase.baselineRowsAdded}; webhooks.process-event jobs queued: ${phase.jobsQueued}`,
  );
  out(`   machine busy before the warm-up: ${phase.busyBeforePct.toFixed(0)} % of one core`);
  for (const run of [baseline, insert, real]) out(`   CPU while measuring ${run.label.split(':')[0]} (approximate): ${fmt.cpu(run.cpu)}`);
  for (const run of [baseline, insert, real]) {
    if (run.non2xxCount > 0 || run.errors > 0)
      out(`   ! ${run.label}: non-2xx ${JSON.stringify(run.non2xx)}, errors ${run.errors}, timeouts ${run.timeouts}; e.g. ${run.non2xxSamples.join(' | ')}`);
    if (run.targetProblems.count > 0)
      out(`   ! ${run.label} logged ${run.targetProblems.count} warnings/errors, e.g. ${run.targetProblems.samples.join(' | ')}`);
  }
  return [
    target(
      'acknowledgement ÷ insert baseline',
      `real ${fmt.rate(real.eventsPerSecond)} vs insert ${fmt.rate(insert.eventsPerSecond)} events/s (median of ${phase.roundRatios.insert.length} rounds)`,
      median(phase.roundRatios.insert),
      { kind: 'min', value: 0.8, unit: '×' },
    ),
    target(
      `acknowledgement p99 at ${settings.BENCH_CONNECTIONS} connections (the target is for 10)`,
      `real p99; insert baseline p99 ${fmt.ms(insert.latency.p99)}`,
      real.latency.p99,
      {
        kind: 'max',
        value: 50,
        unit: ' ms',
      },
    ),
    target(
      'acknowledgement ÷ verify-only baseline (reported)',
      `real ${fmt.rate(real.eventsPerSecond)} vs verify-only ${fmt.rate(baseline.eventsPerSecond)} events/s; no target (one insert alone caps it)`,
      median(phase.roundRatios.baseline),
      { kind: 'report', value: 0, unit: '×' },
    ),
  ];
}

function printPipeline(phase: PipelinePhase, settings: BenchSettings): TargetResult[] {
  out('2. Worker pipeline: invoice.paid in the inbox → box orders out');
  out(
    `   ${phase.subscriptions} subscriptions (one through the API, the rest copied, in ${phase.setupSeconds.toFixed(1)} s, not measured); per pass one invoice.paid each for a new cycle, inserted into the inbox as the endpoint stores them; processing ${settings.BENCH_WORKER_CONCURRENCY} at once per process`,
  );
  out('   direct = processWebhookEvent called directly in a process of its own; workerN = N real worker processes (`npm run worker`)');
  out();
  for (const pass of phase.passes) {
    const flags = [
      pass.completed ? '' : 'INCOMPLETE (timed out)',
      pass.processedTwice > 0 ? `${pass.processedTwice} events claimed twice` : '',
      pass.duplicateOrders > 0 ? `${pass.duplicateOrders} invoices with two orders` : '',
    ].filter(Boolean);
    out(
      `   round ${pass.round + 1} ${pad(pass.mode, 8)} ${pad(fmt.rate(pass.eventsPerSecond), 6)} events/s (${pass.events} in ${pass.seconds.toFixed(2)} s); orders ${pass.orders}; inbox ${JSON.stringify(pass.inboxStates)}; per process ${pass.byWorker.join('/')}${flags.length ? `; ! ${flags.join(', ')}` : ''}`,
    );
    out(`            CPU: ${fmt.cpu(pass.cpu)}`);
    if (pass.failures.length > 0) out(`            ! ${pass.failures.join(' | ')}`);
    if (pass.problems.length > 0) out(`            ! logged: ${pass.problems.slice(0, 3).join(' | ')}`);
  }
  const rates = (mode: PipelineMode) => phase.passes.filter((p) => p.mode === mode).map((p) => p.eventsPerSecond);
  const perRound = (a: PipelineMode, b: PipelineMode) =>
    [...new Set(phase.passes.map((p) => p.round))].map((round) => {
      const x = phase.passes.find((p) => p.round === round && p.mode === a);
      const y = phase.passes.find((p) => p.round === round && p.mode === b);
      return x && y ? x.eventsPerSecond / y.eventsPerSecond : NaN;
    });
  const med = { direct: median(rates('direct')), worker1: median(rates('worker1')), worker2: median(rates('worker2')) };
  out();
  out(`   medians: direct ${fmt.rate(med.direct)}, worker1 ${fmt.rate(med.worker1)}, worker2 ${fmt.rate(med.worker2)} events/s`);
  const w1 = perRound('worker1', 'direct');
  const w2 = perRound('worker2', 'worker1');
  out(`   worker1 ÷ direct per round: ${w1.map(fmt.ratio).join(' ')}; worker2 ÷ worker1 per round: ${w2.map(fmt.ratio).join(' ')}`);
  const all = phase.passes;
  const exactlyOnce = all.every((p) => p.completed && p.processedTwice === 0 && p.duplicateOrders === 0 && p.orders === p.events);
  return [
    target('worker pipeline (1 worker) ÷ direct processing', `median ${fmt.rate(med.worker1)} vs ${fmt.rate(med.direct)} events/s`, med.worker1 / med.direct, {
      kind: 'min',
      value: 0.6,
      unit: '×',
    }),
    target('two worker processes ÷ one', `median ${fmt.rate(med.worker2)} vs ${fmt.rate(med.worker1)} events/s`, med.worker2 / med.worker1, {
      kind: 'min',
      value: 1.6,
      unit: '×',
    }),
    target(
      'every event processed exactly once, one order per invoice',
      `${all.reduce((n, p) => n + p.orders, 0)} orders of ${all.reduce((n, p) => n + p.events, 0)} events in ${all.length} passes`,
      exactlyOnce ? 1 : 0,
      { kind: 'min', value: 1, unit: '' },
    ),
  ];
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const targets = new Set<Target>();
  const runId = randomBytes(4).toString('hex');
  const ackDb = `bench_${runId}_ack`;
  const pipelineDb = `bench_${runId}_pipeline`;
  let services: Services | undefined;
  let connected = false;

  const cleanup = async (): Promise<void> => {
    await Promise.all([...targets].map((t) => t.stop().catch(() => undefined)));
    await tearDownBench(services, [ackDb, pipelineDb], connected);
  };
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    log('interrupted: stopping the servers');
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    log('starting the database and stripe-mock (MONGODB_URI / STRIPE_API_HOST when set)…');
    services = await startServices();
    const stripe = testStripe();
    await connectDatabase(services.mongoUri, pipelineDb);
    connected = true;
    await syncIndexes(mongoose.connection);

    const { mongoUri, stripeHost, stripePort } = services;
    const targetEnv = (db: string): TargetEnv => ({
      BENCH_MONGODB_URI: mongoUri,
      BENCH_MONGODB_DB: db,
      BENCH_STRIPE_HOST: stripeHost,
      BENCH_STRIPE_PORT: String(stripePort),
      BENCH_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      BENCH_LOG_LEVEL: settings.BENCH_LOG_LEVEL,
      WEBHOOK_CONCURRENCY: process.env.WEBHOOK_CONCURRENCY || String(settings.BENCH_WORKER_CONCURRENCY),
    });
    const track = (t: Target): void => {
      targets.add(t);
    };

    const header = {
      at: systemClock.now(),
      machine: describeMachine(),
      code: describeCode(projectRoot),
      database: services.databaseDescription,
      stripeMock: `${services.stripeHost}:${services.stripePort}`,
    };
    out();
    out(`Boxcycle webhook benchmark, ${header.at.toISOString()}`);
    out(`machine:  ${header.machine}`);
    out(`code:     ${header.code}`);
    out(`database: ${header.database}; stripe-mock at ${header.stripeMock}`);
    out(
      `settings: ${Object.entries(settings)
        .filter(([name]) => name !== 'BENCH_JSON')
        .map(([name, value]) => `${name}=${Array.isArray(value) ? value.join(',') : String(value)}`)
        .join(' ')}`,
    );
    out();

    // Each part is printed as soon as it is measured (the progress lines go to stderr).
    const results: TargetResult[] = [];
    let ack: AckPhase | undefined;
    let pipeline: PipelinePhase | undefined;
    if (settings.BENCH_PARTS.includes('ack')) {
      ack = await ackPhase(settings, stripe, targetEnv, ackDb, track);
      results.push(...printAck(ack, settings));
      out();
    }
    if (settings.BENCH_PARTS.includes('pipeline')) {
      pipeline = await pipelinePhase(settings, targetEnv, pipelineDb, track);
      results.push(...printPipeline(pipeline, settings));
      out();
    }
    printTargets(results);
    if (settings.BENCH_JSON) {
      await writeFile(settings.BENCH_JSON, `${JSON.stringify({ bench: 'webhooks', ...header, settings, targets: results, ack, pipeline }, null, 2)}\n`);
      log(`results written to ${settings.BENCH_JSON}`);
    }
  } finally {
    await cleanup();
  }
}

runBench(main);
