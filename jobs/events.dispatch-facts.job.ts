import { drainFacts } from '../src/events/dispatcher.service';
import { listeners } from '../src/listeners';
import type { JobDefinition } from './job-definition';

/**
 * Every 5 seconds: copy facts still waiting in a document's outbox into `events` (a crash between a change
 * and its relay), then run the listeners of every due fact, until none is left. Several workers share the
 * work (each fact is claimed by one).
 */
export const dispatchFactsJob: JobDefinition = {
  name: 'events.dispatch-facts',
  interval: '5 seconds',
  options: { concurrency: 1, lockLifetime: 300_000 },
  handler: (deps) => async () => {
    const count = await drainFacts({ clock: deps.clock, stripe: deps.stripe, logger: deps.logger, ...(deps.links ? { links: deps.links } : {}) }, listeners, {
      maxRounds: 20,
    });
    if (count > 0) deps.logger.debug({ count }, 'facts followed');
  },
};
