import { seedDemoHistory } from '../../src/demo/demo-history.service';
import { seedDemoMerchant } from '../../src/merchants/demo-seed.service';
import { DEMO_NOTE } from '../../src/web/merchant/demo-note';
import { FakeClock } from '../../src/shared/time';
import { TEST_LINKS } from '../helpers/facts';
import { TEST_WEBHOOK_SECRET } from '../helpers/stripe-events';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser } from '../helpers/browser';
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
  }, 200_000);
  afterAll(async () => run?.close());

  test('when the newcomer signs in to the demo store and opens Analytics, then twelve months of charts show under the demo note, clean for axe', async () => {
    const { page } = await run.newVisitor(DESKTOP);
    await page.goto('/merchant/analytics');
    await page.getByLabel('E-mail').fill('demo@boxcycle.example');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/merchant/analytics');
    expect(await page.getByRole('note').textContent()).toContain(DEMO_NOTE);
    expect(await page.getByRole('img').count()).toBe(6);
    expect(await page.getByRole('img', { name: /^MRR in USD at the end of each month/ }).count()).toBe(1);
    expect(await checkAccessibility(page)).toEqual([]);
    await screenshot(page, 'demo-store-analytics');
  });
});
