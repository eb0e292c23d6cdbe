/**
 * `npm run bench:webhooks`: how fast `POST /webhooks/stripe` acknowledges signed Stripe events, against a
 * bare signature-checking Express endpoint as the baseline, and how many box orders per second come out
 * of a stream of `invoice.paid` events end to end. Not a test: it asserts nothing and prints figures.
 *
 * 1. Acknowledgement: autocannon sends distinct signed `invoice.paid` events (a fresh event id, signed at
 *    send time, per request) for BENCH_WARMUP_S (discarded) then BENCH_DURATION_S to the baseline, then to
 *    the real web role (`startRuntime` → `buildApp`, the inbox insert, Agenda's `now` as the queue).
 * 2. End to end: BENCH_SUBSCRIPTIONS shoppers subscribe through the API (the test factories), then one
 *    `invoice.paid` each is posted to the real endpoint and processed, either by a real Agenda worker in
 *    the web process (`agenda`, as `npm start` runs) or by calling `processWebhookEvent` directly with
 *    BENCH_WORKER_CONCURRENCY at once (`direct`). Orders are counted in the `orders` collection.
 *
 * Servers under load run in child processes (bench/webhook-target.ts); autocannon runs here. The database
 * (MONGODB_URI, else a local server as the tests start one) and stripe-mock (STRIPE_API_HOST/PORT, else a
 * local one) are started here when not given, and stopped at the end; the bench's databases are dropped.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import mongoose from 'mongoose';
import type Stripe from 'stripe';
import { projectRoot } from '../src/local/project-paths';
import { BoxOrderModel } from '../src/orders/box-order.model';
import { connectDatabase, disconnectDatabase, syncIndexes } from '../src/shared/db';
import { FakeClock, systemClock } from '../src/shared/time';
import { createStripeGateway } from '../src/stripe/stripe-gateway';
import { processWebhookEvent } from '../src/webhooks/process-event.service';
import { WebhookEventModel } from '../src/webhooks/webhook-event.model';
import { buildPaidInvoice } from '../test/factories/invoice.factory';
import { createMerchant } from '../test/factories/merchant.factory';
import { subscribeShopper } from '../test/factories/subscription.factory';
import { buildEvent, signEvent, TEST_WEBHOOK_SECRET } from '../test/helpers/stripe-events';
import { buildTestApp } from '../test/helpers/test-app';
import { silentLogger, testStripe } from '../test/helpers/test-env';
import {
  describeCode,
  describeMachine,
  fmt,
  mapPool,
  measureCpu,
  percentiles,
  postAll,
  readSettings,
  SettingsError,
  sleep,
  startServices,
  startTarget,
  waitForQuietMachine,
  waitUntil,
  type BenchSettings,
  type CpuShare,
  type Delivery,
  type E2eMode,
  type Percentiles,
  type PostOutcome,
  type Services,
  type Target,
  type TargetEnv,
  type TargetRole,
} from './bench-support';

const DAY_MS = 86_400_000;
const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

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

interface AckPhase {
  baseline: LoadRun;
  real: LoadRun;
  /** Busy share of the machine (one core = 100 %) just before the warm-up; high means something else was running. */
  busyBeforePct: number;
  /** Rows the inbox gained while the real endpoint was measured: its fresh acknowledgements, plus the requests still in flight when a slice stopped. */
  inboxRowsAdded: number;
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
 * Both targets run side by side and are measured in alternating slices (BENCH_ROUNDS of each, the order
 * swapped every round), so a change in what the machine can give (another process, the hypervisor) hits
 * both alike and the ratio stays meaningful.
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
  const jobs = () => ackDatabase.collection('agenda_jobs').countDocuments({ name: 'webhooks.process-event' });
  const labels = { baseline: 'baseline: express.raw + constructEvent + 200', real: `real: POST /webhooks/stripe (${settings.BENCH_ACK_ROLE} role)` };
  log(`starting the baseline and the real endpoint (${settings.BENCH_ACK_ROLE} role)`);
  const targets = { baseline: await startTarget('baseline', targetEnv(ackDb)), real: await startTarget(settings.BENCH_ACK_ROLE, targetEnv(ackDb)) };
  track(targets.baseline);
  track(targets.real);
  try {
    const quiet = await waitForQuietMachine(30_000);
    if (quiet.busyPct >= 25)
      log(`  the machine is still busy (${quiet.busyPct.toFixed(0)} % of one core) after ${(quiet.waitedMs / 1000).toFixed(0)} s: figures will be low`);
    if (settings.BENCH_WARMUP_S > 0) {
      log(`  warm-up: ${settings.BENCH_WARMUP_S} s each`);
      await load(targets.baseline, settings.BENCH_WARMUP_S, settings, stripe);
      await load(targets.real, settings.BENCH_WARMUP_S, settings, stripe);
    }
    const inboxBefore = await settledCount(inbox);
    const jobsBefore = await jobs();
    const sliceSeconds = settings.BENCH_DURATION_S / settings.BENCH_ROUNDS;
    log(
      `  measuring ${settings.BENCH_DURATION_S} s each, in ${settings.BENCH_ROUNDS} alternating slices of ${sliceSeconds.toFixed(1)} s, ${settings.BENCH_CONNECTIONS} connections`,
    );
    const slices: Record<'baseline' | 'real', Slice[]> = { baseline: [], real: [] };
    for (let round = 0; round < settings.BENCH_ROUNDS; round += 1) {
      const order = round % 2 === 0 ? (['baseline', 'real'] as const) : (['real', 'baseline'] as const);
      for (const key of order) {
        slices[key].push(await load(targets[key], sliceSeconds, settings, stripe));
        if (key === 'real') await settledCount(inbox); // let the requests still in flight finish before the next slice
      }
    }
    return {
      baseline: addUp(labels.baseline, targets.baseline, slices.baseline),
      real: addUp(labels.real, targets.real, slices.real),
      busyBeforePct: quiet.busyPct,
      inboxRowsAdded: (await settledCount(inbox)) - inboxBefore,
      jobsQueued: (await jobs()) - jobsBefore,
    };
  } finally {
    await Promise.all([targets.baseline.stop(), targets.real.stop()]);
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. End to end: events in → orders out
// ---------------------------------------------------------------------------------------------------------

interface E2eRun {
  mode: E2eMode;
  events: number;
  deliveries: number;
  ingestSeconds: number;
  /** From the first delivery to the last order (or the timeout). */
  totalSeconds: number;
  /** After the last delivery was acknowledged, until the last order. */
  drainSeconds: number;
  orders: number;
  completed: boolean;
  ack: Percentiles;
  statuses: Record<string, number>;
  duplicateAcks: number;
  inboxStates: Record<string, number>;
  orderStatuses: Record<string, number>;
  failures: string[];
  cpu: CpuShare;
  targetProblems: { count: number; samples: string[] };
}

interface E2ePhase {
  subscriptions: number;
  setupSeconds: number;
  runs: E2eRun[];
}

function tally(outcomes: PostOutcome[]): { statuses: Record<string, number>; duplicateAcks: number; samples: string[] } {
  const statuses: Record<string, number> = {};
  const samples: string[] = [];
  let duplicateAcks = 0;
  for (const outcome of outcomes) {
    statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
    if (outcome.status === 200 && outcome.body.includes('"duplicate":true')) duplicateAcks += 1;
    if (outcome.status !== 200 && samples.length < 3) samples.push(`${outcome.status} ${outcome.body.slice(0, 300)}`);
  }
  return { statuses, duplicateAcks, samples };
}

/** Each event, and with BENCH_DUPLICATE_PERCENT a redelivery of every k-th one right after it. */
function withRedeliveries<T>(events: T[], duplicatePercent: number): T[] {
  if (duplicatePercent <= 0) return events;
  const every = Math.max(2, Math.round(100 / duplicatePercent)) - 1;
  return events.flatMap((event, i) => ((i + 1) % every === 0 ? [event, event] : [event]));
}

async function e2ePhase(
  settings: BenchSettings,
  stripe: Stripe,
  targetEnv: (db: string) => TargetEnv,
  e2eDb: string,
  track: (t: Target) => void,
): Promise<E2ePhase> {
  // Shoppers subscribe through the API of an in-process app, exactly as the integration tests do.
  const clock = new FakeClock(systemClock.now());
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  log(`subscribing ${settings.BENCH_SUBSCRIPTIONS} shoppers through the API (setup, not measured)…`);
  const setupStarted = performance.now();
  const subscribed = await mapPool(Array.from({ length: settings.BENCH_SUBSCRIPTIONS }), 8, () => subscribeShopper(app, merchant));
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  const stripeIds = subscribed.map((s) => s.subscription.stripeSubscriptionId);
  if (stripeIds.some((id) => typeof id !== 'string') || new Set(stripeIds).size !== stripeIds.length) {
    throw new Error('every subscription needs its own Stripe subscription id for the end-to-end part');
  }

  const deps = { clock: systemClock, stripe: createStripeGateway(stripe), logger: silentLogger };
  const agendaJobs = mongoose.connection.collection('agenda_jobs');
  const runs: E2eRun[] = [];
  for (const [index, mode] of settings.BENCH_E2E_MODES.entries()) {
    // Jobs a web role queued in an earlier pass would otherwise be run by this pass's worker.
    await agendaJobs.deleteMany({ name: 'webhooks.process-event' });
    const role: TargetRole = mode === 'agenda' ? 'all' : 'web';
    log(`end to end, ${mode}: starting the ${role} role`);
    const target = await startTarget(role, targetEnv(e2eDb));
    track(target);
    try {
      const processAll = async (ids: string[]): Promise<void> => {
        await mapPool(ids, settings.BENCH_WORKER_CONCURRENCY, (id) => processWebhookEvent(deps, id));
      };
      const sign = (event: Record<string, unknown>): Delivery => signEvent(stripe, event, systemClock.now());

      // Warm-up: invoices of subscriptions we do not have (acknowledged and recorded, no order), processed the same way.
      if (settings.BENCH_E2E_WARMUP_EVENTS > 0) {
        const warm = Array.from({ length: settings.BENCH_E2E_WARMUP_EVENTS }, () =>
          buildEvent('invoice.paid', buildPaidInvoice(`sub_warmup_${randomBytes(6).toString('hex')}`, systemClock.now(), 2600), systemClock.now()),
        );
        await postAll(target.port, warm, settings.BENCH_CONNECTIONS, sign);
        const warmIds = warm.map((event) => event.id);
        if (mode === 'direct') await processAll(warmIds);
        else await waitUntil(async () => (await WebhookEventModel.countDocuments({ _id: { $in: warmIds }, state: 'succeeded' })) === warmIds.length, 60_000);
      }

      // Each pass pays a later cycle of the same subscriptions (35 days apart), so each makes its own orders.
      // An order is out once one of this pass's invoices paid it: made by invoice.paid, or a box the worker
      // reserved at its cut-off that the payment turned paid. Invoice ids carry the pass, to count them.
      const periodStart = new Date(clock.now().getTime() + index * 35 * DAY_MS + 10_000);
      const invoicePrefix = `in_bench${index}_`;
      const events = stripeIds.map((id, i) =>
        buildEvent(
          'invoice.paid',
          buildPaidInvoice(id as string, periodStart, 2600, `${invoicePrefix}${i}_${randomBytes(4).toString('hex')}`),
          systemClock.now(),
        ),
      );
      const ids = events.map((event) => event.id);
      const deliveries = withRedeliveries(events, settings.BENCH_DUPLICATE_PERCENT);
      const passOrders = { stripeInvoiceId: { $regex: `^${invoicePrefix}` } };
      const ordersNow = (): Promise<number> => BoxOrderModel.countDocuments(passOrders);

      await waitForQuietMachine(30_000);
      log(`end to end, ${mode}: posting ${deliveries.length} deliveries of ${events.length} invoice.paid events`);
      const cpu = measureCpu(target.pid);
      const started = performance.now();
      const outcomes = await postAll(target.port, deliveries, settings.BENCH_CONNECTIONS, sign);
      const ingested = performance.now();
      let completed: boolean;
      if (mode === 'direct') {
        await processAll(ids);
        completed = (await ordersNow()) >= events.length;
      } else {
        completed = await waitUntil(async () => (await ordersNow()) >= events.length, settings.BENCH_E2E_TIMEOUT_S * 1000);
      }
      const finished = performance.now();
      const cpuShare = cpu();
      const orders = await ordersNow();

      // An order is written before its event is marked succeeded: let the last few finish before reading states.
      const terminal = async (): Promise<boolean> =>
        (await WebhookEventModel.countDocuments({ _id: { $in: ids }, state: { $in: ['succeeded', 'failed'] as const } })) === ids.length;
      await waitUntil(terminal, 10_000);
      const orderStatuses = await BoxOrderModel.aggregate<{ _id: string; n: number }>([{ $match: passOrders }, { $group: { _id: '$status', n: { $sum: 1 } } }]);
      const states = await WebhookEventModel.aggregate<{ _id: string; n: number }>([
        { $match: { _id: { $in: ids } } },
        { $group: { _id: '$state', n: { $sum: 1 } } },
      ]);
      const failed = await WebhookEventModel.find({ _id: { $in: ids }, state: { $ne: 'succeeded' } }, { state: 1, lastError: 1 })
        .limit(3)
        .lean();
      const { statuses, duplicateAcks, samples } = tally(outcomes);
      runs.push({
        mode,
        events: events.length,
        deliveries: deliveries.length,
        ingestSeconds: (ingested - started) / 1000,
        totalSeconds: (finished - started) / 1000,
        drainSeconds: (finished - ingested) / 1000,
        orders,
        completed,
        ack: percentiles(outcomes.filter((o) => o.status === 200).map((o) => o.ms)),
        statuses,
        duplicateAcks,
        inboxStates: Object.fromEntries(states.map((s) => [s._id, s.n])),
        orderStatuses: Object.fromEntries(orderStatuses.map((s) => [s._id, s.n])),
        failures: [...samples, ...failed.map((event) => `${event._id} ${event.state}: ${event.lastError ?? ''}`)],
        cpu: cpuShare,
        targetProblems: target.problems(),
      });
    } finally {
      await target.stop();
    }
  }
  return { subscriptions: stripeIds.length, setupSeconds, runs };
}

// ---------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------

function pad(value: string, width: number): string {
  return value.length >= width ? value : value + ' '.repeat(width - value.length);
}

function printAck(phase: AckPhase, settings: BenchSettings): void {
  const { baseline, real } = phase;
  out('1. Acknowledgement: POST /webhooks/stripe, distinct signed invoice.paid events (autocannon)');
  out(
    `   ${settings.BENCH_DURATION_S} s measured per endpoint (${settings.BENCH_ROUNDS} alternating slices each) after ${settings.BENCH_WARMUP_S} s of warm-up each; ${settings.BENCH_CONNECTIONS} connections, no pipelining`,
  );
  out();
  const head = ['endpoint', 'events/s', 'p50', 'p90', 'p99', 'max', '2xx', 'non-2xx', 'errors'];
  const widths = [48, 10, 11, 11, 11, 11, 8, 8, 7];
  out(`   ${head.map((h, i) => pad(h, widths[i]!)).join('')}`);
  for (const run of [baseline, real]) {
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
  out(
    `   real ÷ baseline: throughput ${fmt.ratio(real.eventsPerSecond / baseline.eventsPerSecond)}, p50 latency ${fmt.ratio(real.latency.p50 / baseline.latency.p50)}, p99 latency ${fmt.ratio(real.latency.p99 / baseline.latency.p99)}`,
  );
  out(
    `   (autocannon's own histogram, whole ms, last slice: baseline p50 ${baseline.autocannonLatency.p50} / p99 ${baseline.autocannonLatency.p99} ms; real p50 ${real.autocannonLatency.p50} / p99 ${real.autocannonLatency.p99} ms)`,
  );
  out(
    `   real endpoint: ${real.freshAcks} new events stored, ${real.duplicateAcks} acknowledged as duplicates (${fmt.pct(real.duplicateAcks, real.acknowledged)} of acknowledgements)`,
  );
  const inFlight = real.sent - real.acknowledged - real.non2xxCount;
  out(
    `   inbox rows added while measuring: ${phase.inboxRowsAdded} (= ${real.freshAcks} fresh acknowledgements + up to ${Math.max(0, inFlight)} requests in flight when slices stopped); webhooks.process-event jobs queued: ${phase.jobsQueued}`,
  );
  out(`   machine busy before the warm-up: ${phase.busyBeforePct.toFixed(0)} % of one core`);
  for (const run of [baseline, real])
    out(`   CPU while measuring ${run.role === 'baseline' ? 'the baseline' : 'the real endpoint'} (approximate): ${fmt.cpu(run.cpu)}`);
  for (const run of [baseline, real]) {
    if (run.non2xxCount > 0 || run.errors > 0)
      out(`   ! ${run.label}: non-2xx ${JSON.stringify(run.non2xx)}, errors ${run.errors}, timeouts ${run.timeouts}; e.g. ${run.non2xxSamples.join(' | ')}`);
    if (run.targetProblems.count > 0)
      out(`   ! ${run.label} logged ${run.targetProblems.count} warnings/errors, e.g. ${run.targetProblems.samples.join(' | ')}`);
  }
}

function printE2e(phase: E2ePhase, settings: BenchSettings): void {
  out('2. End to end: invoice.paid in → box orders out');
  out(
    `   ${phase.subscriptions} subscriptions (set up through the API in ${phase.setupSeconds.toFixed(1)} s, not measured); one invoice.paid each per pass; ${settings.BENCH_CONNECTIONS} connections`,
  );
  out();
  for (const run of phase.runs) {
    const how =
      run.mode === 'agenda'
        ? 'real Agenda worker in the web process (npm start), webhooks.process-event concurrency 10'
        : `processWebhookEvent called directly, ${settings.BENCH_WORKER_CONCURRENCY} at once, after all were acknowledged`;
    out(`   ${run.mode}: ${how}`);
    out(
      `     ingest: ${run.deliveries} deliveries in ${run.ingestSeconds.toFixed(2)} s = ${fmt.rate(run.deliveries / run.ingestSeconds)} events/s; ack p50 ${fmt.ms(run.ack.p50)}, p99 ${fmt.ms(run.ack.p99)}; statuses ${JSON.stringify(run.statuses)}${run.duplicateAcks ? `; ${run.duplicateAcks} duplicates (${fmt.pct(run.duplicateAcks, run.deliveries)})` : ''}`,
    );
    out(
      `     orders: ${run.orders} of ${run.events} in ${run.totalSeconds.toFixed(2)} s from the first delivery = ${fmt.rate(run.orders / run.totalSeconds)} orders/s end to end${run.completed ? '' : ' (INCOMPLETE: timed out)'}`,
    );
    out(
      `     after the last acknowledgement: ${run.drainSeconds.toFixed(2)} s more (${fmt.rate(run.orders / run.drainSeconds)} orders/s ${run.mode === 'direct' ? 'processing' : 'drain'})`,
    );
    out(`     inbox: ${JSON.stringify(run.inboxStates)}; orders of these invoices by status: ${JSON.stringify(run.orderStatuses)}`);
    out(`     CPU (approximate): ${fmt.cpu(run.cpu)}`);
    if (run.failures.length > 0) out(`     ! ${run.failures.join(' | ')}`);
    if (run.targetProblems.count > 0)
      out(`     ! the ${run.mode} target logged ${run.targetProblems.count} warnings/errors, e.g. ${run.targetProblems.samples.join(' | ')}`);
  }
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const targets = new Set<Target>();
  const runId = randomBytes(4).toString('hex');
  const ackDb = `bench_${runId}_ack`;
  const e2eDb = `bench_${runId}_e2e`;
  let services: Services | undefined;
  let connected = false;

  const cleanup = async (): Promise<void> => {
    await Promise.all([...targets].map((target) => target.stop().catch(() => undefined)));
    if (connected) {
      for (const db of [ackDb, e2eDb])
        await mongoose.connection
          .getClient()
          .db(db)
          .dropDatabase()
          .catch(() => undefined);
      await disconnectDatabase().catch(() => undefined);
    }
    await services?.stop().catch(() => undefined);
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
    services = await startServices(log);
    // The test helpers (stripe-mock client, config) read these, as under jest's global setup.
    process.env.TEST_MONGODB_URI = services.mongoUri;
    process.env.TEST_STRIPE_HOST = services.stripeHost;
    process.env.TEST_STRIPE_PORT = String(services.stripePort);
    const stripe = testStripe();
    await connectDatabase(services.mongoUri, e2eDb);
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
    });
    const track = (target: Target): void => {
      targets.add(target);
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
    const ack = await ackPhase(settings, stripe, targetEnv, ackDb, track);
    printAck(ack, settings);
    out();
    const e2e = settings.BENCH_E2E_MODES.length > 0 ? await e2ePhase(settings, stripe, targetEnv, e2eDb, track) : undefined;
    if (e2e) printE2e(e2e, settings);
    if (settings.BENCH_JSON) {
      await writeFile(settings.BENCH_JSON, `${JSON.stringify({ ...header, settings, ack, e2e }, null, 2)}\n`);
      log(`results written to ${settings.BENCH_JSON}`);
    }
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const detail =
      error instanceof SettingsError || !(error instanceof Error) ? String(error instanceof Error ? error.message : error) : (error.stack ?? error.message);
    process.stderr.write(`[bench] failed: ${detail}\n`);
    process.exit(1);
  },
);
