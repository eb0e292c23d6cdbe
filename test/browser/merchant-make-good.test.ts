import request from 'supertest';
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

describe('the merchant makes good a mistake from the fulfilment pages, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-03-04T15:30:00Z');
  const testApp = buildTestApp({ clock });

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when the merchant picks the boxes of a ship date, checks the preview and confirms, then the report shows each subscriber given the points; every page is clean for axe', async () => {
    const merchant = await createMerchant({ name: 'Bean There', timezone: 'America/New_York' }, clock);
    await request(testApp.app)
      .put('/api/v1/loyalty-program')
      .set(merchant.auth)
      .send({
        enabled: true,
        pointsPerUnit: 1,
        redemption: { points: 100, creditMinor: 500 },
        autoApply: false,
        expiry: null,
        tierBasis: 'paid_boxes',
        tiers: [],
      })
      .expect(200);
    clock.set('2026-03-02T15:30:00Z');
    const shoppers = [await subscribeShopper(testApp.app, merchant), await subscribeShopper(testApp.app, merchant)];
    const stripeDeps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    for (const shopper of shoppers) {
      await recordPaidInvoice(stripeDeps, buildPaidInvoice(shopper.subscription.stripeSubscriptionId as string, clock.now(), 2600));
    }
    clock.set('2026-03-04T15:30:00Z');

    for (const [index, viewport] of [DESKTOP, TABLET].entries()) {
      const { page, problems, context } = await run.newVisitor(viewport);
      await page.goto('/merchant/sign-in?next=%2Fmerchant%2Ffulfilment');
      await page.getByLabel('E-mail').fill(merchant.email);
      await page.getByLabel('Password').fill(merchant.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/merchant/fulfilment');
      await page.getByRole('link', { name: 'Apologise and make good' }).click();
      await page.waitForURL('**/merchant/fulfilment/make-good');
      expect(await page.getByLabel('Subject of the e-mail').inputValue()).toBe('We are sorry about your box');
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-make-good-form');

      await page.getByLabel('From', { exact: true }).fill('2026-03-02');
      await page.getByLabel('To', { exact: true }).fill('2026-03-02');
      await page.getByRole('radio', { name: 'Loyalty points' }).check();
      await page.getByLabel('Points (for loyalty points)').fill(`${100 + index}`);
      await page.getByLabel('Subject of the e-mail').fill('Sorry about your March box');
      await page.getByRole('button', { name: 'See the affected boxes' }).click();
      await page.waitForURL(/\/merchant\/fulfilment\/make-good\/mkg_[0-9a-z]{20}$/);
      expect(await page.getByRole('region', { name: 'What will happen' }).textContent()).toMatch(/2\s+boxes of\s+2\s+subscribers/);
      expect(await page.getByRole('table').getByRole('row').count()).toBe(3);
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-make-good-preview');

      await page.getByLabel(/Give this to 2 subscribers/).check();
      await page.getByRole('button', { name: 'Send the make-good' }).click();
      await page.waitForURL(/\/report#receipt$/);
      expect(await page.getByRole('status').textContent()).toMatch(/gave it to\s+2\s+subscribers now/);
      const results = await page.locator('tbody tr td:nth-child(3)').allTextContents();
      expect(results.map((text) => text.trim())).toEqual(['Given', 'Given']);
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-make-good-report');
      expect(problems).toEqual([]);
      await context.close();
    }
  });
});
