import { listeners } from '../../../src/listeners';
import { comingDays, comingNeeds } from '../../../src/orders/coming-days.service';
import { markFulfilmentForecastStale } from '../../../src/orders/fulfilment-forecast.listeners';
import { FulfilmentForecastModel } from '../../../src/orders/fulfilment-forecast.model';
import {
  FORECAST_FACTS,
  FORECAST_REFRESH_DELAY_MS,
  forecastForPage,
  markForecastStale,
  refreshDueForecasts,
  refreshForecast,
  requestForecastRefresh,
  storeComputedForecast,
} from '../../../src/orders/fulfilment-forecast.service';
import { recordPaidInvoice } from '../../../src/orders/order.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildPaidInvoice } from '../../factories/invoice.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { followFacts } from '../../helpers/facts';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

jest.setTimeout(120_000);

const NEW_YORK = 'America/New_York';

/** The stored forecast of a store's coming days: kept fresh by facts, refreshed by the job, read by the page. */
describe('the stored fulfilment forecast', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-03-02T15:30:00Z'); // 10:30 in New York, Monday 2 March 2026
  const { app } = buildTestApp({ clock });
  const deps = () => ({ clock, logger: silentLogger });
  const stored = (merchant: TestMerchant) => FulfilmentForecastModel.findOne({ merchantId: merchant.id }).lean();

  beforeEach(() => clock.set('2026-03-02T15:30:00Z'));

  /** A store with two shoppers of one plan, due today; the first one's box paid (built). */
  async function storeWithBoxes() {
    const merchant = await createMerchant({ timezone: NEW_YORK }, clock);
    const plan = { variants: [{ name: 'Dark', sku: 'DARK-ROAST' }], cadences: [{ interval: 'week' as const, intervalCount: 2, priceMinor: 2400 }] };
    const first = await subscribeShopper(app, merchant, plan, 'week-2');
    await subscribeShopper(app, merchant, plan, 'week-2');
    const stripeDeps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    await recordPaidInvoice(stripeDeps, buildPaidInvoice(first.subscription.stripeSubscriptionId as string, clock.now(), 2400));
    return merchant;
  }

  test('when facts that change the coming boxes are recorded, then the listener table follows each with the stale mark', () => {
    for (const type of FORECAST_FACTS) expect(listeners[type]).toContain(markFulfilmentForecastStale);
    for (const type of ['subscription.created', 'subscription.skipped', 'box.paid', 'box.shipped', 'box.cancelled'] as const) {
      expect(FORECAST_FACTS).toContain(type);
    }
  });

  test('when many facts of a store are followed, then its forecast is stale from the first and one refresh is due a delay after it', async () => {
    const merchant = await storeWithBoxes();
    const firstAt = clock.now();
    await followFacts(clock);
    const marked = (await stored(merchant))!;
    expect(marked.staleSince).toEqual(firstAt);
    expect(marked.refreshDueAt).toEqual(new Date(firstAt.getTime() + FORECAST_REFRESH_DELAY_MS));
    expect(marked.computedAt).toBeNull();

    // More facts ten seconds later: still stale since the first, the same refresh.
    clock.advance(10_000);
    await subscribeShopper(app, merchant, {}, 'week-2');
    await followFacts(clock);
    const again = (await stored(merchant))!;
    expect(again.staleSince).toEqual(firstAt);
    expect(again.refreshDueAt).toEqual(marked.refreshDueAt);
    expect(again.staleMarkedAt).toEqual(clock.now());
    expect(await FulfilmentForecastModel.countDocuments({ merchantId: merchant.id })).toBe(1);

    // Before it is due, the job does nothing; once due, one refresh for all of them; then nothing more is due.
    expect(await refreshDueForecasts(deps())).toBe(0);
    clock.advance(FORECAST_REFRESH_DELAY_MS);
    expect(await refreshDueForecasts(deps())).toBe(1);
    expect(await refreshDueForecasts(deps())).toBe(0);
    const fresh = (await stored(merchant))!;
    expect(fresh.computedAt).toEqual(clock.now());
    expect(fresh.staleSince).toBeUndefined();
    expect(fresh.refreshDueAt).toBeUndefined();
    const page = await forecastForPage(clock, merchant.id, NEW_YORK);
    expect(page).toMatchObject({ state: 'stored', staleSince: null, outOfDate: false });
  });

  test('when the job refreshes a forecast, then the page reads the same figures as computing the coming days now', async () => {
    const merchant = await storeWithBoxes();
    await requestForecastRefresh(clock, merchant.id);
    expect(await refreshForecast(deps(), merchant.id)).toBe('refreshed');
    const page = await forecastForPage(clock, merchant.id, NEW_YORK);
    const now = await comingDays(merchant.id, NEW_YORK, clock.now());
    expect(page.state === 'stored' && page.coming).toEqual(now);
    // Figures that mean something: today one box paid and one not built yet, two units of the SKU.
    expect(now.days[0]).toMatchObject({ shipOn: '2026-03-02', notBuilt: 1, total: 2 });
    expect(now.skus).toEqual([expect.objectContaining({ sku: 'DARK-ROAST', units: 2 })]);
  });

  test('when an older run finishes after a newer one, then it does not overwrite the newer result', async () => {
    const merchant = await storeWithBoxes();
    const olderStart = clock.now();
    const older = await comingNeeds(merchant.id, NEW_YORK, olderStart);
    // Meanwhile a third shopper, and a newer run that writes first.
    clock.advance(5_000);
    await subscribeShopper(app, merchant, { variants: [{ name: 'Light', sku: 'LIGHT-ROAST' }] }, 'week-2');
    await requestForecastRefresh(clock, merchant.id);
    expect(await refreshForecast(deps(), merchant.id)).toBe('refreshed');
    const newer = (await stored(merchant))!;

    expect(await storeComputedForecast(merchant.id, older, olderStart)).toBe(false);
    const after = (await stored(merchant))!;
    expect(after.computedAt).toEqual(newer.computedAt);
    expect(after.needs).toEqual(newer.needs);
    expect(after.needs!.map((need) => need.sku).sort()).toEqual(['DARK-ROAST', 'LIGHT-ROAST']);
    // A second run at the same instant changes nothing either; a run that is not due does not run.
    expect(await storeComputedForecast(merchant.id, older, newer.computedAt!)).toBe(false);
    expect(await refreshForecast(deps(), merchant.id)).toBe('not_due');
  });

  test('when a fact marks the forecast stale at the instant a run begins, then the run does not call it fresh, and another refresh is due', async () => {
    const merchant = await storeWithBoxes();
    await requestForecastRefresh(clock, merchant.id);
    await markForecastStale(clock, merchant.id);
    expect(await refreshForecast(deps(), merchant.id)).toBe('refreshed');
    const after = (await stored(merchant))!;
    expect(after.staleSince).toEqual(clock.now());
    expect(after.refreshDueAt).toEqual(new Date(clock.now().getTime() + FORECAST_REFRESH_DELAY_MS));
    // Two workers' sweeps once it is due: one refreshes, the other finds nothing to claim.
    clock.advance(FORECAST_REFRESH_DELAY_MS);
    const outcomes = await Promise.all([refreshForecast(deps(), merchant.id), refreshForecast(deps(), merchant.id)]);
    expect(outcomes.sort()).toEqual(['not_due', 'refreshed']);
    expect((await stored(merchant))!.staleSince).toBeUndefined();
  });

  test("when the merchant's local midnight passes, then the stored forecast is out of date and a refresh is due", async () => {
    const merchant = await storeWithBoxes();
    await requestForecastRefresh(clock, merchant.id);
    await refreshForecast(deps(), merchant.id);

    // 23:59 in New York (04:59 UTC on the 3rd): still today's.
    clock.set('2026-03-03T04:59:00Z');
    expect(await forecastForPage(clock, merchant.id, NEW_YORK)).toMatchObject({ state: 'stored', outOfDate: false });
    expect((await stored(merchant))!.refreshDueAt).toBeUndefined();

    // 00:01 on Tuesday in New York: out of date, and a refresh is due now; the new one starts on the 3rd.
    clock.set('2026-03-03T05:01:00Z');
    expect(await forecastForPage(clock, merchant.id, NEW_YORK)).toMatchObject({ state: 'stored', outOfDate: true });
    expect((await stored(merchant))!.refreshDueAt).toEqual(clock.now());
    expect(await refreshDueForecasts(deps())).toBe(1);
    const page = await forecastForPage(clock, merchant.id, NEW_YORK);
    expect(page).toMatchObject({ state: 'stored', outOfDate: false, coming: { fromOn: '2026-03-03', toOn: '2026-03-09' } });
  });

  test('when a store has no forecast yet, then the page gets none (never made-up figures) and a refresh is due', async () => {
    const merchant = await createMerchant({ timezone: NEW_YORK }, clock);
    expect(await forecastForPage(clock, merchant.id, NEW_YORK)).toEqual({ state: 'none' });
    expect((await stored(merchant))!.refreshDueAt).toEqual(clock.now());
    expect(await refreshDueForecasts(deps())).toBe(1);
    expect(await forecastForPage(clock, merchant.id, NEW_YORK)).toMatchObject({ state: 'stored', coming: { skus: [] } });
  });
});
