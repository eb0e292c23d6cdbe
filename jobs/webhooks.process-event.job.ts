import { z } from 'zod';
import { processWebhookEvent } from '../src/webhooks/process-event.service';
import type { JobDefinition } from './job-definition';

const Data = z.strictObject({ eventId: z.string().min(1).max(255) });

/** Queued by the webhook endpoint for each new event: runs its handler (see process-event.service). */
export const processWebhookEventJob: JobDefinition<unknown> = {
  name: 'webhooks.process-event',
  options: { concurrency: 10, lockLifetime: 120_000 },
  handler: (deps) => async (job) => {
    const { eventId } = Data.parse(job.attrs.data);
    await processWebhookEvent({ clock: deps.clock, stripe: deps.stripe, logger: deps.logger }, eventId);
  },
};
