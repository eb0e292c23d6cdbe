import { attachSurpriseGifts } from '../src/gifts/gift.service';
import type { JobDefinition } from './job-definition';

/**
 * Every 15 minutes: each active gift campaign gives its gift to the boxes it picks before their cut-off,
 * within its budgets, and gifts whose box moved on (cancelled, out of stock, delivered) are settled. Safe on
 * several workers at once: the budgets are guarded single-document updates.
 */
export const attachSurpriseGiftsJob: JobDefinition = {
  name: 'gifts.attach-surprise-gifts',
  interval: '15 minutes',
  options: { concurrency: 1, lockLifetime: 600_000 },
  handler: (deps) => async () => {
    const result = await attachSurpriseGifts({ clock: deps.clock, logger: deps.logger });
    if (result.granted > 0 || result.returned > 0) deps.logger.info(result, 'surprise gifts attached');
  },
};
