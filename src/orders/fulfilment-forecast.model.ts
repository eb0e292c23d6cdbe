import { model, Schema } from 'mongoose';
import type { ComingDay, Need } from './coming-days.service';

/**
 * A store's forecast of its coming days (one document per merchant), so the fulfilment page reads one
 * document whatever the store's size. Written only by src/orders/fulfilment-forecast.service.ts: computed by
 * the `orders.refresh-forecasts` job, marked stale by the facts that change the coming boxes.
 *
 * - `days`, `needs`, `fromOn`/`toOn` (the window, in the merchant's time zone) and `computedAt` (the run's
 *   start: the figures are as of then) are null until the first run.
 * - `staleSince`: the first fact since the last run that may change the figures; absent (read as null) when
 *   fresh, so a mark is one `$min`. `staleMarkedAt`: the last such mark (`$max`), which decides whether a run
 *   that began before it may call the forecast fresh.
 * - `refreshDueAt`: when a refresh should run (the first mark plus a short delay, so many facts make one
 *   refresh; now, when asked from the page); absent when none is wanted. A run holds it as a lease while it
 *   computes (moved later), and removes it only if nothing asked again meanwhile.
 */
export interface FulfilmentForecast {
  _id: string;
  merchantId: string;
  fromOn: string | null;
  toOn: string | null;
  days: ComingDay[] | null;
  /** Each SKU's units in the coming boxes; its stock is read when the page is shown (stock moves record no fact). */
  needs: Need[] | null;
  computedAt: Date | null;
  staleSince?: Date | null;
  staleMarkedAt?: Date;
  refreshDueAt?: Date;
}

const FulfilmentForecastSchema = new Schema<FulfilmentForecast>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    fromOn: { type: String, default: null },
    toOn: { type: String, default: null },
    days: { type: Schema.Types.Mixed, default: null },
    needs: { type: Schema.Types.Mixed, default: null },
    computedAt: { type: Date, default: null },
    staleSince: { type: Date },
    staleMarkedAt: { type: Date },
    refreshDueAt: { type: Date },
  },
  { collection: 'fulfilment_forecasts', versionKey: false, minimize: false },
);
FulfilmentForecastSchema.index({ merchantId: 1 }, { unique: true });
// The refresh job's sweep: the forecasts whose refresh is due, the longest waiting first.
FulfilmentForecastSchema.index({ refreshDueAt: 1 });

export const FulfilmentForecastModel = model<FulfilmentForecast>('FulfilmentForecast', FulfilmentForecastSchema);
