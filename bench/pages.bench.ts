/**
 * `npm run bench:pages`: how long the merchant's pages take for a big store (BENCH_PAGES_SUBSCRIBERS
 * subscribers, default 100k, with BENCH_PAGES_ORDERS_EACH orders each, default 10: 1M orders), against two
 * baselines measured in the same run: a page that reads nothing from the store (the sign-in form: routing,
 * session, CSRF, template) and the same pages for the same store while it had BENCH_PAGES_SMALL
 * subscribers. Not a test: it asserts nothing and prints figures.
 *
 * The store is made real first: BENCH_PAGES_TEMPLATES shoppers subscribe through the API on different days
 * of a month and renew month after month on a fake clock (cut-offs, signed `invoice.paid` events, shipping
 * with tracking), some then pause or cancel. Their stored documents (customers, subscriptions, orders,
 * facts) are then cloned, with fresh ids, names and e-mails, straight into the collections until the store
 * has its size; the indexes are the ones the schemas declare.
 *
 * Besides the time, each page's database commands are counted with the documents they returned (the
 * driver's command monitoring): that part does not depend on the engine. The local stand-in
 * (mongo-java-server) does not use non-unique indexes — it scans a collection for every such query — so its
 * times grow with the store whatever the queries; with MONGODB_URI pointing at a real MongoDB the same
 * script measures what a merchant would see.
 *
 * The fulfilment page reads the store's stored forecast: at each size it is refreshed once before the pages
 * are timed (as the `orders.refresh-forecasts` job would), and that refresh's time, commands and documents
 * are printed on a line of their own: the worker's cost, not the page's.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BSON, type Document } from 'mongodb';
import mongoose from 'mongoose';
import request from 'supertest';
import { z } from 'zod';
import { nameWordsOf } from '../src/customers/customer.queries';
import { refreshForecast, requestForecastRefresh } from '../src/orders/fulfilment-forecast.service';
import { projectRoot } from '../src/local/project-paths';
import { connectDatabase, disconnectDatabase, syncIndexes } from '../src/shared/db';
import { FakeClock, systemClock } from '../src/shared/time';
import { createStripeGateway } from '../src/stripe/stripe-gateway';
import { buildCustomerInput, buildPlanInput } from '../test/factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../test/factories/merchant.factory';
import { renewalDriver } from '../test/helpers/renewal-driver';
import { buildTestApp, type TestApp } from '../test/helpers/test-app';
import { describeCode, describeMachine, percentiles, SettingsError, startServices, type Services } from './bench-support';

const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const Count = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const PagesEnv = z.object({
  BENCH_PAGES_SUBSCRIBERS: Count(100_000),
  BENCH_PAGES_ORDERS_EACH: Count(10),
  BENCH_PAGES_SMALL: Count(1_000),
  BENCH_PAGES_TEMPLATES: Count(28),
  BENCH_PAGES_ROUNDS: Count(5),
  // `none`: copies get no facts of their own (the templates keep theirs): 2.9M facts at 100k subscribers do not
  // fit the local stand-in's default heap; a subscriber's timeline is then timed on a template.
  BENCH_PAGES_FACTS: z.enum(['all', 'none']).default('all'),
});
type PagesSettings = z.output<typeof PagesEnv>;

function readPagesSettings(env: NodeJS.ProcessEnv): PagesSettings {
  const present = Object.fromEntries(Object.entries(env).filter(([name, value]) => name.startsWith('BENCH_PAGES_') && value));
  const parsed = PagesEnv.safeParse(present);
  if (!parsed.success)
    throw new SettingsError(`Invalid bench settings:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  const settings = parsed.data;
  if (settings.BENCH_PAGES_SMALL >= settings.BENCH_PAGES_SUBSCRIBERS) throw new SettingsError('BENCH_PAGES_SMALL must be below BENCH_PAGES_SUBSCRIBERS');
  if (settings.BENCH_PAGES_SMALL < settings.BENCH_PAGES_TEMPLATES) throw new SettingsError('BENCH_PAGES_SMALL must be at least BENCH_PAGES_TEMPLATES');
  return settings;
}

const plus = (iso: string, ms: number): Date => new Date(Date.parse(iso) + ms);
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------------------
// 1. A real store: shoppers who subscribed through the API and renewed for months
// ---------------------------------------------------------------------------------------------------------

interface Template {
  subscriptionId: string;
  stripeSubscriptionId: string;
}

interface NextCharge {
  cycleKey: string;
  chargeAt: string;
  cutoffAt: string;
}

/**
 * The template shoppers: one subscribing each day (so boxes spread over the month's ship dates), each
 * renewing `ordersEach - 1` times after the first box, every box but the last shipped with tracking; then a
 * few pause, skip or cancel. Steps run in time order on the fake clock, as the jobs and Stripe would.
 */
