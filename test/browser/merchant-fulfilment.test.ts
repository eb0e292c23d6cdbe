import { refreshDueForecasts } from '../../src/orders/fulfilment-forecast.service';
import { recordPaidInvoice } from '../../src/orders/order.service';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildPaidInvoice } from '../factories/invoice.factory';
import { createMerchant } from '../factories/merchant.factory';
import { subscribeShopper } from '../factories/subscription.factory';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

jest.setTimeout(120_000);

/** A tablet held upright: the fulfilment pages are used on the packing bench. */

describe('the merchant ships a box from the fulfilment pages, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const testApp = buildTestApp({ clock });

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when the merchant opens coming days and the pick list, then pastes a CSV row to ship a box, then the report says it shipped; every page is clean for axe', async () => {
    const merchant = await createMerchant({ name: 'Bean There', timezone: 'America/New_York' }, clock);
    const shoppers = [await subscribeShopper(testApp.app, merchant), await subscribeShopper(testApp.app, merchant)];
    const stripeDeps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    for (const shopper of shoppers) {
      await recordPaidInvoice(stripeDeps, buildPaidInvoice(shopper.subscription.stripeSubscriptionId as string, clock.now(), 2600));
    }

    for (const [index, viewport] of [DESKTOP, TABLET].entries()) {
      const { page, problems, context } = await run.newVisitor(viewport);
      await page.goto('/merchant/sign-in?next=%2Fmerchant%2Ffulfilment');
      await page.getByLabel('E-mail').fill(merchant.email);
      await page.getByLabel('Password').fill(merchant.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/merchant/fulfilment');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Fulfilment');
      if (index === 0) {
        // No forecast yet: the page says so (no figures), and Refresh now asks for one; the worker computes it.
        expect(await page.getByText('The forecast is being computed; reload in a minute.').isVisible()).toBe(true);
        expect(await checkAccessibility(page)).toEqual([]);
        await screenshot(page, 'merchant-fulfilment-forecast-pending');
        await page.getByRole('button', { name: 'Refresh now' }).click();
        await page.waitForURL(/\/merchant\/fulfilment\?refresh=asked/);
        expect(await page.locator('#receipt').textContent()).toContain('A new forecast is being computed');
        clock.advance(1000);
        expect(await refreshDueForecasts({ clock, logger: silentLogger })).toBe(1);
        await page.goto('/merchant/fulfilment');
      }
      expect(await page.locator('.forecast-as-of').textContent()).toBe('As of Monday, March 2 at 10:30 AM EST.');
      expect(await page.getByRole('row', { name: /Mon, Mar 2/ }).textContent()).toContain('Pick list');
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-fulfilment-coming-days');

      await page.getByRole('link', { name: 'Pick list of Mon, Mar 2' }).click();
      await page.waitForURL('**/merchant/fulfilment/pick-list?shipOn=2026-03-02');
      const boxIds = await page.locator('input[name="orderId"]').evaluateAll((inputs) => inputs.map((input) => input.getAttribute('value') ?? ''));
      expect(boxIds).toHaveLength(2 - index);
      expect(await page.getByRole('link', { name: 'every line, with addresses' }).getAttribute('href')).toBe(
        '/merchant/fulfilment/pick-list.csv?shipOn=2026-03-02&part=lines',
      );
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-fulfilment-pick-list');

      await page.getByRole('navigation', { name: 'Fulfilment' }).getByRole('link', { name: 'Ship' }).click();
      await page.waitForURL('**/merchant/fulfilment/ship');
      await page.getByLabel('Rows to ship').fill(`orderId,carrier,trackingNumber\n${boxIds[0]},UPS,1Z999AA1012345678${index}`);
      await page.getByRole('button', { name: 'Ship these boxes' }).click();
      await page.getByRole('alert').or(page.locator('#confirm-error')).first().waitFor();
      expect(await page.locator('#confirm-error').textContent()).toContain('Tick this box to confirm');
      expect(await page.getByLabel('Rows to ship').inputValue()).toContain(boxIds[0]);
      expect(await checkAccessibility(page)).toEqual([]);
      await page.getByLabel(/Mark these boxes shipped/).check();
      await page.getByRole('button', { name: 'Ship these boxes' }).click();
      await page.getByRole('status').waitFor();
      expect(await page.getByRole('status').textContent()).toMatch(/1\s+box shipped now, of 1 row/);
      expect(await page.getByRole('row', { name: new RegExp(boxIds[0]) }).textContent()).toContain(`Shipped (UPS 1Z999AA1012345678${index})`);
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-fulfilment-ship-report');
      expect(problems).toEqual([]);
      await context.close();
    }
  });
});
