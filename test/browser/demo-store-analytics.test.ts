import { seedDemoHistory } from '../../src/demo/demo-history.service';
import { seedDemoMerchant } from '../../src/merchants/demo-seed.service';
import { DEMO_NOTE } from '../../src/web/merchant/demo-note';
import { FakeClock } from '../../src/shared/time';
import { TEST_LINKS } from '../helpers/facts';
import { TEST_WEBHOOK_SECRET } from '../helpers/stripe-events';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

jest.setTimeout(240_000);

/** What a newcomer sees on `npm start`: the demo store's analytics, full of its made-up year and saying so. */
describe("the demo store's analytics, in Chromium", () => {
  useTestDatabase();
  let run: BrowserRun;
  const now = '2026-12-05T15:00:00Z';
  const testApp = buildTestApp({ clock: new FakeClock(now) });
  const password = 'demo-password-for-the-test';

  beforeAll(async () => {
    const clock = new FakeClock(now);
    const { merchant, plans } = await seedDemoMerchant(clock, { password });
    const made = await seedDemoHistory(
      {
        clock,
        logger: silentLogger,
        stripe: testStripe(),
        stripeMode: 'stripe-mock',
        webhookSecret: TEST_WEBHOOK_SECRET,
        publicUrl: TEST_LINKS.publicUrl,
        links: TEST_LINKS,
      },
      { merchantId: merchant._id, plans },
    );
    expect(made).toMatchObject({ made: true });
    run = await startBrowser(testApp.app);
  }, 480_000); // the made-up year through the real services: ~2 min alone, over 3 beside the rest of the suite
  afterAll(async () => run?.close());

  test('when the newcomer signs in to the demo store and opens Analytics, then twelve months of charts show under the demo note, clean for axe', async () => {
    const { page } = await run.newVisitor(DESKTOP);
    await page.goto('/merchant/analytics');
    await page.getByLabel('E-mail').fill('demo@boxcycle.example');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/merchant/analytics');
    expect(await page.getByRole('note').textContent()).toContain(DEMO_NOTE);
    expect(await page.getByRole('img').count()).toBe(5);
    expect(await page.getByRole('img', { name: /^MRR in USD at the end of each month/ }).count()).toBe(1);
    // The movements' bars open a month's facts, as the month names in the table do.
    const bars = page.getByRole('group', { name: /^MRR movements in USD per month/ }).getByRole('link');
    expect(await bars.count()).toBeGreaterThan(6);
    expect(await checkAccessibility(page)).toEqual([]);
    await screenshot(page, 'demo-store-analytics');

    // Each page of the sub-navigation, for the demo store's year: figures drawn and tabled, clean for axe at laptop and tablet widths.
    const pages = [
      { link: 'Cohorts', path: '/merchant/analytics/cohorts', table: /^Subscribers retained per cohort/ },
      { link: 'Lifetime value', path: '/merchant/analytics/ltv', table: /^Predicted LTV per month/ },
      { link: 'Why they leave', path: '/merchant/analytics/leaving', table: /^Cancellations per month, by reason/ },
      { link: 'Dunning', path: '/merchant/analytics/dunning', table: /^Dunning per month/ },
      { link: 'Box service', path: '/merchant/analytics/box-service', table: /^Shipping on time per month/ },
    ];
    for (const { link, path, table } of pages) {
      await page.setViewportSize(DESKTOP);
      await page.getByRole('navigation', { name: 'Analytics' }).getByRole('link', { name: link, exact: true }).click();
      await page.waitForURL(`**${path}*`);
      expect(await page.getByRole('note').textContent()).toContain(DEMO_NOTE);
      // Figures, not the page's "nothing yet" (a section may still say it has nothing, e.g. no gift this year).
      expect(await page.locator('main > p.empty-state').count()).toBe(0);
      expect(await page.getByRole('region', { name: table }).count()).toBe(1);
      for (const viewport of [DESKTOP, TABLET]) {
        await page.setViewportSize(viewport);
        expect(await checkAccessibility(page)).toEqual([]);
        await screenshot(page, `demo-store-analytics-${path.split('/').pop()}`);
      }
    }
  });
});