async function buildTemplates(testApp: TestApp, merchant: TestMerchant, settings: PagesSettings): Promise<{ templates: Template[]; planIds: string[] }> {
  const { app, clock } = testApp;
  const driver = renewalDriver(testApp, createStripeGateway(testApp.stripe));
  const api = {
    get: async (path: string) => (await request(app).get(path).set(merchant.auth).expect(200)).body,
    post: async (path: string, body: object, status = 200) => (await request(app).post(path).set(merchant.auth).send(body).expect(status)).body,
  };
  const plans = [
    await api.post('/api/v1/plans', buildPlanInput({ name: 'Coffee of the month' }), 201),
    await api.post('/api/v1/plans', buildPlanInput({ name: 'Tea explorer' }), 201),
  ];
  const templates: Template[] = [];
  const steps: Array<{ at: number; template: number; kind: 'cutoff' | 'charge'; next: NextCharge; left: number }> = [];
  for (let index = 0; index < settings.BENCH_PAGES_TEMPLATES; index += 1) {
    clock.set(new Date(Date.parse('2025-01-01T15:00:00Z') + index * DAY_MS));
    const plan = plans[index % plans.length];
    const customer = await api.post('/api/v1/customers', buildCustomerInput(), 201);
    const created = await api.post(
      '/api/v1/subscriptions',
      {
        customerId: customer.id,
        planId: plan.id,
        variantId: plan.variants[index % plan.variants.length].id,
        cadence: 'month-1',
        paymentMethodId: 'pm_card_visa',
      },
      201,
    );
    await driver.pay(created.stripeSubscriptionId, clock.now(), 2600);
    templates.push({ subscriptionId: created.id, stripeSubscriptionId: created.stripeSubscriptionId });
    if (settings.BENCH_PAGES_ORDERS_EACH > 1) {
      const { nextCharge } = await api.get(`/api/v1/subscriptions/${created.id}`);
      steps.push({
        at: plus(nextCharge.cutoffAt, 60_000).getTime(),
        template: index,
        kind: 'cutoff',
        next: nextCharge,
        left: settings.BENCH_PAGES_ORDERS_EACH - 1,
      });
    }
  }
  while (steps.length > 0) {
    steps.sort((a, b) => a.at - b.at);
    const step = steps.shift()!;
    clock.set(new Date(step.at));
    const template = templates[step.template]!;
    if (step.kind === 'cutoff') {
      await driver.runCutoffs();
      steps.push({ ...step, kind: 'charge', at: plus(step.next.chargeAt, 5_000).getTime() });
      continue;
    }
    await driver.pay(template.stripeSubscriptionId, new Date(step.next.chargeAt), 2600);
    const left = step.left - 1;
    if (left === 0) continue;
    // Every box but the newest has shipped.
    const orders = await api.get(`/api/v1/orders?subscriptionId=${template.subscriptionId}&limit=100`);
    for (const order of orders.data as Array<{ id: string; status: string }>) {
      if (order.status === 'paid')
        await api.post(`/api/v1/orders/${order.id}/ship`, { carrier: 'USPS', trackingNumber: `9400${randomBytes(6).toString('hex')}` });
    }
    const { nextCharge } = await api.get(`/api/v1/subscriptions/${template.subscriptionId}`);
    steps.push({ at: plus(nextCharge.cutoffAt, 60_000).getTime(), template: step.template, kind: 'cutoff', next: nextCharge, left });
  }
  // Some stop for a while, some leave: the filters have something to find.
  for (const [index, template] of templates.entries()) {
    if (index % 7 === 3) await api.post(`/api/v1/subscriptions/${template.subscriptionId}/pause`, { cycles: 2 });
    if (index % 9 === 5) await api.post(`/api/v1/subscriptions/${template.subscriptionId}/cancel`, { mode: 'now', reason: 'too_expensive' });
  }
  await driver.followFacts();
  return { templates, planIds: plans.map((plan) => plan.id as string) };
}

// ---------------------------------------------------------------------------------------------------------
// 2. Cloning the store to its size
// ---------------------------------------------------------------------------------------------------------

