/**
 * `npm run bench:analytics`: a store with BENCH_ANALYTICS_SUBSCRIBERS subscribers (default 100,000) and two
 * years of facts; how fast its analytics are rebuilt from the facts, and how long each chart's metrics take
 * to read — against a baseline measured in the same run (one `findOne` by `_id` in the same database). Not a
 * test: it asserts nothing and prints figures.
 *
 * The facts are made fast but honestly: a few dozen template subscriptions live a year through the real
 * services, Stripe webhook path and listeners (the demo store's made-up year, src/demo), then each template's
 * facts (its subscription's, its boxes', its gifts') are cloned under fresh ids, moved back by a whole number
 * of days (so the store's history spans two years) and written straight into `events`. A clone is the same
 * story on other days: every id it names is renamed consistently, every date and instant moved by the same
 * days, so the projections take the clones as they took the templates. Then:
 *   (a) `rebuildAnalytics` for the store (drop every projection, fold the facts in memory with the listeners'
 *       rules, write in bulk), printed as facts/s;
 *   (b) each metrics read of /merchant/analytics (MRR, subscribers, churn) and of the cohorts, LTV,
 *       cancellations, dunning and box-service reports: the median of BENCH_ANALYTICS_READS reads, in ms and
 *       as a ratio to the baseline, beside the target (under 100 ms per chart).
 *
 * The database is MONGODB_URI, else a local server as `npm start` picks one (LOCAL_DB to choose); stripe-mock
 * (for the templates) is STRIPE_API_HOST/PORT, else a local one. The bench's database is dropped at the end.
 * The local stand-in (mongo-java-server) keeps every document in its Java heap: at 100,000 subscribers
 * (about 2.9M facts, and the projections) the default heap (a quarter of the machine's memory) may not hold
 * them — give it more with LOCAL_DB_JAVA_HEAP, or use MONGODB_URI.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import { z } from 'zod';
import { rebuildAnalytics } from '../src/analytics/analytics-projection.service';
import { BOX_KPI_FACTS } from '../src/analytics/box-kpis.service';
import { boxServiceReport, giftCostReport, loyaltyLiabilityReport, skuFillReport } from '../src/analytics/box-kpis.reports';
import { churnReport, mrrReport, subscriberReport } from '../src/analytics/metrics.service';
import { cancellationReport, cohortReport, dunningReport, ltvReport } from '../src/analytics/retention-metrics.service';
import { seedDemoHistory } from '../src/demo/demo-history.service';
import { FactModel, factId, type Fact } from '../src/events/fact.model';
import { seedDemoMerchant } from '../src/merchants/demo-seed.service';
import { connectDatabase, disconnectDatabase, syncIndexes } from '../src/shared/db';
import { createLogger } from '../src/shared/logger';
import { FakeClock, systemClock } from '../src/shared/time';
import { createStripeClient, STRIPE_MOCK_KEY } from '../src/stripe/stripe-client';
import { describeCode, describeMachine, fmt, startServices } from './bench-support';

const int = (value: number): string => Math.round(value).toLocaleString('en-US');

const Settings = z.object({
  BENCH_ANALYTICS_SUBSCRIBERS: z.coerce.number().int().min(1).max(2_000_000).default(100_000),
  BENCH_ANALYTICS_READS: z.coerce.number().int().min(1).max(1_000).default(15),
  BENCH_LOG_LEVEL: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('silent'),
});

const DAY = 86_400_000;
/** Facts written per insertMany while seeding the clones. */
const SEED_BATCH = 20_000;
const TARGET_MS = 100;
const log = (message: string): void => {
  process.stderr.write(`[bench:analytics] ${message}\n`);
};

/** Moves every date a fact carries by `days` and renames every id in `ids`: the same story, on other days, of other subjects. */
function cloned(value: unknown, days: number, ids: Map<string, string>): unknown {
  if (value instanceof Date) return new Date(value.getTime() + days * DAY);
  if (typeof value === 'string') {
    const renamed = ids.get(value);
    if (renamed) return renamed;
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(Date.parse(`${value}T12:00:00Z`) + days * DAY).toISOString().slice(0, 10);
    if (/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(value)) return new Date(Date.parse(value) + days * DAY).toISOString();
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => cloned(item, days, ids));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cloned(v, days, ids)]));
  return value;
}

