import { FakeClock } from '../../src/shared/time';
import { createMerchant, type TestMerchant } from '../factories/merchant.factory';
import { driveAnalyticsHistory } from '../helpers/analytics-history';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

jest.setTimeout(180_000);

describe("the merchant's analytics, in Chromium", () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-01-02T15:00:00Z');
  const testApp = buildTestApp({ clock });
  let merchant: TestMerchant;
  let history: Awaited<ReturnType<typeof driveAnalyticsHistory>>;

  beforeAll(async () => {
    merchant = await createMerchant({ name: 'Numbers Coffee', timezone: 'America/New_York', defaultCurrency: 'USD' }, clock);
    history = await driveAnalyticsHistory(testApp, merchant);
    run = await startBrowser(testApp.app);
  }, 150_000);
  afterAll(async () => run?.close());

  test('when the merchant opens Analytics, then charts and their tables render, clean for axe at laptop and tablet widths and readable in forced colours; a month opens the facts behind it', async () => {
    const { page, problems, context } = await run.newVisitor(DESKTOP);
    await page.goto('/merchant/analytics');
    await page.getByLabel('E-mail').fill(merchant.email);
    await page.getByLabel('Password').fill(merchant.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/merchant/analytics');

    // Choose the months of the history, as a person would, without JavaScript of ours.
    await page.getByLabel('From month').fill('2026-01');
    await page.getByLabel('To month').fill('2026-04');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL('**/merchant/analytics?from=2026-01&to=2026-04*');
    const charts = page.getByRole('img');
    expect(await charts.count()).toBe(5); // and the movements, a group of links
    const bars = page.getByRole('group', { name: /^MRR movements in USD per month/ });
    expect(await bars.getByRole('link', { name: 'February 2026: the MRR movements and the facts behind them' }).count()).toBe(1);
    expect(await page.getByRole('img', { name: /^MRR in USD at the end of each month/ }).count()).toBe(1);
    expect(await page.getByRole('table').count()).toBe(4); // and one in a closed <details>
    await page.getByText('MRR per month, as a table').click();
    expect(await page.getByRole('table').count()).toBe(5);
    expect(await page.getByRole('row', { name: /February 2026 \$66\.00 \$106\.00/ }).count()).toBe(1);
    for (const viewport of [DESKTOP, TABLET]) {
      await page.setViewportSize(viewport);
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-analytics');
    }
    await page.emulateMedia({ forcedColors: 'active' });
    // In forced colours the charts take the system's colours: text as text, and stacked series told apart (solid, outline).
    const forced = await page.evaluate<{ text: string; body: string; solid: string; outline: string }>(`(() => {
      const style = (selector) => getComputedStyle(document.querySelector(selector));
      return {
        text: style('#chart-movements text.tick').fill,
        body: style('body').color,
        solid: style('#chart-movements rect.bar.s0.up').fill,
        outline: style('#chart-movements rect.bar.s1.up').fill,
      };
    })()`);
    expect(forced.text).toBe(forced.body);
    expect(forced.solid).not.toBe(forced.outline);
    await screenshot(page, 'merchant-analytics-forced-colours');
    await page.emulateMedia({ forcedColors: 'none' });

    await page.getByLabel('Currency').selectOption('EUR');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL('**currency=EUR*');
    expect(await page.locator('.figure .number').textContent()).toBe('€30.00');

    await page.goto('/merchant/analytics?from=2026-01&to=2026-04&currency=USD');
    // The month's bars in the movements chart open it, as its name in the table does.
    await page.getByRole('link', { name: 'February 2026: the MRR movements and the facts behind them' }).click();
    await page.waitForURL('**/merchant/analytics/movements/2026-02?currency=USD');
    await page.goBack();
    await page.getByRole('link', { name: 'February 2026', exact: true }).click();
    await page.waitForURL('**/merchant/analytics/movements/2026-02?currency=USD');
    expect(await page.getByRole('img', { name: /^MRR movements, February 2026/ }).count()).toBe(1);

    expect(await page.locator(`a[href="/merchant/subscribers/${history.subs.S1}"]`).count()).toBeGreaterThan(0);
    for (const viewport of [DESKTOP, TABLET]) {
      await page.setViewportSize(viewport);
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-analytics-month');
    }
    expect(problems).toEqual([]);
    await context.close();
  });
});