const CLONED = ['customers', 'subscriptions', 'orders', 'events'] as const;
const ID_PATTERN = /\b[a-z]{2,6}_[0-9A-Za-z]{8,}\b/g;
const FIRST = [
  'Ada',
  'Ben',
  'Chloe',
  'Dmitri',
  'Elif',
  'Farah',
  'Gus',
  'Hana',
  'Ivo',
  'June',
  'Kofi',
  'Lena',
  'Mateo',
  'Nia',
  'Omar',
  'Priya',
  'Quinn',
  'Rosa',
  'Sami',
  'Tomás',
];
const LAST = [
  'Okafor',
  'Lindqvist',
  'Moreau',
  'Tanaka',
  'Schultz',
  'Novak',
  'Haddad',
  'Costa',
  'Walsh',
  'Ibrahim',
  'Kowalski',
  'Reyes',
  'Baptiste',
  'Fischer',
  'Ortega',
  'Yilmaz',
  'Duarte',
  'Nakamura',
  'Brennan',
  'Varga',
];

/** The store's template documents, as Extended JSON text, per collection; and the ids that stay shared (the store's own: plans, variants, prices). */
async function readTemplateDocuments(merchantId: string): Promise<{ texts: Record<string, string[]>; shared: Set<string> }> {
  const db = mongoose.connection.db!;
  const texts: Record<string, string[]> = {};
  for (const name of CLONED) {
    const docs = await db.collection(name).find({ merchantId }).toArray();
    texts[name] = docs.map((doc) => BSON.EJSON.stringify(doc, { relaxed: false }));
  }
  const shared = new Set<string>([merchantId]);
  for (const name of ['merchants', 'plans', 'addons', 'stock_items', 'api_keys']) {
    for (const doc of await db.collection(name).find({}).toArray()) {
      for (const id of BSON.EJSON.stringify(doc).match(ID_PATTERN) ?? []) shared.add(id);
    }
  }
  return { texts, shared };
}

/**
 * Copies `from`..`to - 1` of every template document: every id in it that is not the store's own gets the
 * copy's suffix (so references between a copy's customer, subscription, orders and facts hold), and each
 * copied shopper gets a name, an e-mail and a sign-up moment of their own.
 */
async function cloneCopies(texts: Record<string, string[]>, shared: Set<string>, from: number, to: number, facts: 'all' | 'none'): Promise<void> {
  const db = mongoose.connection.db!;
  const BATCH = 5_000;
  for (const name of CLONED) {
    if (name === 'events' && facts === 'none') continue;
    let batch: Document[] = [];
    const flush = async () => {
      if (batch.length > 0) await db.collection(name).insertMany(batch, { ordered: false });
      batch = [];
    };
    for (let copy = from; copy < to; copy += 1) {
      const suffix = `x${copy.toString(36)}`;
      for (const [index, text] of texts[name]!.entries()) {
        const doc = BSON.EJSON.parse(
          text.replace(ID_PATTERN, (id) => (shared.has(id) ? id : `${id}${suffix}`)),
          { relaxed: false },
        ) as Document;
        if (name === 'customers') {
          const shopper = copy * texts[name]!.length + index;
          const first = FIRST[shopper % FIRST.length]!;
          const last = `${LAST[Math.floor(shopper / FIRST.length) % LAST.length]!}${shopper >= FIRST.length * LAST.length ? ` ${Math.floor(shopper / (FIRST.length * LAST.length))}` : ''}`;
          doc.name = `${first} ${last}`;
          doc.nameWords = nameWordsOf(doc.name as string);
          doc.email = `shopper${shopper}@example.com`;
        }
        if (name === 'customers' || name === 'subscriptions') doc.createdAt = new Date((doc.createdAt as Date).getTime() - copy * 60_000);
        batch.push(doc);
        if (batch.length >= BATCH) await flush();
      }
    }
    await flush();
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3. Timing the pages
// ---------------------------------------------------------------------------------------------------------

interface PageFigures {
  label: string;
  path: string;
  status: number;
  bytes: number;
  p50: number;
  max: number;
  commands: number;
  returned: number;
}

/** Counts the commands sent and the documents they returned, between `reset()` and `read()`. */
function commandCounter(): { reset(): void; read(): { commands: number; returned: number } } {
  let commands = 0;
  let returned = 0;
  const client = mongoose.connection.getClient();
  client.on('commandSucceeded', (event) => {
    commands += 1;
    const reply = event.reply as { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] }; n?: number; values?: unknown[] };
    returned += reply.cursor?.firstBatch?.length ?? reply.cursor?.nextBatch?.length ?? reply.values?.length ?? 0;
  });
  return {
    reset: () => {
      commands = 0;
      returned = 0;
    },
    read: () => ({ commands, returned }),
  };
}

