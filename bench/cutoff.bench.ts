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
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import request from 'supertest';
import type { Db, Document } from 'mongodb';
import { attachSurpriseGifts } from '../src/gifts/gift.service';
import { upcomingCycles } from '../src/shared/calendar';
import { projectRoot } from '../src/local/project-paths';
import { BoxOrderModel } from '../src/orders/box-order.model';
import { prepareDueBoxes, PREPARE_BOXES_CONCURRENCY } from '../src/renewals/renewal.service';
import { disconnectDatabase, syncIndexes } from '../src/shared/db';
import { FakeClock, systemClock } from '../src/shared/time';
import { createStripeGateway } from '../src/stripe/stripe-gateway';
import { SubscriptionModel } from '../src/subscriptions/subscription.model';
import { coreAnswers } from '../src/wiring';
import { cloneSubscriptions } from '../test/factories/bulk.factory';
import { buildAddonInput, buildCustomerInput, buildPlanInput } from '../test/factories/catalog.factory';
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
  SettingsError,
  startServices,
  target,
  waitForQuietMachine,
  type CpuShare,
  type Services,
  type TargetResult,
} from './bench-support';

const CutoffEnv = z.object({
  BENCH_CUTOFF_SUBSCRIPTIONS: z.coerce.number().int().positive().default(1000),
  BENCH_CUTOFF_ROUNDS: z.coerce.number().int().positive().default(3),
  BENCH_CUTOFF_CONCURRENCY: z.coerce.number().int().positive().default(PREPARE_BOXES_CONCURRENCY),
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
  const call = async (method: 'post' | 'put' | 'patch', path: string, body: object, status: number) => {
    const res = await request(app)[method](`/api/v1${path}`).set(merchant.auth).send(body);
    if (res.status !== status) throw new Error(`${method.toUpperCase()} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as Record<string, unknown> & { id: string };
  };
  // Every extra the box builder adds.
  await call('patch', '/merchants/me', { subscriptionSettings: { shippingFees: [{ currency: 'USD', amountMinor: 500 }] } }, 200);
  const plan = await call('post', '/plans', buildPlanInput(), 201);
  const refill = await call('post', '/addons', buildAddonInput({ name: 'Beans refill', kind: 'recurring', priceMinor: 1200, stock: 10_000_000 }), 201);
  const gift = await call('post', '/addons', buildAddonInput({ name: 'Tasting tin', stock: 10_000_000 }), 201);
  await call(
    'put',
    '/loyalty-program',
    {
      enabled: true,
      pointsPerUnit: 10,
      redemption: { points: 100, creditMinor: 500 },
      autoApply: true,
      tierBasis: 'paid_boxes',
      tiers: [{ key: 'silver', name: 'Silver', threshold: 3, earnMultiplierPercent: 150 }],
    },
    200,
  );
  await call('post', '/perks', { name: 'Free shipping', benefit: { kind: 'free_shipping' } }, 201);
  await call('post', '/perks', { name: '10% off add-ons', benefit: { kind: 'addon_discount', percentOff: 10 } }, 201);
  await call('post', '/offers', { kind: 'threshold', name: 'Spend 30, save 2', basis: 'box_total', minSpendMinor: 3000, amountOffMinor: 200 }, 201);
  const campaign = await call(
    'post',
    '/gift-campaigns',
    {
      name: 'Thank-you tin',
      giftAddonIds: [gift.id],
      unitCostMinor: 300,
      stockBudget: Math.max(1, Math.floor(settings.BENCH_CUTOFF_SUBSCRIPTIONS / 2)),
      costBudgetMinor: 10_000_000,
      startsOn: clock.now().toISOString().slice(0, 10),
    },
    201,
  );
  await call('post', `/gift-campaigns/${campaign.id}/activate`, {}, 200);

  const customer = await call('post', '/customers', buildCustomerInput(), 201);
  const variants = plan.variants as Array<{ id: string }>;
  const subscription = await call(
    'post',
    '/subscriptions',
    { customerId: customer.id, planId: plan.id, variantId: variants[0]!.id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' },
    201,
  );
  await call('post', `/subscriptions/${subscription.id}/addons`, { addonId: refill.id, quantity: 1 }, 200);
  return { gateway, subscriptionId: subscription.id, stripeCalls: () => stripeCalls };
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

    const rounds: Round[] = [];
    for (let round = 0; round < settings.BENCH_CUTOFF_ROUNDS; round += 1) {
      // The next box's cut-off comes (all copies share the template's calendar): a minute after it.
      const cycle = upcomingCycles(template.schedule, clock.now(), 2).find((c) => c.cutoffAt > clock.now())!;
      clock.set(new Date(cycle.cutoffAt.getTime() + 60_000));
      // Gifts are granted before the cut-off by their own job; not measured.
      await attachSurpriseGifts({ clock, logger: silentLogger });
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
      rounds.push({
        round,
        cycleKey: cycle.cycleKey,
        subscriptionsLooked: looked,
        boxes: boxes.length,
        seconds,
        boxesPerSecond: boxes.length / seconds,
        commands: recorded.length,
        commandsByName,
        replaySeconds,
        replayBoxesPerSecond: boxes.length / replaySeconds,
        linesByKind,
        stripeCalls: store.stripeCalls() - callsBefore,
        cpu: cpuShare,
        replayCpu: replayCpu(),
      });
    }

    out('Cut-off: renewals.prepare-boxes with the retention extras on (in this process, as the job calls it)');
    for (const r of rounds) {
      out(
        `   round ${r.round + 1} (${r.cycleKey}): ${r.boxes} boxes of ${r.subscriptionsLooked} subscriptions in ${r.seconds.toFixed(2)} s = ${fmt.rate(r.boxesPerSecond)} boxes/s; direct loop of its ${r.commands} database commands (${(r.commands / Math.max(1, r.boxes)).toFixed(1)} a box): ${r.replaySeconds.toFixed(2)} s = ${fmt.rate(r.replayBoxesPerSecond)} boxes/s; job ÷ loop ${fmt.ratio(r.boxesPerSecond / r.replayBoxesPerSecond)}`,
      );
      out(`            Stripe calls: ${r.stripeCalls} (${(r.stripeCalls / Math.max(1, r.boxes)).toFixed(1)} a box); lines: ${JSON.stringify(r.linesByKind)}`);
      out(`            commands: ${JSON.stringify(r.commandsByName)}`);
      out(`            CPU, job: ${fmt.cpu(r.cpu)}`);
      out(`            CPU, loop: ${fmt.cpu(r.replayCpu)}`);
    }
    const job = median(rounds.map((r) => r.boxesPerSecond));
    const loop = median(rounds.map((r) => r.replayBoxesPerSecond));
    out();
    out(`   medians: job ${fmt.rate(job)} boxes/s, direct loop ${fmt.rate(loop)} boxes/s (job ÷ loop ${fmt.ratio(job / loop)})`);
    out();
    const results: TargetResult[] = [
      target(
        'cut-off: boxes built and reserved per second, retention extras on',
        `median of ${rounds.length} rounds of ${settings.BENCH_CUTOFF_SUBSCRIPTIONS}; its own database commands in a bare loop: ${fmt.rate(loop)} boxes/s`,
        job,
        { kind: 'min', value: 100, unit: ' boxes/s' },
      ),
    ];
    printTargets(results);
    if (settings.BENCH_JSON) {
      await writeFile(
        settings.BENCH_JSON,
        `${JSON.stringify({ bench: 'cutoff', at: systemClock.now(), machine: describeMachine(), database: services.databaseDescription, settings, targets: results, rounds }, null, 2)}\n`,
      );
    }
  } finally {
    if (connected) {
      for (const name of [dbName, replayDbName])
        await mongoose.connection
          .getClient()
          .db(name)
          .dropDatabase()
          .catch(() => undefined);
      await disconnectDatabase().catch(() => undefined);
    }
    await services?.stop().catch(() => undefined);
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
