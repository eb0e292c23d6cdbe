import { maintainLoyaltyAccounts } from '../src/loyalty/loyalty.service';
import type { JobDefinition } from './job-definition';

/**
 * Every 6 hours: each shopper's tier is re-evaluated over the last 12 months (promotion and demotion,
 * recorded with the reason), and points past their expiry are expired, with notice before.
 */
export const maintainLoyaltyAccountsJob: JobDefinition = {
  name: 'loyalty.maintain-accounts',
  interval: '6 hours',
  options: { concurrency: 1, lockLifetime: 1_800_000 },
  handler: (deps) => async () => {
    const totals = await maintainLoyaltyAccounts({ clock: deps.clock, logger: deps.logger });
    if (totals.changed + totals.expired > 0) deps.logger.info(totals, 'loyalty accounts maintained');
  },
};
