import { recordHeartbeatJob } from '../../../jobs/health.record-heartbeat.job';
import { AGENDA_HEARTBEAT_ID, createReadinessCheck, recordWorkerHeartbeat } from '../../../src/health/health.service';
import { WorkerHeartbeatModel } from '../../../src/health/worker-heartbeat.model';
import { createStripeClient, STRIPE_MOCK_KEY } from '../../../src/stripe/stripe-client';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { FakeClock } from '../../../src/shared/time';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

describe('readiness', () => {
  const db = useTestDatabase();
  beforeEach(async () => {
    await WorkerHeartbeatModel.deleteMany({}).exec();
  });

  test('when no worker has run the heartbeat job, then the worker check fails and says so', async () => {
    const clock = new FakeClock('2026-05-01T12:00:00Z');
    const check = createReadinessCheck({ clock, connection: db.connection(), stripe: testStripe(), workerStaleSeconds: 60 });
    const readiness = await check();
    expect(readiness.status).toBe('failing');
    expect(readiness.checks.database.status).toBe('ok');
    expect(readiness.checks.stripe.status).toBe('ok');
    expect(readiness.checks.worker).toEqual({ status: 'failing', detail: 'no worker has reported yet' });
  });

  test('when the heartbeat job runs, then readiness is ok until the beat is older than the stale limit', async () => {
    const clock = new FakeClock('2026-05-01T12:00:00Z');
    await recordHeartbeatJob.handler({ clock, logger: silentLogger, workerName: 'host:1', stripe: createStripeGateway(testStripe()) })({} as never);
    const check = createReadinessCheck({ clock, connection: db.connection(), stripe: testStripe(), workerStaleSeconds: 60 });

    clock.advance(60_000);
    expect((await check()).checks.worker).toMatchObject({ status: 'ok', ageSeconds: 60, workerName: 'host:1' });
    clock.advance(1_000);
    const stale = await check();
    expect(stale.status).toBe('failing');
    expect(stale.checks.worker).toMatchObject({ status: 'failing', ageSeconds: 61 });
  });

  test('when a late heartbeat arrives after a newer one, then the stored beat does not go back', async () => {
    await recordWorkerHeartbeat(new FakeClock('2026-05-01T12:00:10Z'), 'new');
    await recordWorkerHeartbeat(new FakeClock('2026-05-01T12:00:00Z'), 'old');
    await recordWorkerHeartbeat(new FakeClock('2026-05-01T12:00:10Z'), 'same-time');
    const beat = await WorkerHeartbeatModel.findById(AGENDA_HEARTBEAT_ID).lean();
    expect(beat).toEqual({ _id: AGENDA_HEARTBEAT_ID, beatAt: new Date('2026-05-01T12:00:10Z'), workerName: 'new' });
    expect(await WorkerHeartbeatModel.countDocuments()).toBe(1);
  });

  test('when Stripe cannot be reached, then the stripe check fails, and the result is reused within its TTL', async () => {
    const clock = new FakeClock('2026-05-01T12:00:00Z');
    await recordWorkerHeartbeat(clock, 'host:1');
    const unreachable = createStripeClient({ secretKey: STRIPE_MOCK_KEY, host: '127.0.0.1', port: 1, protocol: 'http' });
    const balance = jest.spyOn(unreachable.balance, 'retrieve');
    const check = createReadinessCheck({ clock, connection: db.connection(), stripe: unreachable, workerStaleSeconds: 60, stripeCheckTtlMs: 30_000 });
    const first = await check();
    expect(first.status).toBe('failing');
    expect(first.checks.stripe.status).toBe('failing');
    expect(first.checks.database.status).toBe('ok');
    clock.advance(10_000);
    await check();
    expect(balance).toHaveBeenCalledTimes(1);
    clock.advance(30_000);
    await check();
    expect(balance).toHaveBeenCalledTimes(2);
  });
});
