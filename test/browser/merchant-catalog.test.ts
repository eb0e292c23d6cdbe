import request from 'supertest';
import { FakeClock } from '../../src/shared/time';
import { createMerchant } from '../factories/merchant.factory';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

jest.setTimeout(120_000);

describe('the merchant builds their catalog, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const testApp = buildTestApp({ clock });

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when a merchant signs in and creates a plan with two variants and an add-on, then both are in the catalog; every page is clean for axe at laptop and tablet widths', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    for (const [index, viewport] of [DESKTOP, TABLET].entries()) {
      const { page, problems, context } = await run.newVisitor(viewport);
      const check = async (name: string) => {
        expect([name, await checkAccessibility(page)]).toEqual([name, []]);
        await screenshot(page, `catalog-${name}`);
      };
      await page.goto('/merchant/sign-in?next=%2Fmerchant%2Fcatalog');
      await page.getByLabel('E-mail').fill(merchant.email);
      await page.getByLabel('Password').fill(merchant.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/merchant/catalog');
      await check('plans-empty');

      await page.getByRole('link', { name: 'New plan' }).click();
      await page.getByLabel('Name', { exact: true }).fill(`House blend ${index}`);
      await page.getByLabel('Variant 1 name').fill('Whole bean');
      await page.getByLabel('Variant 1 SKU').fill(`HB-WB-${index}`);
      await page.getByLabel('Variant 2 name').fill('Ground');
      await page.getByLabel('Variant 2 SKU').fill(`HB-GR-${index}`);
      await page.getByLabel('Cadence 1: price a box').fill('18');
      await page.getByLabel('Cadence 2: every').fill('2');
      await page.getByLabel('Cadence 2: unit').selectOption('week');
      await page.getByLabel('Cadence 2: price a box').fill('9.5x');
      await page.getByRole('button', { name: 'Create the plan' }).click();
      await page.getByText('Nothing was saved').waitFor();
      expect(await page.getByLabel('Cadence 2: price a box').inputValue()).toBe('9.5x');
      await check('plan-new-refused');
      await page.getByLabel('Cadence 2: price a box').fill('9.50');
      await page.getByRole('button', { name: 'Create the plan' }).click();
      await page.getByRole('status').waitFor();
      expect(await page.getByRole('status').textContent()).toContain('The plan is created.');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`House blend ${index}`);
      await check('plan');

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Catalog' }).click();
      await page.getByRole('link', { name: 'Add-ons' }).click();
      await page.getByRole('link', { name: 'New add-on' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Mug');
      await page.getByLabel('SKU').fill(`MUG-${index}`);
      await page.getByLabel('To every box').check();
      await page.getByLabel('Price').fill('12.00');
      await page.getByLabel(/Units on hand/).fill('3');
      await page.getByRole('button', { name: 'Create the add-on' }).click();
      await page.getByRole('status').waitFor();
      await page.getByLabel(/Units: received/).fill('-5');
      await page.getByLabel('Why').fill('broken');
      await page.getByRole('button', { name: 'Adjust the stock' }).click();
      await page.getByText('Only 3 on hand; cannot remove 5.', { exact: true }).first().waitFor();
      await check('addon-refused');
      await page.goto('/merchant/catalog/addons');
      await check('addons');
      await page.getByRole('link', { name: 'Stock' }).click();
      await check('stock');
      await page.goto('/merchant/catalog');
      await check('plans');
      expect(problems).toEqual([]);
      await context.close();
    }
    const plans = (await request(testApp.app).get('/api/v1/plans').set(merchant.auth).expect(200)).body.data;
    expect(
      plans.map((plan: { variants: unknown[]; cadences: Array<{ key: string; price: { amountMinor: number } }> }) => [
        plan.variants.length,
        plan.cadences.map((c) => [c.key, c.price.amountMinor]),
      ]),
    ).toEqual([
      [
        2,
        [
          ['month-1', 1800],
          ['week-2', 950],
        ],
      ],
      [
        2,
        [
          ['month-1', 1800],
          ['week-2', 950],
        ],
      ],
    ]);
    const addons = (await request(testApp.app).get('/api/v1/addons').set(merchant.auth).expect(200)).body.data;
    expect(addons.map((addon: { kind: string; stock: { onHand: number } }) => [addon.kind, addon.stock.onHand])).toEqual([
      ['recurring', 3],
      ['recurring', 3],
    ]);
  });
});
