import { warnExpiringCards } from '../src/messages/timed-messages.service';
import type { JobDefinition } from './job-definition';

/** Daily: shoppers with a live subscription whose card expires this month are asked for a new one, once per card and month. */
export const warnExpiringCardsJob: JobDefinition = {
  name: 'messages.warn-expiring-cards',
  interval: '1 day',
  options: { concurrency: 1, lockLifetime: 1_800_000 },
  handler: (deps) => async () => {
    const sent = await warnExpiringCards({ clock: deps.clock, logger: deps.logger, links: deps.links });
    if (sent > 0) deps.logger.info({ sent }, 'card-expiry notices sent');
  },
};
