import type { Job } from 'agenda';
import type { JobDefinition, JobDeps } from '../../../jobs/job-definition';
import { instrumentedHandler } from '../../../jobs/registry';
import { createMetrics } from '../../../src/ops/metrics';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { capturedLogger } from '../../helpers/captured-log';
import { testStripe } from '../../helpers/test-env';

/** A job as Agenda hands it to a handler: only what the registry reads. */
function jobOf(name: string, data: Record<string, unknown>): Job<unknown> {
  return { attrs: { _id: 'job_6751a2b3c4d5', name, data } } as unknown as Job<unknown>;
}

/** A clock for durations that moves only when told (nanoseconds, as process.hrtime.bigint). */
function stepper(stepsMs: number[]): () => bigint {
  let at = 0n;
  return () => {
    const now = at;
    at += BigInt((stepsMs.shift() ?? 0) * 1_000_000);
    return now;
  };
}

describe('a job run', () => {
  const setup = () => {
    const { logger, lines } = capturedLogger();
    const metrics = createMetrics({ defaultMetrics: false });
    const deps: JobDeps = { clock: new FakeClock(), logger, stripe: createStripeGateway(testStripe()), workerName: 'test:1', metrics };
    return { deps, metrics, lines };
  };

  test('when the handler fails, then the run is counted and timed as failed, one line says so with its duration, and the error goes on to Agenda', async () => {
    const { deps, metrics, lines } = setup();
    const failing: JobDefinition = {
      name: 'webhooks.process-event',
      options: { concurrency: 1, lockLifetime: 1_000 },
      handler: (jobDeps) => async () => {
        jobDeps.logger.info('looking at the event');
        await Promise.resolve();
        throw new Error('Stripe is down');
      },
    };

    const run = instrumentedHandler(failing, deps, stepper([1_500]));
    await expect(run(jobOf(failing.name, { eventId: 'evt_1Ops', merchantId: 'mer_ops1' }))).rejects.toThrow('Stripe is down');

    const runs = await metrics.jobRuns.get();
    expect(runs.values).toEqual([{ labels: { job: 'webhooks.process-event', outcome: 'failed' }, value: 1 }]);
    const durations = await metrics.jobDuration.get();
    const sum = durations.values.find((value) => value.metricName === 'boxcycle_job_duration_seconds_sum');
    expect(sum).toMatchObject({ labels: { job: 'webhooks.process-event', outcome: 'failed' }, value: 1.5 });

    const ids = { job: 'webhooks.process-event', jobId: 'job_6751a2b3c4d5', eventId: 'evt_1Ops', merchantId: 'mer_ops1' };
    expect(lines().find((line) => line.msg === 'looking at the event')).toMatchObject(ids);
    const summaries = lines().filter((line) => line.msg === 'job run');
    expect(summaries).toEqual([expect.objectContaining({ ...ids, outcome: 'failed', durationMs: 1500, level: 40 })]);
  });

  test('when the handler succeeds, then the run is counted as succeeded and its line carries the job and its id only', async () => {
    const { deps, metrics, lines } = setup();
    const quiet: JobDefinition = {
      name: 'health.record-heartbeat',
      options: { concurrency: 1, lockLifetime: 1_000 },
      handler: () => () => Promise.resolve(),
    };

    await instrumentedHandler(quiet, deps, stepper([20]))(jobOf(quiet.name, {}));

    expect((await metrics.jobRuns.get()).values).toEqual([{ labels: { job: 'health.record-heartbeat', outcome: 'succeeded' }, value: 1 }]);
    const [summary] = lines().filter((line) => line.msg === 'job run');
    expect(summary).toMatchObject({ job: 'health.record-heartbeat', jobId: 'job_6751a2b3c4d5', outcome: 'succeeded', durationMs: 20, level: 30 });
    expect(summary).not.toHaveProperty('eventId');
    expect(summary).not.toHaveProperty('merchantId');
  });
});
