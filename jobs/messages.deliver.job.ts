import { deliverDueMessages } from '../src/messages/message-delivery.service';
import type { JobDefinition } from './job-definition';

/**
 * Every 10 seconds: send every message that is due (its time came, or its retry's), a batch at a time. Several
 * workers share the work (each message is claimed by one); a sent message is never sent again.
 */
export const deliverMessagesJob: JobDefinition = {
  name: 'messages.deliver',
  interval: '10 seconds',
  options: { concurrency: 1, lockLifetime: 300_000 },
  handler: (deps) => async () => {
    if (!deps.mail) {
      deps.logger.warn('messages.deliver: this worker was started without a mail transport; messages wait for one that has it');
      return;
    }
    const counts = await deliverDueMessages({ clock: deps.clock, logger: deps.logger, ...deps.mail });
    for (const outcome of ['sent', 'deferred', 'failed', 'suppressed'] as const) {
      if (counts[outcome] > 0) deps.metrics?.messageDeliveries.inc({ outcome }, counts[outcome]);
    }
    if (counts.sent + counts.deferred + counts.failed + counts.suppressed > 0) deps.logger.info(counts, 'messages delivered');
  },
};