async function timePage(
  agent: ReturnType<typeof request.agent>,
  label: string,
  path: string,
  rounds: number,
  counter: ReturnType<typeof commandCounter>,
): Promise<PageFigures> {
  await agent.get(path).set('accept', 'text/html'); // warm
  const times: number[] = [];
  let status = 0;
  let bytes = 0;
  let counted = { commands: 0, returned: 0 };
  for (let round = 0; round < rounds; round += 1) {
    counter.reset();
    const started = performance.now();
    const res = await agent.get(path).set('accept', 'text/html');
    times.push(performance.now() - started);
    counted = counter.read();
    status = res.status;
    bytes = res.text.length;
  }
  const stats = percentiles(times);
  return { label, path, status, bytes, p50: stats.p50, max: stats.max, ...counted };
}

interface PageSet {
  pages: Array<{ label: string; path: string }>;
}

/** The pages a merchant opens most, with the links they follow (the second page of the list, a subscriber, a ship date). */
async function pagesToTime(agent: ReturnType<typeof request.agent>, templates: Template[], planIds: string[], clock: FakeClock): Promise<PageSet> {
  const list = await agent.get('/merchant/subscribers').set('accept', 'text/html');
  const nextHref = /href="(\/merchant\/subscribers\?[^"]*after=[^"]+)"/.exec(list.text)?.[1]?.replace(/&amp;/g, '&');
  const today = clock.now().toISOString().slice(0, 10);
  return {
    pages: [
      { label: 'home', path: '/merchant' },
      { label: 'subscribers', path: '/merchant/subscribers' },
      ...(nextHref ? [{ label: 'subscribers, page 2', path: nextHref }] : []),
      { label: 'subscribers, search', path: '/merchant/subscribers?q=lena+mor' },
      { label: 'subscribers, paused', path: '/merchant/subscribers?status=paused' },
      { label: 'subscribers, plan', path: `/merchant/subscribers?plan=${planIds[1]}` },
      { label: 'subscriber', path: `/merchant/subscribers/${templates[0]!.subscriptionId}` },
      { label: 'fulfilment', path: '/merchant/fulfilment' },
      { label: 'pick list', path: `/merchant/fulfilment/pick-list?shipOn=${today}` },
      { label: 'held and out of stock', path: '/merchant/fulfilment/attention' },
      { label: 'billing', path: '/merchant/billing' },
      { label: 'catalog', path: '/merchant/catalog' },
    ],
  };
}

async function measureAll(app: TestApp['app'], merchant: TestMerchant, set: PageSet, rounds: number, counter: ReturnType<typeof commandCounter>) {
  const signedOut = request.agent(app);
  const baseline = await timePage(signedOut, 'baseline: sign-in form', '/merchant/sign-in', rounds, counter);
  const agent = await signIn(app, merchant);
  const pages: PageFigures[] = [];
  for (const page of set.pages) pages.push(await timePage(agent, page.label, page.path, rounds, counter));
  return { baseline, pages };
}

async function signIn(app: TestApp['app'], merchant: TestMerchant) {
  const agent = request.agent(app);
  const form = await agent.get('/merchant/sign-in').set('accept', 'text/html');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
  await agent.post('/merchant/sign-in').type('form').send({ email: merchant.email, password: merchant.password, _csrf: csrf }).expect(303);
  return agent;
}

const ms = (value: number): string => `${value.toFixed(1)} ms`;
const ratio = (value: number): string => `${value.toFixed(1)}×`;

