import { recordWorkerHeartbeat } from '../src/health/health.service';
import type { JobDefinition } from './job-definition';

/** Runs every WORKER_HEARTBEAT_SECONDS on one of the workers; `/readyz` reads what it writes. */
export const recordHeartbeatJob: JobDefinition = {
  name: 'health.record-heartbeat',
  options: { concurrency: 1, lockLifetime: 30_000 },
  handler: (deps) => async () => {
    await recordWorkerHeartbeat(deps.clock, deps.workerName);
  },
};
