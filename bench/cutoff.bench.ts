/**
 * `npm run bench:cutoff`: how many boxes per second `renewals.prepare-boxes` builds and reserves at a cut-off
 * with the retention extras on, beside a direct loop of its own database operations. Not a test: it asserts
 * nothing, prints its figures and the target (≥ 100 boxes/s), and exits 0 either way.
 *
 * A store with every extra the box builder adds (a shipping fee, a recurring add-on on the subscription with
 * counted stock, a free-shipping perk and a 10 %-off-add-ons perk, a threshold offer, a loyalty programme with
 * automatic credit, a surprise gift campaign) gets BENCH_CUTOFF_SUBSCRIPTIONS subscriptions: one through the
 * API, the rest copies. Each round moves a fake clock past the next cut-off and runs the job's service
 * (`prepareDueBoxes`, with the composition root's `boxExtras`) in this process, exactly as the job calls it,
 * while the driver records every database command it sends. Before the round, the database is copied; after
 * it, those recorded commands are replayed against the copy by a bare loop (the same concurrency, no domain
 * code, no Stripe calls): the "direct loop of its own database operations".
 *
 * The cost per renewal (`cost`, after those rounds): every subscription gets BENCH_CUTOFF_HISTORY_MONTHS
 * delivered boxes of history (copies of a real box, written in bulk), one cut-off is timed at
 * BENCH_CUTOFF_SUBSCRIPTIONS, the store grows to BENCH_CUTOFF_LARGE_SUBSCRIPTIONS (copies, with the same
 * history), and one cut-off is timed again. Target: the time per box at the large size ≤ 1.2× the small one
 * (flat). The local stand-in scans for every non-unique query, so on it this ratio shows the scans; point
 * MONGODB_URI at a real MongoDB for what the indexes give.
 *
 * Settings (environment): BENCH_CUTOFF_PARTS (throughput,cost), BENCH_CUTOFF_SUBSCRIPTIONS (1000),
 * BENCH_CUTOFF_ROUNDS (3), BENCH_CUTOFF_CONCURRENCY (the job's), BENCH_CUTOFF_LARGE_SUBSCRIPTIONS (100000),
 * BENCH_CUTOFF_HISTORY_MONTHS (12), BENCH_JSON (a file for the figures as JSON).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import { MongoBulkWriteError, type Db, type Document } from 'mongodb';
import { attachSurpriseGifts } from '../src/gifts/gift.service';
import { upcomingCycles } from '../src/shared/calendar';
import { projectRoot } from '../src/local/project-paths';
import { BoxOrderModel, type BoxOrder } from '../src/orders/box-order.model';
import { newId } from '../src/shared/ids';
import { prepareDueBoxes, PREPARE_BOXES_CONCURRENCY } from '../src/renewals/renewal.service';
import { syncIndexes } from '../src/shared/db';
import { FakeClock, systemClock } from '../src/shared/time';
import { createStripeGateway } from '../src/stripe/stripe-gateway';
import { SubscriptionModel } from '../src/subscriptions/subscription.model';
import { coreAnswers } from '../src/wiring';
import { cloneSubscriptions } from '../test/factories/bulk.factory';
import { storeWithEveryExtra } from '../test/factories/every-extra-store.factory';
import { createMerchant } from '../test/factories/merchant.factory';
import { buildTestApp } from '../test/helpers/test-app';
import { silentLogger, testStripe } from '../test/helpers/test-env';
import { z } from 'zod';
import {
  describeCode,
  describeMachine,
  fmt,
  log,
  mapPool,
  measureCpu,
  median,
  out,
  printTargets,
  readEnv,
  startServices,
  target,
  waitForQuietMachine,
  type CpuShare,
  type Services,
  type TargetResult,
  tearDownBench,
  runBench,
} from './bench-support';

const CutoffEnv = z.object({
  BENCH_CUTOFF_SUBSCRIPTIONS: z.coerce.number().int().positive().default(1000),
  BENCH_CUTOFF_ROUNDS: z.coerce.number().int().positive().default(3),
  BENCH_CUTOFF_CONCURRENCY: z.coerce.number().int().positive().default(PREPARE_BOXES_CONCURRENCY),
  BENCH_CUTOFF_PARTS: z
    .string()
    .default('throughput,cost')
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(z.enum(['throughput', 'cost'])).min(1)),
  BENCH_CUTOFF_LARGE_SUBSCRIPTIONS: z.coerce.number().int().positive().default(100_000),
  BENCH_CUTOFF_HISTORY_MONTHS: z.coerce.number().int().min(0).max(120).default(12),
  BENCH_JSON: z.string().optional(),
});
type CutoffSettings = z.output<typeof CutoffEnv>;

interface RecordedCommand {
  name: string;
  command: Document;
}

/** The command as the replay sends it: without the session, cluster time and database the driver adds. */
function replayable(command: Document): Document {
  const copy: Document = {};
  for (const [key, value] of Object.entries(command)) {
    if (key === 'lsid' || key === 'txnNumber' || key.startsWith('$')) continue;
    copy[key] = value;
  }
  return copy;
}

