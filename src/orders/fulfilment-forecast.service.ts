import type { FactType } from '../events/fact-types';
import { merchantProfile } from '../merchants/merchant.queries';
import { isDuplicateKeyError } from '../shared/db';
import { derivedId } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { localDateOf } from '../shared/calendar';
import type { Clock } from '../shared/time';
import { againstStock, comingNeeds, type ComingDays } from './coming-days.service';
import { FulfilmentForecastModel } from './fulfilment-forecast.model';

/**
 * The stored forecast of a store's coming days (coming-days.service.ts computes it): the fulfilment page reads
 * one document and the stock of the SKUs in it, whatever the store's size. Facts that change the coming boxes
 * mark it stale and ask for a refresh a short delay later (many facts, one refresh); the
 * `orders.refresh-forecasts` job runs the refreshes that are due. The only writer of `fulfilment_forecasts`.
 */

/** Facts that change which boxes come in the next days or what is in them. Stock moves record no fact: the page reads stock when shown. */
export const FORECAST_FACTS: readonly FactType[] = [
  'subscription.created',
  'subscription.activated',
  'subscription.skipped',
  'subscription.unskipped',
  'subscription.paused',
  'subscription.resumed',
  'subscription.swapped',
  'subscription.swap_applied',
  'subscription.cadence_changed',
  'subscription.charge_date_changed',
  'subscription.addon_added',
  'subscription.addon_removed',
  'subscription.cancellation_scheduled',
  'subscription.cancelled',
  'subscription.reactivated',
  'subscription.payment_failed',
  'subscription.recovered',
  'subscription.dunning_ended',
  'subscription.box_skipped',
  'subscription.status_synced',
  'box.reserved',
  'box.adjusted',
  'box.back_ordered',
  'box.paid',
  'box.held',
  'box.packed',
  'box.shipped',
  'box.cancelled',
  'box.refunded',
  'box.charged_after_cancel',
  'gift.granted',
  'gift.returned',
  'make_good.given',
  'reward.granted',
];

/** How long after the first fact a refresh runs: the facts of a burst (a renewal run, a bulk ship) make one refresh. */
export const FORECAST_REFRESH_DELAY_MS = 60_000;
/** How long a run holds a refresh before another worker may take it over (a run that died). */
export const FORECAST_REFRESH_LEASE_MS = 10 * 60_000;
/** Refreshes one sweep of the job runs at most (the rest wait for the next sweep). */
export const FORECAST_SWEEP_LIMIT = 50;

const forecastId = (merchantId: string) => derivedId('fcst', merchantId);

/** An upsert of the merchant's forecast document; two first writes racing on the unique index: the loser retries once. */
async function upsertForecast(merchantId: string, update: Record<string, unknown>): Promise<void> {
  const write = () =>
    FulfilmentForecastModel.updateOne(
      { merchantId },
      { ...update, $setOnInsert: { _id: forecastId(merchantId), fromOn: null, toOn: null, days: null, needs: null, computedAt: null } },
      { upsert: true, setDefaultsOnInsert: false },
    );
  try {
    await write();
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    await write();
  }
}

/**
 * A fact changed the coming boxes: the forecast is stale from now (unless it already was) and a refresh is
 * due after the delay (unless one is due sooner). One atomic update, idempotent: a repeat changes nothing
 * that matters, so the listener may run twice.
 */
export async function markForecastStale(clock: Clock, merchantId: string, delayMs = FORECAST_REFRESH_DELAY_MS): Promise<void> {
  const now = clock.now();
  await upsertForecast(merchantId, {
    $min: { staleSince: now, refreshDueAt: new Date(now.getTime() + delayMs) },
    $max: { staleMarkedAt: now },
  });
}

/** Someone wants the forecast now (the page's button, a new day, none yet): a refresh is due now. Idempotent. */
export async function requestForecastRefresh(clock: Clock, merchantId: string): Promise<void> {
  await upsertForecast(merchantId, { $min: { refreshDueAt: clock.now() } });
}

/**
 * Writes a computed forecast, unless a run that began later (or at the same time) already wrote one: an older,
 * slower run never overwrites a newer result. True when written.
 */
export async function storeComputedForecast(merchantId: string, computed: Awaited<ReturnType<typeof comingNeeds>>, startedAt: Date): Promise<boolean> {
  const result = await FulfilmentForecastModel.updateOne(
    { merchantId, $or: [{ computedAt: null }, { computedAt: { $lt: startedAt } }] },
    { $set: { fromOn: computed.fromOn, toOn: computed.toOn, days: computed.days, needs: computed.needs, computedAt: startedAt } },
  );
  return result.modifiedCount === 1;
}

/**
 * A run gives its lease back: no refresh is due any more if the forecast is fresh; still stale (a fact marked
 * it at the run's very start, or a newer run wrote first), a refresh is due after the delay. A mark or a
 * request during the run already moved `refreshDueAt` off the lease: nothing to do then.
 */
