import { requestBoxRatings } from '../src/messages/timed-messages.service';
import type { JobDefinition } from './job-definition';

/** Every hour: boxes delivered the merchant's number of days ago get a request to rate them, once per box. */
export const requestBoxRatingsJob: JobDefinition = {
  name: 'messages.request-box-ratings',
  interval: '1 hour',
  options: { concurrency: 1, lockLifetime: 1_800_000 },
  handler: (deps) => async () => {
    const sent = await requestBoxRatings({ clock: deps.clock, logger: deps.logger, links: deps.links });
    if (sent > 0) deps.logger.info({ sent }, 'rating requests sent');
  },
};
