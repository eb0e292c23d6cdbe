import { grantYearlyRewards } from '../src/offers/offer.service';
import type { JobDefinition } from './job-definition';

/** Every 6 hours: birthday and subscription-anniversary rewards whose day has come, once per year each. */
export const grantYearlyRewardsJob: JobDefinition = {
  name: 'offers.grant-yearly-rewards',
  interval: '6 hours',
  options: { concurrency: 1, lockLifetime: 1_800_000 },
  handler: (deps) => async () => {
    const granted = await grantYearlyRewards({ clock: deps.clock, logger: deps.logger });
    if (granted > 0) deps.logger.info({ granted }, 'yearly rewards granted');
  },
};