async function releaseLease(merchantId: string, lease: Date, startedAt: Date): Promise<void> {
  const fresh = await FulfilmentForecastModel.updateOne({ merchantId, refreshDueAt: lease, staleSince: { $exists: false } }, { $unset: { refreshDueAt: 1 } });
  if (fresh.matchedCount === 0) {
    await FulfilmentForecastModel.updateOne(
      { merchantId, refreshDueAt: lease },
      { $set: { refreshDueAt: new Date(startedAt.getTime() + FORECAST_REFRESH_DELAY_MS) } },
    );
  }
}

export type RefreshOutcome = 'refreshed' | 'not_due' | 'superseded' | 'no_store';

/**
 * Recomputes one store's forecast if its refresh is due and no other run holds it. The run takes the refresh
 * as a lease (moves `refreshDueAt` later), computes as of its start, writes guarded by `computedAt`, calls the
 * forecast fresh only if no fact marked it stale after the run began, and gives the lease back only if nobody
 * asked again meanwhile (a mark or a request during the run moves `refreshDueAt` sooner: it runs again).
 * Idempotent, and safe with several workers.
 */
export async function refreshForecast(deps: { clock: Clock }, merchantId: string): Promise<RefreshOutcome> {
  const startedAt = deps.clock.now();
  const lease = new Date(startedAt.getTime() + FORECAST_REFRESH_LEASE_MS);
  const claimed = await FulfilmentForecastModel.findOneAndUpdate(
    { merchantId, refreshDueAt: { $lte: startedAt } },
    { $set: { refreshDueAt: lease } },
    { projection: { _id: 1 } },
  ).lean();
  if (!claimed) return 'not_due';
  const profile = await merchantProfile(merchantId);
  if (!profile) {
    await FulfilmentForecastModel.updateOne({ merchantId, refreshDueAt: lease }, { $unset: { refreshDueAt: 1 } });
    return 'no_store';
  }
  const computed = await comingNeeds(merchantId, profile.timezone, startedAt);
  const written = await storeComputedForecast(merchantId, computed, startedAt);
  if (written) {
    await FulfilmentForecastModel.updateOne({ merchantId, staleMarkedAt: { $lt: startedAt } }, { $unset: { staleSince: 1, staleMarkedAt: 1 } });
  }
  await releaseLease(merchantId, lease, startedAt);
  return written ? 'refreshed' : 'superseded';
}

/** The job's sweep: every forecast whose refresh is due, the longest waiting first, up to a limit. Returns how many were refreshed. */
export async function refreshDueForecasts(deps: { clock: Clock; logger: Logger }, limit = FORECAST_SWEEP_LIMIT): Promise<number> {
  const due = await FulfilmentForecastModel.find({ refreshDueAt: { $lte: deps.clock.now() } }, { merchantId: 1 })
    .sort({ refreshDueAt: 1 })
    .limit(limit)
    .lean();
  let refreshed = 0;
  for (const { merchantId } of due) {
    try {
      if ((await refreshForecast(deps, merchantId)) === 'refreshed') refreshed += 1;
    } catch (error) {
      // One store's failure does not hold up the others; its lease lapses and a later sweep tries again.
      deps.logger.warn({ err: error, merchantId }, 'the fulfilment forecast could not be refreshed');
    }
  }
  return refreshed;
}

/** What the fulfilment page shows: none yet, or the stored forecast with its stock read now. */
export type StoredForecast =
  | { state: 'none' }
  | {
      state: 'stored';
      coming: ComingDays;
      computedAt: Date;
      /** The first change not counted yet, or null when none is known. */
      staleSince: Date | null;
      /** Its window began before today in the merchant's time zone: a new one is being computed. */
      outOfDate: boolean;
    };

/**
 * The merchant's forecast for the page: one document, and the stock of its SKUs now. When there is none yet,
 * or its window no longer starts today (the merchant's midnight passed), a refresh is asked for (idempotent).
 */
export async function forecastForPage(clock: Clock, merchantId: string, timezone: string): Promise<StoredForecast> {
  const stored = await FulfilmentForecastModel.findOne({ merchantId }).lean();
  if (!stored?.computedAt || !stored.days || !stored.needs || !stored.fromOn || !stored.toOn) {
    if (!stored?.refreshDueAt) await requestForecastRefresh(clock, merchantId);
    return { state: 'none' };
  }
  const outOfDate = stored.fromOn !== localDateOf(clock.now(), timezone);
  if (outOfDate) await requestForecastRefresh(clock, merchantId);
  return {
    state: 'stored',
    coming: { fromOn: stored.fromOn, toOn: stored.toOn, days: stored.days, skus: await againstStock(merchantId, stored.needs) },
    computedAt: stored.computedAt,
    staleSince: stored.staleSince ?? null,
    outOfDate,
  };
}
