import { FulfilmentForecastModel } from '../../../src/orders/fulfilment-forecast.model';
import { refreshDueForecasts } from '../../../src/orders/fulfilment-forecast.service';
import { FakeClock } from '../../../src/shared/time';
import { dateTimeIn } from '../../../src/web/shop/portal-format';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { followFacts } from '../../helpers/facts';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

jest.setTimeout(120_000);

const NEW_YORK = 'America/New_York';

/** /merchant/fulfilment reads the stored forecast: "as of" its time, notes while it catches up, and "Refresh now". */
describe('the fulfilment page and its stored forecast', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-03-02T15:30:00Z'); // 10:30 in New York, Monday 2 March 2026
  const { app } = buildTestApp({ clock });
  const deps = () => ({ clock, logger: silentLogger });
  const stored = (merchant: TestMerchant) => FulfilmentForecastModel.findOne({ merchantId: merchant.id }).lean();

  beforeEach(() => clock.set('2026-03-02T15:30:00Z'));

  async function signedIn(merchant: TestMerchant) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' });
    return browser;
  }

  test('when no forecast exists yet, then the page says it is being computed, shows no figures, and the refresh runs; then it shows the figures as of then', async () => {
    const merchant = await createMerchant({ timezone: NEW_YORK }, clock);
    await subscribeShopper(app, merchant, { variants: [{ name: 'Dark', sku: 'DARK-ROAST' }] }, 'week-2');
    const browser = await signedIn(merchant);
    const none = await browser.get('/merchant/fulfilment');
    expect(none.status).toBe(200);
    expect(none.text).toContain('The forecast is being computed; reload in a minute.');
    expect(none.text).not.toContain('<table class="list coming-days">');
    expect(none.text).not.toContain('As of');
    expect(none.text).toMatch(/<form method="post" action="\/merchant\/fulfilment\/refresh"[^>]*>\s*<input type="hidden" name="_csrf" value="[^"]+">/);

    await followFacts(clock);
    clock.advance(60_000);
    expect(await refreshDueForecasts(deps())).toBe(1);
    const computedAt = clock.now();
    clock.advance(5 * 60_000);
    const page = await browser.get('/merchant/fulfilment');
    expect(page.text).toContain(`As of ${dateTimeIn(computedAt, NEW_YORK, 'en-US')}.`);
    expect(page.text).toContain('As of Monday, March 2 at 10:31 AM EST.');
    expect(page.text).not.toContain('being computed');
    expect(page.text).not.toContain('still being counted');
    expect(page.text).toMatch(/<th scope="row">Mon, Mar 2<\/th>\s*<td>0<\/td>\s*<td>0<\/td>\s*<td>0<\/td>\s*<td>1<\/td>\s*<td><strong>1<\/strong><\/td>/);
    expect(page.text).toContain('<code>DARK-ROAST</code>');
  });

  test('when a fact changed the coming boxes since the forecast, then the page says changes are still being counted; a new day says today’s is being computed', async () => {
    const merchant = await createMerchant({ timezone: NEW_YORK }, clock);
    await subscribeShopper(app, merchant, {}, 'week-2');
    await followFacts(clock);
    clock.advance(60_000);
    await refreshDueForecasts(deps());
    const browser = await signedIn(merchant);

    clock.advance(60_000);
    const changedAt = clock.now();
    await subscribeShopper(app, merchant, {}, 'week-2');
    await followFacts(clock);
    const stale = await browser.get('/merchant/fulfilment');
    expect(stale.text).toContain(`Changes since ${dateTimeIn(changedAt, NEW_YORK, 'en-US')} are still being counted`);
    expect(stale.text).toContain('<table class="list coming-days">');

    clock.advance(60_000);
    await refreshDueForecasts(deps());
    expect((await browser.get('/merchant/fulfilment')).text).not.toContain('still being counted');

    clock.set('2026-03-03T05:01:00Z'); // 00:01 on Tuesday in New York (the session has lapsed: sign in again)
    const nextDay = await (await signedIn(merchant)).get('/merchant/fulfilment');
    expect(nextDay.text).toContain("This forecast was made on an earlier day; today's is being computed.");
    expect((await stored(merchant))!.refreshDueAt).toEqual(clock.now());
  });

  test('when the merchant presses Refresh now, then a refresh is due at once and the page says so; a forged token is a 403; another store refreshes only its own', async () => {
    const merchant = await createMerchant({ timezone: NEW_YORK }, clock);
    const other = await createMerchant({ timezone: NEW_YORK }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/fulfilment');
    await refreshDueForecasts(deps());
    expect((await stored(merchant))!.refreshDueAt).toBeUndefined();

    clock.advance(60_000);
    const forged = await browser.post('/merchant/fulfilment/refresh', {}, { csrf: 'forged-token' });
    expect(forged.status).toBe(403);
    expect((await stored(merchant))!.refreshDueAt).toBeUndefined();

    const asked = await browser.post('/merchant/fulfilment/refresh', {});
    expect(asked.status).toBe(303);
    expect(asked.headers.location).toBe('/merchant/fulfilment?refresh=asked#receipt');
    expect((await stored(merchant))!.refreshDueAt).toEqual(clock.now());
    const receipt = await browser.get('/merchant/fulfilment?refresh=asked');
    expect(receipt.text).toContain('id="receipt">A new forecast is being computed: reload this page in a minute.');

    // Another store's button asks for its own forecast only.
    await refreshDueForecasts(deps());
    const theirs = await signedIn(other);
    await theirs.get('/merchant/fulfilment');
    await refreshDueForecasts(deps());
    clock.advance(60_000);
    expect((await theirs.post('/merchant/fulfilment/refresh', {})).status).toBe(303);
    expect((await stored(other))!.refreshDueAt).toEqual(clock.now());
    expect((await stored(merchant))!.refreshDueAt).toBeUndefined();

    // Signed out: to sign-in, nothing asked.
    const stranger = pageClient(app);
    await stranger.get('/merchant/sign-in');
    const signedOut = await stranger.post('/merchant/fulfilment/refresh', {});
    expect([302, 303, 403]).toContain(signedOut.status);
    expect((await stored(merchant))!.refreshDueAt).toBeUndefined();
  });
});
