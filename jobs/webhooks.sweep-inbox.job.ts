import { processDueWebhookEvents } from '../src/webhooks/process-event.service';
import type { JobDefinition } from './job-definition';

/** Every minute: retry failed events whose backoff passed, and pick up lost or stuck ones. */
export const sweepWebhookInboxJob: JobDefinition = {
  name: 'webhooks.sweep-inbox',
  interval: '1 minute',
  options: { concurrency: 1, lockLifetime: 300_000 },
  handler: (deps) => async () => {
    const count = await processDueWebhookEvents({ clock: deps.clock, stripe: deps.stripe, logger: deps.logger });
    if (count > 0) deps.logger.info({ count }, 'webhook events retried');
  },
};