async function median(reads: number, read: () => Promise<unknown>): Promise<number> {
  await read(); // warm
  const times: number[] = [];
  for (let i = 0; i < reads; i += 1) {
    const started = performance.now();
    await read();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  const settings = Settings.parse(process.env);
  const dbName = `bench_${randomBytes(4).toString('hex')}_analytics`;
  log('starting the database and stripe-mock (MONGODB_URI / STRIPE_API_HOST when set)…');
  const services = await startServices(log);
  let connected = false;
  try {
    await connectDatabase(services.mongoUri, dbName);
    connected = true;
    await syncIndexes(mongoose.connection);
    const logger = createLogger({ level: settings.BENCH_LOG_LEVEL, pretty: false });
    const stripe = createStripeClient({ secretKey: STRIPE_MOCK_KEY, host: services.stripeHost, port: services.stripePort, protocol: 'http' });

    // 1. The templates: a year of a small store, through the real services (as `npm start` makes the demo store's).
    const now = systemClock.now();
    const clock = new FakeClock(now);
    const { merchant, plans } = await seedDemoMerchant(clock);
    const merchantId = merchant._id;
    let started = performance.now();
    const made = await seedDemoHistory(
      {
        clock,
        logger,
        stripe,
        stripeMode: 'stripe-mock',
        webhookSecret: 'whsec_bench',
        publicUrl: 'http://localhost:3000',
        links: { publicUrl: 'http://localhost:3000', appSecret: 'bench' },
      },
      { merchantId, plans },
    );
    if (!made.made) throw new Error(`the template history was not made: ${made.why}`);
    log(`templates: ${made.subscriptions} subscriptions lived a year in ${fmt.ms(performance.now() - started)}`);

    // 2. The clones: each template's facts under fresh ids, moved back 0–365 days, until the store has N subscribers.
    const templateFacts = await FactModel.find({ merchantId, subscriptionId: { $exists: true } }).lean();
    const bySubscription = new Map<string, Fact[]>();
    for (const f of templateFacts) bySubscription.set(f.subscriptionId!, [...(bySubscription.get(f.subscriptionId!) ?? []), f]);
    const templates = [...bySubscription.values()];
    const copies = Math.max(0, settings.BENCH_ANALYTICS_SUBSCRIBERS - templates.length);
    started = performance.now();
    let written = 0;
    let batch: Array<Record<string, unknown>> = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await FactModel.collection.insertMany(batch, { ordered: false });
      written += batch.length;
      batch = [];
    };
    for (let copy = 0; copy < copies; copy += 1) {
      const facts = templates[copy % templates.length]!;
      const days = -(1 + Math.floor(((copy * 7919) % 36_500) / 100)); // 1–365 days back, spread evenly
      const tag = copy.toString(36);
      const ids = new Map<string, string>();
      for (const f of facts) {
        for (const id of [f.subjectId, f.subscriptionId, f.customerId]) if (id && !ids.has(id)) ids.set(id, `${id}~${tag}`);
      }
      for (const f of facts) {
        const subjectId = ids.get(f.subjectId)!;
        batch.push({
          ...(cloned({ ...f, _id: undefined }, days, ids) as Record<string, unknown>),
          _id: factId(subjectId, f.seq),
          subjectId,
        });
      }
      if (batch.length >= SEED_BATCH) await flush();
    }
    await flush();
    const totalFacts = await FactModel.countDocuments({ merchantId });
    log(`clones: ${int(written)} facts written in ${fmt.ms(performance.now() - started)}; the store has ${int(totalFacts)} facts`);

    // (a) The rebuild (MRR and retention facts folded together, then the box-service KPIs from theirs).
    if (services.engine === 'mongo-java-server' && totalFacts > 1_000_000 && !process.env.LOCAL_DB_JAVA_HEAP)
      log(`${int(totalFacts)} facts in the stand-in's default Java heap: if it runs out of memory, set LOCAL_DB_JAVA_HEAP (or use MONGODB_URI)`);
    const boxKpiFacts = await FactModel.countDocuments({ merchantId, type: { $in: [...BOX_KPI_FACTS] } });
    log(`rebuilding the store's analytics from its facts…`);
    started = performance.now();
    const rebuilt = await rebuildAnalytics({ merchantId });
    const rebuildMs = performance.now() - started;

    // (b) The reads, each as the pages make them (the last 12 months, the store's currency), against the baseline.
    const reads = settings.BENCH_ANALYTICS_READS;
    const someFact = templateFacts[0]!._id;
    const baseline = await median(reads, () => FactModel.findOne({ _id: someFact }).lean());
    const json = { format: 'json' as const };
    const usd = { ...json, currency: 'USD' };
    const charts: Array<[string, () => Promise<unknown>]> = [
      ['MRR (the page: MRR chart, movements)', () => mrrReport(systemClock, merchantId, json)],
      ['subscribers (subscribers, flow)', () => subscriberReport(systemClock, merchantId, usd)],
      ['churn (rates, causes)', () => churnReport(systemClock, merchantId, usd)],
      ['cohorts', () => cohortReport(systemClock, merchantId, json)],
      ['LTV', () => ltvReport(systemClock, merchantId, json)],
      ['cancellations (why they leave)', () => cancellationReport(systemClock, merchantId, json)],
      ['dunning recovery', () => dunningReport(systemClock, merchantId, json)],
      ['box service (on time, first box, ratings)', () => boxServiceReport(systemClock, merchantId, json)],
      ['SKU fill', () => skuFillReport(systemClock, merchantId, json)],
      ['gift cost', () => giftCostReport(systemClock, merchantId, json)],
      ['loyalty liability', () => loyaltyLiabilityReport(merchantId, json)],
    ];
    const results: Array<[string, number]> = [];
    for (const [name, read] of charts) results.push([name, await median(reads, read)]);

    const engineNote =
      services.engine === 'mongo-java-server'
        ? 'mongo-java-server: its non-unique indexes are accepted but NOT used (every query scans its collection) — these are not MongoDB timings'
        : services.engine;
    const lines = [
      '',
      `bench:analytics — ${now.toISOString()}`,
      `  machine:   ${describeMachine()}`,
      `  code:      ${describeCode(process.cwd())}`,
      `  database:  ${services.databaseDescription}`,
      `  engine:    ${engineNote}`,
      `  store:     ${int(made.subscriptions + copies)} subscribers (${made.subscriptions} templates lived through the services, ${int(copies)} clones), ${int(totalFacts)} facts over two years`,
      '',
      `(a) rebuildAnalytics: ${int(rebuilt.facts)} MRR/retention facts folded + the box-service KPIs rebuilt from ${int(boxKpiFacts)} facts, in ${fmt.ms(rebuildMs)} = ${int(Math.round((rebuilt.facts + boxKpiFacts) / (rebuildMs / 1000)))} facts/s`,
      '',
      `(b) reads, median of ${reads} (baseline: findOne by _id on events = ${baseline.toFixed(2)} ms)`,
      `    ${'chart'.padEnd(44)} ${'ms'.padStart(9)} ${'× baseline'.padStart(11)}   target < ${TARGET_MS} ms`,
      ...results.map(
        ([name, ms]) =>
          `    ${name.padEnd(44)} ${ms.toFixed(1).padStart(9)} ${(ms / baseline).toFixed(0).padStart(10)}×   ${ms < TARGET_MS ? 'under' : 'OVER'}`,
      ),
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    if (connected) {
      await mongoose.connection.db?.dropDatabase().catch(() => undefined);
      await disconnectDatabase().catch(() => undefined);
    }
    await services.stop().catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
