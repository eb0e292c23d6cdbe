import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Agenda, Job } from 'agenda';
import mongoose from 'mongoose';
import { defineJobs, jobDefinitions, scheduleRecurringJobs } from '../../../jobs/registry';
import type { JobDeps } from '../../../jobs/job-definition';
import { createAgenda } from '../../../src/shared/agenda';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { silentLogger, testConfig, testStripe, useTestDatabase } from '../../helpers/test-env';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Every job the worker runs: how often (none: queued on demand), how many at once per worker, and its lock. */
const EXPECTED = [
  { name: 'catalog.sync-to-stripe', every: '1 minute', everyMs: MINUTE, concurrency: 1, lockLifetime: 120_000 },
  { name: 'events.dispatch-facts', every: '5 seconds', everyMs: 5_000, concurrency: 1, lockLifetime: 300_000 },
  { name: 'gifts.attach-surprise-gifts', every: '15 minutes', everyMs: 15 * MINUTE, concurrency: 1, lockLifetime: 600_000 },
  { name: 'health.record-heartbeat', every: '30 seconds', everyMs: 30_000, concurrency: 1, lockLifetime: 30_000 },
  { name: 'loyalty.maintain-accounts', every: '6 hours', everyMs: 6 * HOUR, concurrency: 1, lockLifetime: 1_800_000 },
  { name: 'messages.deliver', every: '10 seconds', everyMs: 10_000, concurrency: 1, lockLifetime: 300_000 },
  { name: 'messages.notify-delayed-boxes', every: '6 hours', everyMs: 6 * HOUR, concurrency: 1, lockLifetime: 1_800_000 },
  { name: 'messages.remind-upcoming-boxes', every: '1 hour', everyMs: HOUR, concurrency: 1, lockLifetime: 1_800_000 },
  { name: 'messages.remind-yearly-terms', every: '6 hours', everyMs: 6 * HOUR, concurrency: 1, lockLifetime: 1_800_000 },
  { name: 'messages.request-box-ratings', every: '1 hour', everyMs: HOUR, concurrency: 1, lockLifetime: 1_800_000 },
  { name: 'messages.send-win-backs', every: '6 hours', everyMs: 6 * HOUR, concurrency: 1, lockLifetime: 1_800_000 },
  { name: 'messages.warn-expiring-cards', every: '1 day', everyMs: 24 * HOUR, concurrency: 1, lockLifetime: 1_800_000 },
  { name: 'offers.grant-yearly-rewards', every: '6 hours', everyMs: 6 * HOUR, concurrency: 1, lockLifetime: 1_800_000 },
  { name: 'ops.sweep-request-records', every: '1 hour', everyMs: HOUR, concurrency: 1, lockLifetime: 120_000 },
  { name: 'orders.refresh-forecasts', every: '30 seconds', everyMs: 30_000, concurrency: 1, lockLifetime: 600_000 },
  { name: 'renewals.prepare-boxes', every: '5 minutes', everyMs: 5 * MINUTE, concurrency: 1, lockLifetime: 600_000 },
  { name: 'subscriptions.reconcile-with-stripe', every: '6 hours', everyMs: 6 * HOUR, concurrency: 1, lockLifetime: 3_600_000 },
  { name: 'subscriptions.sync-to-stripe', every: '1 minute', everyMs: MINUTE, concurrency: 1, lockLifetime: 300_000 },
  { name: 'webhooks.process-event', every: null, everyMs: null, concurrency: 10, lockLifetime: 120_000 },
  { name: 'webhooks.reconcile-events', every: '15 minutes', everyMs: 15 * MINUTE, concurrency: 1, lockLifetime: 600_000 },
  { name: 'webhooks.sweep-inbox', every: '1 minute', everyMs: MINUTE, concurrency: 1, lockLifetime: 300_000 },
];
const HEARTBEAT_SECONDS = 30;

const byName = <T extends { name: string }>(items: T[]): T[] => [...items].sort((a, b) => a.name.localeCompare(b.name));