/** Copies every collection (documents and indexes) of one database into another, emptied first. */
async function copyDatabase(from: Db, to: Db): Promise<number> {
  await to.dropDatabase();
  let documents = 0;
  for (const { name } of await from.listCollections({}, { nameOnly: true }).toArray()) {
    const source = from.collection(name);
    const target = to.collection(name);
    await to.createCollection(name);
    for (const index of await source.listIndexes().toArray()) {
      if (index.name === '_id_') continue;
      const { key, name: indexName, v: _v, ns: _ns, ...options } = index as Document;
      await target.createIndex(key as Document, { ...options, name: indexName as string });
    }
    const docs = await source.find({}).toArray();
    for (let i = 0; i < docs.length; i += 1000) await target.insertMany(docs.slice(i, i + 1000), { ordered: false });
    documents += docs.length;
  }
  return documents;
}

interface Round {
  round: number;
  cycleKey: string;
  subscriptionsLooked: number;
  boxes: number;
  seconds: number;
  boxesPerSecond: number;
  commands: number;
  commandsByName: Record<string, number>;
  /** `<command> <collection>` → how many (e.g. `find plans`): which reads repeat per box. */
  commandsByTarget: Record<string, number>;
  replaySeconds: number;
  replayBoxesPerSecond: number;
  linesByKind: Record<string, number>;
  stripeCalls: number;
  cpu: CpuShare;
  replayCpu: CpuShare;
}

async function setUpStore(clock: FakeClock, settings: CutoffSettings) {
  const gatewayClient = testStripe();
  let stripeCalls = 0;
  gatewayClient.on('request', () => {
    stripeCalls += 1;
  });
  const gateway = createStripeGateway(gatewayClient);
  const { app } = buildTestApp({ clock, stripeGateway: gateway });
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const { subscriptionId } = await storeWithEveryExtra(app, merchant.auth, {
    addonStock: 10_000_000,
    giftStockBudget: Math.max(1, Math.floor(settings.BENCH_CUTOFF_SUBSCRIPTIONS / 2)),
    giftCostBudgetMinor: 10_000_000,
    startsOn: clock.now().toISOString().slice(0, 10),
  });
  return { gateway, subscriptionId, stripeCalls: () => stripeCalls };
}

