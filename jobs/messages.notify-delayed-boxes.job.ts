import { notifyDelayedBoxes } from '../src/messages/timed-messages.service';
import type { JobDefinition } from './job-definition';

/** Every 6 hours: paid boxes not shipped the merchant's tolerance in days after their ship date get an apology with the new date, once per box. */
export const notifyDelayedBoxesJob: JobDefinition = {
  name: 'messages.notify-delayed-boxes',
  interval: '6 hours',
  options: { concurrency: 1, lockLifetime: 1_800_000 },
  handler: (deps) => async () => {
    const sent = await notifyDelayedBoxes({ clock: deps.clock, logger: deps.logger, links: deps.links });
    if (sent > 0) deps.logger.info({ sent }, 'delay notices sent');
  },
};
