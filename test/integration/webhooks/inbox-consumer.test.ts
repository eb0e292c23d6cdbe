import type Stripe from 'stripe';
import { FactModel } from '../../../src/events/fact.model';
import { createMetrics, inboxConsumerRecorder } from '../../../src/ops/metrics';
import { FakeClock } from '../../../src/shared/time';
import { createWorkQueue } from '../../../src/shared/work-queue';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { startInboxConsumer } from '../../../src/webhooks/inbox-consumer.service';
import { WebhookEventModel } from '../../../src/webhooks/webhook-event.model';
import { claimEvents, failEvent, MAX_ATTEMPTS, receiveEvent, releaseEvents } from '../../../src/webhooks/webhook-inbox.service';
import { capturedLogger } from '../../helpers/captured-log';
import { buildEvent } from '../../helpers/stripe-events';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

const NOW = '2026-04-01T10:00:00Z';

/** Events in the inbox as the endpoint stores them (a type no handler acts on: processing only records the outcome). */
async function receive(clock: FakeClock, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const event = buildEvent('invoice.upcoming', { id: `in_${i}`, object: 'invoice' }, clock.now());
    await receiveEvent(clock, event as unknown as Stripe.Event);
    ids.push(event.id);
  }
  return ids;
}

/** Polls the database until `check` holds (the consumer runs on its own, in real time: this waits for a condition, not for a time). */
async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('claiming inbox events in batches', () => {
  useTestDatabase();

  test('when two workers claim batches of the same events at once, then each event goes to exactly one of them, counted as one attempt', async () => {
    const clock = new FakeClock(NOW);
    const ids = await receive(clock, 30);
    const [a, b] = await Promise.all([claimEvents(clock, 20, 'host-a:1'), claimEvents(clock, 20, 'host-b:2')]);
    const taken = [...a, ...b].map((event) => event._id);
    expect(new Set(taken).size).toBe(taken.length);
    expect(taken.length).toBeGreaterThanOrEqual(20);
    expect(a.every((event) => event.claimedBy?.startsWith('host-a:1#') && event.state === 'processing' && event.attempts === 1)).toBe(true);
    expect(b.every((event) => event.claimedBy?.startsWith('host-b:2#'))).toBe(true);

    const rest = await claimEvents(clock, 50, 'host-a:1');
    expect(new Set([...taken, ...rest.map((event) => event._id)])).toEqual(new Set(ids));
    expect(await claimEvents(clock, 50, 'host-b:2')).toEqual([]);
  });

  test('when an event failed, then a batch claim leaves it until its backoff has passed', async () => {
    const clock = new FakeClock(NOW);
    await receive(clock, 1);
    const [event] = await claimEvents(clock, 10, 'host-a:1');
    await failEvent(clock, event!, new Error('Stripe unavailable'));
    clock.advance(59_000);
    expect(await claimEvents(clock, 10, 'host-a:1')).toEqual([]);
    clock.advance(2_000);
    expect(await claimEvents(clock, 10, 'host-a:1')).toMatchObject([{ _id: event!._id, attempts: 2, state: 'processing' }]);
  });

  test('when claimed events are given back unstarted, then they are claimable at once and the attempt is not counted', async () => {
    const clock = new FakeClock(NOW);
    await receive(clock, 3);
    const claimed = await claimEvents(clock, 10, 'host-a:1');
    await releaseEvents(claimed);
    const again = await claimEvents(clock, 10, 'host-b:2');
    expect(again.map((event) => [event.attempts, event.claimedBy?.split('#')[0]])).toEqual([
      [1, 'host-b:2'],
      [1, 'host-b:2'],
      [1, 'host-b:2'],
    ]);
  });

  test('when a work list has no claimedBy field, then a batch claim is refused rather than hand out what others took', async () => {
    const facts = createWorkQueue(FactModel, {
      maxAttempts: 10,
      backoffMs: () => 60_000,
      stuckAfterMs: 600_000,
      orderBy: 'at',
      pendingSince: 'relayedAt',
      pendingGraceMs: 0,
    });
    await expect(facts.claimBatch(new FakeClock(NOW), 10, 'host-a:1')).rejects.toThrow(/no claimedBy field/);
  });
});

describe('the inbox consumer', () => {
  useTestDatabase();
  const deps = (clock: FakeClock) => ({ clock, stripe: createStripeGateway(testStripe()), logger: silentLogger });

  test('when two workers consume one inbox, then every event is processed exactly once and both take a share', async () => {
    const clock = new FakeClock(NOW);
    const ids = await receive(clock, 60);
    const consumers = ['host-a:1', 'host-b:2'].map((claimant) => startInboxConsumer(deps(clock), { concurrency: 3, batchSize: 3, idleMs: 5, claimant }));
    await until(async () => (await WebhookEventModel.countDocuments({ state: 'succeeded' })) === ids.length);
    await Promise.all(consumers.map((consumer) => consumer.stop()));

    const events = await WebhookEventModel.find({}).lean();
    expect(events.every((event) => event.state === 'succeeded' && event.attempts === 1)).toBe(true);
    const byWorker = new Set(events.map((event) => event.claimedBy?.split('#')[0]));
    expect(byWorker).toEqual(new Set(['host-a:1', 'host-b:2']));
  });

  test('when an event arrives while the consumer is idle, then it is taken on its next look', async () => {
    const clock = new FakeClock(NOW);
    const consumer = startInboxConsumer(deps(clock), { concurrency: 2, batchSize: 2, idleMs: 5, claimant: 'host-a:1' });
    try {
      const [id] = await receive(clock, 1);
      await until(async () => (await WebhookEventModel.findById(id).lean())?.state === 'succeeded');
    } finally {
      await consumer.stop();
    }
  });

  test('when the consumer stops, then it takes nothing more', async () => {
    const clock = new FakeClock(NOW);
    const consumer = startInboxConsumer(deps(clock), { concurrency: 2, batchSize: 2, idleMs: 5, claimant: 'host-a:1' });
    await consumer.stop();
    const [id] = await receive(clock, 1);
    // Another worker finds it waiting, unclaimed.
    expect(await claimEvents(clock, 10, 'host-b:2')).toMatchObject([{ _id: id, attempts: 1 }]);
  });
});