/** `YYYY-MM-DD` moved `months` back (the day kept, at most the 28th: a key, not a calendar date to charge on). */
function monthsBefore(localDate: string, months: number): string {
  const [year, month, day] = localDate.split('-').map(Number) as [number, number, number];
  const index = year * 12 + (month - 1) - months;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}-${String(Math.min(day, 28)).padStart(2, '0')}`;
}

/**
 * A year (or `months`) of delivered boxes for each subscription: copies of a real box, moved back a month
 * each, their stock consumed, no invoice, no facts waiting. Written in bulk; returns how many.
 */
async function addHistory(subscriptions: Array<{ _id: string; customerId: string }>, box: BoxOrder, months: number): Promise<number> {
  const orders = BoxOrderModel.collection;
  let written = 0;
  let chunk: Document[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    try {
      written += (await orders.insertMany(chunk, { ordered: false })).insertedCount;
    } catch (error) {
      // A month the throughput rounds already built for this subscription keeps its real box (one per cycle).
      if (!(error instanceof MongoBulkWriteError) || error.code !== 11000) throw error;
      written += error.result.insertedCount;
    }
    chunk = [];
  };
  for (const subscription of subscriptions) {
    for (let k = 1; k <= months; k += 1) {
      const at = new Date(box.createdAt.getTime() - k * 30 * 86_400_000);
      const copy: Document = {
        ...box,
        _id: newId('box'),
        subscriptionId: subscription._id,
        customerId: subscription.customerId,
        cycleKey: monthsBefore(box.cycleKey, k),
        status: 'delivered',
        lines: box.lines.map((line) => ({ ...line, stock: line.stock === 'untracked' ? 'untracked' : 'consumed' })),
        history: [{ status: 'delivered', at }],
        createdAt: at,
        updatedAt: at,
        outbox: [],
        factCount: 0,
      };
      for (const field of ['stripeInvoiceId', 'heldForInvoiceId', 'outboxDueAt']) delete copy[field];
      chunk.push(copy);
      if (chunk.length >= 1000) await flush();
    }
  }
  await flush();
  return written;
}

interface CostRun {
  subscriptions: number;
  historyOrders: number;
  boxes: number;
  seconds: number;
  msPerBox: number;
  cpu: CpuShare;
}

async function main(): Promise<void> {
  const settings = readEnv(CutoffEnv, process.env);
  const runId = randomBytes(4).toString('hex');
  const dbName = `bench_${runId}_cutoff`;
  const replayDbName = `bench_${runId}_cutoff_replay`;
  let services: Services | undefined;
  let connected = false;
  try {
    log('starting the database and stripe-mock (MONGODB_URI / STRIPE_API_HOST when set)…');
    services = await startServices();
    // The driver reports every command it sends: the job's are recorded for the direct loop.
    await mongoose.connect(services.mongoUri, { dbName, autoIndex: false, autoCreate: false, monitorCommands: true });
    connected = true;
    await syncIndexes(mongoose.connection);
    const client = mongoose.connection.getClient();
    const db = client.db(dbName);
    const replayDb = client.db(replayDbName);

    out();
    out(`Boxcycle cut-off benchmark, ${systemClock.now().toISOString()}`);
    out(`machine:  ${describeMachine()}`);
    out(`code:     ${describeCode(projectRoot)}`);
    out(`database: ${services.databaseDescription}; stripe-mock at ${services.stripeHost}:${services.stripePort}`);
    out(
      `settings: ${Object.entries(settings)
        .map(([name, value]) => `${name}=${String(value)}`)
        .join(' ')}`,
    );
    out();

    const clock = new FakeClock(systemClock.now());
    const store = await setUpStore(clock, settings);
    const setupStarted = performance.now();
    await cloneSubscriptions(store.subscriptionId, settings.BENCH_CUTOFF_SUBSCRIPTIONS - 1);
    log(`${settings.BENCH_CUTOFF_SUBSCRIPTIONS} subscriptions ready (${((performance.now() - setupStarted) / 1000).toFixed(1)} s to copy)`);
    const template = (await SubscriptionModel.findById(store.subscriptionId).lean())!;
    const deps = { clock, stripe: store.gateway, logger: silentLogger, extras: coreAnswers({ clock }).boxExtras };

    /** The next box's cut-off comes (all copies share the template's calendar): the clock a minute after it. */
    const reachNextCutoff = async () => {
      const cycle = upcomingCycles(template.schedule, clock.now(), 2).find((c) => c.cutoffAt > clock.now())!;
      clock.set(new Date(cycle.cutoffAt.getTime() + 60_000));
      // Gifts are granted before the cut-off by their own job; not measured.
      await attachSurpriseGifts({ clock, logger: silentLogger });
      return cycle;
    };
    const rounds: Round[] = [];
    const costRuns: CostRun[] = [];
    const throughputRounds = settings.BENCH_CUTOFF_PARTS.includes('throughput') ? settings.BENCH_CUTOFF_ROUNDS : 0;
    for (let round = 0; round < throughputRounds; round += 1) {
      const cycle = await reachNextCutoff();
      log(`round ${round + 1}: copying the database for the direct loop…`);
      await copyDatabase(db, replayDb);
      await waitForQuietMachine(15_000);

      const recorded: RecordedCommand[] = [];
      const onCommand = (event: { databaseName: string; commandName: string; command: Document }) => {
        if (event.databaseName === dbName) recorded.push({ name: event.commandName, command: replayable(event.command) });
      };
      client.on('commandStarted', onCommand);
      const callsBefore = store.stripeCalls();
      log(`round ${round + 1}: prepare-boxes at the cut-off of ${cycle.cycleKey}, ${settings.BENCH_CUTOFF_CONCURRENCY} at once`);
      const cpu = measureCpu(undefined);
      const started = performance.now();
      const looked = await prepareDueBoxes(deps, { concurrency: settings.BENCH_CUTOFF_CONCURRENCY });
      const seconds = (performance.now() - started) / 1000;
      const cpuShare = cpu();
      client.off('commandStarted', onCommand);
      const boxes = await BoxOrderModel.find({ cycleKey: cycle.cycleKey, assembledAt: { $exists: true } }, { lines: 1 }).lean();
      const linesByKind: Record<string, number> = {};
      for (const box of boxes) for (const line of box.lines) linesByKind[line.kind] = (linesByKind[line.kind] ?? 0) + 1;

      // The direct loop: the same commands, in the order sent, against the copy, with the same number at once.
      log(`round ${round + 1}: replaying ${recorded.length} database commands against the copy`);
      const replayCpu = measureCpu(undefined);
      const replayStarted = performance.now();
      await mapPool(recorded, settings.BENCH_CUTOFF_CONCURRENCY, async ({ command }) => {
        await replayDb.command(command).catch(() => undefined); // a duplicate key or a stale cursor costs the same round trip
      });
      const replaySeconds = (performance.now() - replayStarted) / 1000;
      const commandsByName: Record<string, number> = {};
      for (const { name } of recorded) commandsByName[name] = (commandsByName[name] ?? 0) + 1;
      const commandsByTarget: Record<string, number> = {};
      for (const { name, command } of recorded) {
        const target = `${name} ${typeof command[name] === 'string' ? command[name] : ''}`.trim();
        commandsByTarget[target] = (commandsByTarget[target] ?? 0) + 1;
      }
      rounds.push({
        round,
        cycleKey: cycle.cycleKey,
        subscriptionsLooked: looked,
        boxes: boxes.length,
        seconds,
        boxesPerSecond: boxes.length / seconds,
        commands: recorded.length,
        commandsByName,
        commandsByTarget,
        replaySeconds,
        replayBoxesPerSecond: boxes.length / replaySeconds,
        linesByKind,
        stripeCalls: store.stripeCalls() - callsBefore,
        cpu: cpuShare,
        replayCpu: replayCpu(),
      });
    }

    const results: TargetResult[] = [];
    if (rounds.length > 0) {
      out('Cut-off: renewals.prepare-boxes with the retention extras on (in this process, as the job calls it)');
      for (const r of rounds) {
        out(
          `   round ${r.round + 1} (${r.cycleKey}): ${r.boxes} boxes of ${r.subscriptionsLooked} subscriptions in ${r.seconds.toFixed(2)} s = ${fmt.rate(r.boxesPerSecond)} boxes/s; direct loop of its ${r.commands} database commands (${(r.commands / Math.max(1, r.boxes)).toFixed(1)} a box): ${r.replaySeconds.toFixed(2)} s = ${fmt.rate(r.replayBoxesPerSecond)} boxes/s; job ÷ loop ${fmt.ratio(r.boxesPerSecond / r.replayBoxesPerSecond)}`,
        );
        out(`            Stripe calls: ${r.stripeCalls} (${(r.stripeCalls / Math.max(1, r.boxes)).toFixed(1)} a box); lines: ${JSON.stringify(r.linesByKind)}`);
        out(`            commands: ${JSON.stringify(r.commandsByName)}`);
        const perBox = Object.entries(r.commandsByTarget)
          .sort(([, a], [, b]) => b - a)
          .map(([name, count]) => `${name} ${(count / Math.max(1, r.boxes)).toFixed(2)}`);
        out(`            a box, by command and collection: ${perBox.join(', ')}`);
        out(`            CPU, job: ${fmt.cpu(r.cpu)}`);
        out(`            CPU, loop: ${fmt.cpu(r.replayCpu)}`);
      }
      const job = median(rounds.map((r) => r.boxesPerSecond));
      const loop = median(rounds.map((r) => r.replayBoxesPerSecond));
      out();
      out(`   medians: job ${fmt.rate(job)} boxes/s, direct loop ${fmt.rate(loop)} boxes/s (job ÷ loop ${fmt.ratio(job / loop)})`);
      out();
      results.push(
        target(
          'cut-off: boxes built and reserved per second, retention extras on',
          `median of ${rounds.length} rounds of ${settings.BENCH_CUTOFF_SUBSCRIPTIONS}; its own database commands in a bare loop: ${fmt.rate(loop)} boxes/s`,
          job,
          { kind: 'min', value: 100, unit: ' boxes/s' },
        ),
      );
    }

    if (settings.BENCH_CUTOFF_PARTS.includes('cost')) {
      const large = Math.max(settings.BENCH_CUTOFF_LARGE_SUBSCRIPTIONS, settings.BENCH_CUTOFF_SUBSCRIPTIONS);
      const months = settings.BENCH_CUTOFF_HISTORY_MONTHS;
      /** One cut-off of the whole store, timed (the job's service, as above, nothing recorded). */
      const costRound = async (subscriptions: number, historyOrders: number): Promise<CostRun> => {
        const cycle = await reachNextCutoff();
        await waitForQuietMachine(15_000);
        log(`cost: prepare-boxes at the cut-off of ${cycle.cycleKey} with ${subscriptions} subscriptions and ${historyOrders} boxes of history`);
        const cpu = measureCpu(undefined);
        const started = performance.now();
        await prepareDueBoxes(deps, { concurrency: settings.BENCH_CUTOFF_CONCURRENCY });
        const seconds = (performance.now() - started) / 1000;
        const cpuShare = cpu();
        const boxes = await BoxOrderModel.countDocuments({ cycleKey: cycle.cycleKey, assembledAt: { $exists: true } });
        const msPerBox = (1000 * seconds) / Math.max(1, boxes);
        // Said at once: on the stand-in the large size can take very long (its scans), and this one is measured.
        log(`cost: ${boxes} boxes in ${seconds.toFixed(2)} s = ${msPerBox.toFixed(2)} ms a box`);
        return { subscriptions, historyOrders, boxes, seconds, msPerBox, cpu: cpuShare };
      };
      // A real box to copy into the past: the template's latest (one unmeasured cut-off first when none was built).
      if (rounds.length === 0) await reachNextCutoff().then(() => prepareDueBoxes(deps, { concurrency: settings.BENCH_CUTOFF_CONCURRENCY }));
      const box = (await BoxOrderModel.findOne({ subscriptionId: store.subscriptionId }).sort({ createdAt: -1 }).lean())!;
      const merchantId = box.merchantId;
      const ownedBy = async () =>
        (await SubscriptionModel.find({ merchantId }, { _id: 1, customerId: 1 }).lean()) as Array<{ _id: string; customerId: string }>;
      let started = performance.now();
      let historyOrders = await addHistory(await ownedBy(), box, months);
      log(`cost: ${historyOrders} boxes of history written (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      const small = await costRound(settings.BENCH_CUTOFF_SUBSCRIPTIONS, historyOrders);
      started = performance.now();
      const grown = await cloneSubscriptions(store.subscriptionId, large - settings.BENCH_CUTOFF_SUBSCRIPTIONS);
      historyOrders += await addHistory(
        grown.map((s) => ({ _id: s.subscriptionId, customerId: s.customerId })),
        box,
        months,
      );
      log(`cost: grown to ${large} subscriptions with ${historyOrders} boxes of history (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      const big = await costRound(large, historyOrders);
      out(`Cost per renewal with ${months} months of history (one cut-off at each size, the job's service in this process)`);
      for (const run of [small, big]) {
        out(
          `   ${run.subscriptions} subscriptions, ${run.historyOrders} boxes of history: ${run.boxes} boxes in ${run.seconds.toFixed(2)} s = ${run.msPerBox.toFixed(2)} ms a box (${fmt.rate(run.boxes / run.seconds)} boxes/s)`,
        );
        out(`            CPU: ${fmt.cpu(run.cpu)}`);
      }
      out();
      results.push(
        target(
          `cost per renewal flat from ${small.subscriptions} to ${big.subscriptions} subscriptions (time a box, large ÷ small)`,
          `${big.msPerBox.toFixed(2)} ms a box at ${big.subscriptions} vs ${small.msPerBox.toFixed(2)} ms at ${small.subscriptions}, ${months} months of history each`,
          big.msPerBox / small.msPerBox,
          { kind: 'max', value: 1.2, unit: '×' },
        ),
      );
      costRuns.push(small, big);
    }
    printTargets(results);
    if (settings.BENCH_JSON) {
      await writeFile(
        settings.BENCH_JSON,
        `${JSON.stringify({ bench: 'cutoff', at: systemClock.now(), machine: describeMachine(), database: services.databaseDescription, settings, targets: results, rounds, costRuns }, null, 2)}\n`,
      );
    }
  } finally {
    await tearDownBench(services, [dbName, replayDbName], connected);
  }
}

runBench(main);
