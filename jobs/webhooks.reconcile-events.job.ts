import { reconcileStripeEvents } from '../src/webhooks/reconciliation.service';
import type { JobDefinition } from './job-definition';

/** Every 15 minutes: feed Stripe events the endpoint never received (lost deliveries) into the inbox. */
export const reconcileEventsJob: JobDefinition = {
  name: 'webhooks.reconcile-events',
  interval: '15 minutes',
  options: { concurrency: 1, lockLifetime: 600_000 },
  handler: (deps) => async () => {
    await reconcileStripeEvents({ clock: deps.clock, stripe: deps.stripe, logger: deps.logger });
  },
};
