import { reconcileSubscriptionsWithStripe } from '../src/subscriptions/subscription-reconcile.service';
import type { JobDefinition } from './job-definition';

/** Every 6 hours: compare every live subscription with Stripe's state, a batch at a time (reads are throttled). */
export const reconcileSubscriptionsJob: JobDefinition = {
  name: 'subscriptions.reconcile-with-stripe',
  interval: '6 hours',
  options: { concurrency: 1, lockLifetime: 3_600_000 },
  handler: (deps) => async () => {
    const serviceDeps = { clock: deps.clock, stripe: deps.stripe, logger: deps.logger };
    let afterId: string | undefined;
    let compared = 0;
    let changed = 0;
    for (;;) {
      const result = await reconcileSubscriptionsWithStripe(serviceDeps, afterId ? { afterId } : {});
      compared += result.compared;
      changed += result.changed;
      if (!result.lastId) break;
      afterId = result.lastId;
    }
    deps.logger.info({ compared, changed }, 'subscriptions reconciled with Stripe');
  },
};