describe('the job registry', () => {
  const agendas: Agenda[] = [];
  // Declared before the database's own afterAll, so it runs first: Agenda lets go before the connection closes.
  afterAll(async () => {
    // Never started: stop only closes what Agenda opened.
    await Promise.all(agendas.map((agenda) => agenda.stop(false)));
  });
  useTestDatabase();

  const deps = (): JobDeps => ({ clock: new FakeClock(), logger: silentLogger, stripe: createStripeGateway(testStripe()), workerName: 'test:1' });
  const newAgenda = async (name: string): Promise<Agenda> => {
    const agenda = createAgenda(mongoose.connection, testConfig().worker, name);
    agendas.push(agenda);
    await agenda.ready;
    return agenda;
  };

  test('when the worker defines its jobs, then exactly these jobs exist, each with its concurrency and lock lifetime', async () => {
    const agenda = await newAgenda('define');
    defineJobs(agenda, deps());
    const defined = Object.entries(agenda.definitions).map(([name, definition]) => ({
      name,
      concurrency: definition.concurrency,
      lockLifetime: definition.lockLifetime,
    }));
    expect(byName(defined)).toEqual(EXPECTED.map(({ name, concurrency, lockLifetime }) => ({ name, concurrency, lockLifetime })));
  });

  test('when two workers schedule the recurring jobs, then each repeats once, at its interval, and on-demand jobs are not scheduled', async () => {
    for (const name of ['worker-a', 'worker-b']) {
      const agenda = await newAgenda(name);
      defineJobs(agenda, deps());
      await scheduleRecurringJobs(agenda, HEARTBEAT_SECONDS);
    }
    const stored = await mongoose.connection
      .collection<{ name: string; type: string; repeatInterval: string }>('agenda_jobs')
      .find({}, { projection: { _id: 0, name: 1, type: 1, repeatInterval: 1 } })
      .toArray();
    expect(byName(stored)).toEqual(EXPECTED.filter((job) => job.every).map(({ name, every }) => ({ name, type: 'single', repeatInterval: every })));
  });

  test('when Agenda reads each interval, then the next run comes that long after the last one', async () => {
    const agenda = await newAgenda('intervals');
    const lastRunAt = new Date('2026-03-01T12:00:00Z');
    const periods = EXPECTED.filter((job) => job.every).map(({ name, every }) => {
      const job = agenda.create(name).repeatEvery(every!) as Job;
      job.attrs.lastRunAt = lastRunAt;
      // Agenda's own reading of a repeat interval (private in its types, the one it uses when a job has run).
      (job as unknown as { computeNextRunAt(): void }).computeNextRunAt();
      return { name, everyMs: job.attrs.nextRunAt!.getTime() - lastRunAt.getTime() };
    });
    expect(periods).toEqual(EXPECTED.filter((job) => job.every).map(({ name, everyMs }) => ({ name, everyMs })));
  });

  test('when a job file is read, then it is in the registry and its handler only reaches services (no model, no database, no Stripe client)', () => {
    const folder = path.join(__dirname, '../../../jobs');
    const files = readdirSync(folder).filter((file) => file.endsWith('.job.ts'));
    expect(files.map((file) => file.replace(/\.job\.ts$/, '')).sort()).toEqual(byName(jobDefinitions).map((job) => job.name));

    // Besides services: zod (to parse the job's data), the list of catalog kinds the catalog sync service takes, and the listener table the fact dispatcher follows.
    const allowed = new Set(['zod', './job-definition', '../src/catalog/catalog-kinds', '../src/listeners']);
    const offending = files.flatMap((file) => {
      const source = readFileSync(path.join(folder, file), 'utf8');
      const imports = [...source.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)].filter(([, typeOnly]) => !typeOnly).map(([, , from]) => from!);
      return imports.filter((from) => !allowed.has(from) && !/^\.\.\/src\/.+\.service$/.test(from)).map((from) => `${file}: ${from}`);
    });
    expect(offending).toEqual([]);
  });
});
