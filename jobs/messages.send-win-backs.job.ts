import { sendWinBacks } from '../src/messages/timed-messages.service';
import type { JobDefinition } from './job-definition';

/** Every 6 hours: the merchant's number of days after a subscription ended, its shopper gets the comeback offer (with consent), once. */
export const sendWinBacksJob: JobDefinition = {
  name: 'messages.send-win-backs',
  interval: '6 hours',
  options: { concurrency: 1, lockLifetime: 1_800_000 },
  handler: (deps) => async () => {
    const sent = await sendWinBacks({ clock: deps.clock, logger: deps.logger, links: deps.links });
    if (sent > 0) deps.logger.info({ sent }, 'win-back messages sent');
  },
};
