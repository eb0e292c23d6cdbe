import { prepareDueBoxes } from '../src/renewals/renewal.service';
import type { JobDefinition } from './job-definition';

/**
 * Every 5 minutes: build and reserve the boxes whose cut-off has come, give back the stock of boxes that
 * will not be sent, and settle orders whose stock does not follow their status yet.
 */
export const prepareBoxesJob: JobDefinition = {
  name: 'renewals.prepare-boxes',
  interval: '5 minutes',
  options: { concurrency: 1, lockLifetime: 600_000 },
  handler: (deps) => async () => {
    const count = await prepareDueBoxes({ clock: deps.clock, stripe: deps.stripe, logger: deps.logger, extras: deps.boxExtras });
    if (count > 0) deps.logger.info({ count }, 'renewals checked');
  },
};