// ---------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const settings = readPagesSettings(process.env);
  const dbName = `bench_${randomBytes(4).toString('hex')}_pages`;
  let services: Services | undefined;
  let connected = false;
  try {
    log('starting the database and stripe-mock (MONGODB_URI / STRIPE_API_HOST when set)…');
    services = await startServices(log);
    process.env.TEST_MONGODB_URI = services.mongoUri;
    process.env.TEST_STRIPE_HOST = services.stripeHost;
    process.env.TEST_STRIPE_PORT = String(services.stripePort);
    await connectDatabase(services.mongoUri, dbName, { monitorCommands: true });
    connected = true;
    await syncIndexes(mongoose.connection);
    const counter = commandCounter();

    const clock = new FakeClock('2025-01-01T15:00:00Z');
    const testApp = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    log(`making ${settings.BENCH_PAGES_TEMPLATES} template shoppers renew ${settings.BENCH_PAGES_ORDERS_EACH} times through the API…`);
    const started = performance.now();
    const { templates, planIds } = await buildTemplates(testApp, merchant, settings);
    log(`templates ready in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const { texts, shared } = await readTemplateDocuments(merchant.id);
    const perCopy = Object.fromEntries(CLONED.map((name) => [name, texts[name]!.length]));
    log(`per copy: ${JSON.stringify(perCopy)}`);

    const copiesFor = (subscribers: number) => Math.ceil(subscribers / settings.BENCH_PAGES_TEMPLATES);
    const sizes = [
      { label: 'small', copies: copiesFor(settings.BENCH_PAGES_SMALL) },
      { label: 'big', copies: copiesFor(settings.BENCH_PAGES_SUBSCRIBERS) },
    ];
    out();
    out(`Boxcycle merchant pages benchmark, ${systemClock.now().toISOString()}`);
    out(`machine:  ${describeMachine()}`);
    out(`code:     ${describeCode(projectRoot)}`);
    out(`database: ${services.databaseDescription}`);
    out(
      `settings: ${Object.entries(settings)
        .map(([name, value]) => `${name}=${value}`)
        .join(' ')}`,
    );
    out(`time: median of ${settings.BENCH_PAGES_ROUNDS} requests after one warm-up, in process (supertest), the fake clock on the last box's day`);
    const results: Array<{ label: string; counts: Record<string, number>; measured: Awaited<ReturnType<typeof measureAll>> }> = [];
    const refreshes: Array<{ label: string; outcome: string; ms: number; commands: number; returned: number }> = [];
    let copied = 1; // copy 0 is the templates themselves
    for (const size of sizes) {
      const cloneStarted = performance.now();
      await cloneCopies(texts, shared, copied, size.copies, settings.BENCH_PAGES_FACTS);
      copied = size.copies;
      const db = mongoose.connection.db!;
      const counts = Object.fromEntries(
        await Promise.all(CLONED.map(async (name) => [name, await db.collection(name).countDocuments({ merchantId: merchant.id })] as const)),
      );
      log(`${size.label} store: ${JSON.stringify(counts)} (cloned in ${((performance.now() - cloneStarted) / 1000).toFixed(0)} s)`);
      clock.advance(1000); // a refresh after the previous size's
      await requestForecastRefresh(clock, merchant.id);
      counter.reset();
      const refreshStarted = performance.now();
      const outcome = await refreshForecast({ clock }, merchant.id);
      const refreshMs = performance.now() - refreshStarted;
      const refreshCounts = counter.read();
      refreshes.push({ label: size.label, outcome, ms: refreshMs, ...refreshCounts });
      const set = await pagesToTime(await signIn(testApp.app, merchant), templates, planIds, clock);
      results.push({ label: size.label, counts, measured: await measureAll(testApp.app, merchant, set, settings.BENCH_PAGES_ROUNDS, counter) });
    }

    const [small, big] = results as [(typeof results)[number], (typeof results)[number]];
    out();
    for (const result of results)
      out(
        `${result.label} store: ${Object.entries(result.counts)
          .map(([name, count]) => `${count.toLocaleString('en-US')} ${name}`)
          .join(', ')}`,
      );
    out(`baseline (sign-in form, reads nothing of the store): small ${ms(small.measured.baseline.p50)}, big ${ms(big.measured.baseline.p50)}`);
    out();
    const header = ['page', 'status', 'small p50', 'big p50', 'big max', 'big ÷ baseline', 'big ÷ small', 'commands', 'docs returned', 'KiB'];
    const rows = big.measured.pages.map((page, index) => {
      const before = small.measured.pages[index]!;
      return [
        page.label,
        String(page.status),
        ms(before.p50),
        ms(page.p50),
        ms(page.max),
        ratio(page.p50 / big.measured.baseline.p50),
        ratio(page.p50 / before.p50),
        `${before.commands} → ${page.commands}`,
        `${before.returned} → ${page.returned}`,
        (page.bytes / 1024).toFixed(0),
      ];
    });
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
    out(line(header));
    for (const row of rows) out(line(row));
    out();
    out('commands and docs returned: small → big store, per request (engine-independent).');
    for (const refresh of refreshes) {
      out(
        `fulfilment forecast refresh (the worker's, once per store after its facts), ${refresh.label} store: ${refresh.outcome} in ${ms(refresh.ms)}, ${refresh.commands} commands, ${refresh.returned} docs returned`,
      );
    }
    if (services.databaseDescription.includes('mongo-java-server')) {
      out('Engine note: mongo-java-server scans for every non-unique index, so "big ÷ small" here measures its scans, not MongoDB.');
      out('Run with MONGODB_URI=<a real MongoDB> for the times a merchant would see.');
    }
  } finally {
    if (connected) {
      await mongoose.connection.db?.dropDatabase().catch(() => undefined);
      await disconnectDatabase().catch(() => undefined);
    }
    await services?.stop().catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof SettingsError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