describe('the inbox consumer, observed', () => {
  useTestDatabase();

  test('when it processes an event, then one line names the event and its store with the outcome and duration, and the run is counted', async () => {
    const clock = new FakeClock(NOW);
    const { logger, lines } = capturedLogger('info');
    const metrics = createMetrics({ defaultMetrics: false });
    const event = buildEvent('invoice.upcoming', { id: 'in_named', object: 'invoice', metadata: { boxcycle_merchant_id: 'mer_observed1' } }, clock.now());
    await receiveEvent(clock, event as unknown as Stripe.Event);
    const consumer = startInboxConsumer(
      { clock, stripe: createStripeGateway(testStripe()), logger },
      { concurrency: 2, batchSize: 2, idleMs: 5, claimant: 'host-a:1', observe: inboxConsumerRecorder(metrics) },
    );
    try {
      await until(async () => (await WebhookEventModel.findById(event.id).lean())?.state === 'succeeded');
    } finally {
      await consumer.stop();
    }
    const processed = lines().filter((line) => line.msg === 'webhook event processed');
    expect(processed).toEqual([
      expect.objectContaining({
        eventId: event.id,
        merchantId: 'mer_observed1',
        type: 'invoice.upcoming',
        attempts: 1,
        outcome: 'succeeded',
        durationMs: expect.any(Number),
      }),
    ]);
    expect((await metrics.jobRuns.get()).values).toEqual([{ labels: { job: 'webhooks.process-event', outcome: 'succeeded' }, value: 1 }]);
  });

  test('when an event keeps failing, then it backs off and is retried, and after the last attempt stays failed for a person, every failure logged and counted', async () => {
    const clock = new FakeClock(NOW);
    const { logger, lines } = capturedLogger('info');
    const metrics = createMetrics({ defaultMetrics: false });
    // invoice.paid without the fields its handler needs: the handler throws every time.
    const event = buildEvent('invoice.paid', { id: 'in_broken', object: 'invoice' }, clock.now());
    await receiveEvent(clock, event as unknown as Stripe.Event);
    const consumer = startInboxConsumer(
      { clock, stripe: createStripeGateway(testStripe()), logger },
      { concurrency: 1, batchSize: 1, idleMs: 5, claimant: 'host-a:1', observe: inboxConsumerRecorder(metrics) },
    );
    try {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
        await until(async () => {
          const row = await WebhookEventModel.findById(event.id).lean();
          return row?.state === 'failed' && row.attempts === attempt;
        });
        const row = (await WebhookEventModel.findById(event.id).lean())!;
        // Not retried before its backoff: it is due later than now.
        expect(row.nextAttemptAt!.getTime()).toBeGreaterThan(clock.now().getTime());
        clock.advance(row.nextAttemptAt!.getTime() - clock.now().getTime());
      }
    } finally {
      await consumer.stop();
    }
    clock.advance(24 * 3_600_000);
    expect(await claimEvents(clock, 10, 'host-b:2')).toEqual([]);
    expect(await WebhookEventModel.findById(event.id).lean()).toMatchObject({
      state: 'failed',
      attempts: MAX_ATTEMPTS,
      lastError: expect.stringContaining('lacks fields'),
    });
    const failures = lines().filter((line) => line.msg === 'webhook event processed');
    expect(failures).toHaveLength(MAX_ATTEMPTS);
    expect(failures.every((line) => line.eventId === event.id && line.outcome === 'failed' && line.level === 40)).toBe(true);
    expect((await metrics.jobRuns.get()).values).toEqual([{ labels: { job: 'webhooks.process-event', outcome: 'failed' }, value: MAX_ATTEMPTS }]);
  });

  test('when claiming a batch fails, then the failure is logged and counted, and the consumer claims again', async () => {
    const clock = new FakeClock(NOW);
    const { logger, lines } = capturedLogger('info');
    const metrics = createMetrics({ defaultMetrics: false });
    const [id] = await receive(clock, 1);
    let broken = true;
    const flaky = {
      now: () => {
        if (broken) {
          broken = false;
          throw new Error('the database went away');
        }
        return clock.now();
      },
    };
    const consumer = startInboxConsumer(
      { clock: flaky, stripe: createStripeGateway(testStripe()), logger },
      { concurrency: 1, batchSize: 1, idleMs: 5, claimant: 'host-a:1', observe: inboxConsumerRecorder(metrics) },
    );
    try {
      await until(async () => (await WebhookEventModel.findById(id).lean())?.state === 'succeeded');
    } finally {
      await consumer.stop();
    }
    expect(lines().filter((line) => line.msg === 'could not claim webhook events; trying again')).toHaveLength(1);
    expect((await metrics.webhookConsumerErrors.get()).values).toEqual([{ labels: { stage: 'claim' }, value: 1 }]);
  });
});
