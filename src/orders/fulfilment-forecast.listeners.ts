import type { Listener } from '../events/dispatcher.service';
import { markForecastStale } from './fulfilment-forecast.service';

/** A fact changed the store's coming boxes: its stored forecast is stale, and a refresh is due shortly (one for many facts). */
export const markFulfilmentForecastStale: Listener = {
  name: 'orders.mark-fulfilment-forecast-stale',
  run: (deps, fact) => markForecastStale(deps.clock, fact.merchantId),
};
