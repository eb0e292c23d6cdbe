import { sweepExpiredRequestRecords } from '../src/shared/http/sweep.service';
import type { JobDefinition } from './job-definition';

/** Hourly: forget ended rate-limit windows and idempotency records past retention. */
export const sweepRequestRecordsJob: JobDefinition = {
  name: 'ops.sweep-request-records',
  interval: '1 hour',
  options: { concurrency: 1, lockLifetime: 120_000 },
  handler: (deps) => async () => {
    const swept = await sweepExpiredRequestRecords(deps.clock);
    deps.logger.debug(swept, 'request records swept');
  },
};
