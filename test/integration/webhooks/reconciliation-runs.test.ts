import type Stripe from 'stripe';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway, type StripeGateway } from '../../../src/stripe/stripe-gateway';
import { ReconciliationRunModel } from '../../../src/webhooks/reconciliation-run.model';
import { reconcileStripeEvents, recentReconciliationRuns } from '../../../src/webhooks/reconciliation.service';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/** A Stripe whose event list answers nothing, or fails after the clock moved (as a slow outage would). */
function eventSource(clock: FakeClock, failWith?: string): StripeGateway {
  return {
    ...createStripeGateway(testStripe()),
    listEvents: async function* () {
      clock.advance(90_000);
      if (failWith) throw new Error(failWith);
      yield* [] as Stripe.Event[];
    },
  };
}

describe('reconciliation runs: each run of webhooks.reconcile-events is recorded', () => {
  useTestDatabase();
  // The runs are the installation's, one list per database: each test starts with none.
  beforeEach(async () => {
    await ReconciliationRunModel.deleteMany({});
  });

  test('when reconciliation runs twice, then two runs are recorded, each once, with when it started and finished and what it listed and recovered', async () => {
    const clock = new FakeClock('2026-03-02T12:00:00Z');
    const deps = { clock, stripe: eventSource(clock), logger: silentLogger };

    await reconcileStripeEvents(deps);
    clock.set('2026-03-02T12:15:00Z');
    await reconcileStripeEvents(deps);

    const runs = await recentReconciliationRuns(10);
    expect(runs).toHaveLength(2);
    expect(runs.map((run) => ({ ...run, _id: undefined }))).toEqual([
      {
        _id: undefined,
        status: 'succeeded',
        startedAt: new Date('2026-03-02T12:15:00Z'),
        finishedAt: new Date('2026-03-02T12:16:30Z'),
        listed: 0,
        recovered: 0,
      },
      {
        _id: undefined,
        status: 'succeeded',
        startedAt: new Date('2026-03-02T12:00:00Z'),
        finishedAt: new Date('2026-03-02T12:01:30Z'),
        listed: 0,
        recovered: 0,
      },
    ]);
  });

  test('when listing Stripe events fails, then the run is recorded as failed with its error, and the error still reaches the job', async () => {
    const clock = new FakeClock('2026-03-02T12:00:00Z');
    const deps = { clock, stripe: eventSource(clock, 'connect ECONNREFUSED 127.0.0.1:12111'), logger: silentLogger };

    await expect(reconcileStripeEvents(deps)).rejects.toThrow('ECONNREFUSED');

    const runs = await ReconciliationRunModel.find({}).lean();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: 'failed',
      startedAt: new Date('2026-03-02T12:00:00Z'),
      finishedAt: new Date('2026-03-02T12:01:30Z'),
      error: 'connect ECONNREFUSED 127.0.0.1:12111',
    });
    expect(runs[0]!.listed).toBeUndefined();
  });

  test('when there are more runs than asked for, then the newest are listed first', async () => {
    const clock = new FakeClock('2026-03-02T12:00:00Z');
    const deps = { clock, stripe: eventSource(clock), logger: silentLogger };
    for (let i = 0; i < 3; i += 1) {
      clock.set(`2026-03-02T1${i}:00:00Z`);
      await reconcileStripeEvents(deps);
    }

    const runs = await recentReconciliationRuns(2);

    expect(runs.map((run) => run.startedAt.toISOString())).toEqual(['2026-03-02T12:00:00.000Z', '2026-03-02T11:00:00.000Z']);
  });
});
