import { syncDueSubscriptions } from '../src/subscriptions/subscription.service';
import type { JobDefinition } from './job-definition';

/**
 * Every minute: bring Stripe in line with subscriptions whose push is due (a change that could not be
 * pushed, or a charge that makes the following cycle's skip or pause the one Stripe must know), and end
 * pauses whose last box has passed.
 */
export const syncSubscriptionsToStripeJob: JobDefinition = {
  name: 'subscriptions.sync-to-stripe',
  interval: '1 minute',
  options: { concurrency: 1, lockLifetime: 300_000 },
  handler: (deps) => async () => {
    const count = await syncDueSubscriptions({ clock: deps.clock, stripe: deps.stripe, logger: deps.logger });
    if (count > 0) deps.logger.info({ count }, 'subscriptions synced to Stripe');
  },
};
