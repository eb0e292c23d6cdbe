import { refreshDueForecasts } from '../src/orders/fulfilment-forecast.service';
import type { JobDefinition } from './job-definition';

/**
 * Every 30 seconds: recompute the stored fulfilment forecasts whose refresh is due (a fact marked them stale a
 * minute ago, the merchant asked, or a new day began in the store's time zone). Each refresh is leased and
 * guarded, so two workers never write an older result over a newer one.
 */
export const refreshForecastsJob: JobDefinition = {
  name: 'orders.refresh-forecasts',
  interval: '30 seconds',
  options: { concurrency: 1, lockLifetime: 600_000 },
  handler: (deps) => async () => {
    const count = await refreshDueForecasts({ clock: deps.clock, logger: deps.logger });
    if (count > 0) deps.logger.info({ count }, 'fulfilment forecasts refreshed');
  },
};
