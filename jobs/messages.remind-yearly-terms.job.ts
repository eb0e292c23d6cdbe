import { remindYearlyTerms } from '../src/messages/timed-messages.service';
import type { JobDefinition } from './job-definition';

/** Every 6 hours: on each anniversary of a subscription's start, its terms and how to cancel (automatic-renewal laws), once a year. */
export const remindYearlyTermsJob: JobDefinition = {
  name: 'messages.remind-yearly-terms',
  interval: '6 hours',
  options: { concurrency: 1, lockLifetime: 1_800_000 },
  handler: (deps) => async () => {
    const sent = await remindYearlyTerms({ clock: deps.clock, logger: deps.logger, links: deps.links });
    if (sent > 0) deps.logger.info({ sent }, 'yearly terms reminders sent');
  },
};
