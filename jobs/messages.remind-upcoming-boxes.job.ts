import { remindUpcomingBoxes } from '../src/messages/timed-messages.service';
import type { JobDefinition } from './job-definition';

/** Every hour: each subscription's next box, from the merchant's number of days before it locks (its contents, amount, charge date; links to skip, swap, add an extra), once per box. */
export const remindUpcomingBoxesJob: JobDefinition = {
  name: 'messages.remind-upcoming-boxes',
  interval: '1 hour',
  options: { concurrency: 1, lockLifetime: 1_800_000 },
  handler: (deps) => async () => {
    const sent = await remindUpcomingBoxes({ clock: deps.clock, logger: deps.logger, links: deps.links });
    if (sent > 0) deps.logger.info({ sent }, 'upcoming-box reminders sent');
  },
};
