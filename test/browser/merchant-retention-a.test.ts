import request from 'supertest';
import { FakeClock } from '../../src/shared/time';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import { buildAddonInput } from '../factories/catalog.factory';
import { createMerchant } from '../factories/merchant.factory';
import { subscribeShopper } from '../factories/subscription.factory';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

jest.setTimeout(120_000);

describe('the merchant runs a surprise-gift campaign, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  const testApp = buildTestApp({ clock });

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when a merchant creates a campaign, sees its dry run and activates it, then it is live; every page is clean for axe at laptop and tablet widths', async () => {
    const merchant = await createMerchant({ name: 'Bean There', timezone: 'America/New_York' }, clock);
    const shopper = await subscribeShopper(testApp.app, merchant);
    await SubscriptionModel.updateOne({ _id: shopper.subscription.id }, { $set: { status: 'active' } });
    await request(testApp.app)
      .post('/api/v1/addons')
      .set(merchant.auth)
      .send(buildAddonInput({ name: 'Tasting spoon', stock: 500 }))
      .expect(201);
    // Two days before the April box's cut-off: the dry run picks the subscriber.
    clock.set(new Date('2026-03-28T12:00:00Z'));

    for (const [index, viewport] of [DESKTOP, TABLET].entries()) {
      const { page, problems, context } = await run.newVisitor(viewport);
      const check = async (name: string) => {
        expect([name, await checkAccessibility(page)]).toEqual([name, []]);
        await screenshot(page, `retention-a-${name}`);
      };
      await page.goto('/merchant/sign-in?next=%2Fmerchant');
      await page.getByLabel('E-mail').fill(merchant.email);
      await page.getByLabel('Password').fill(merchant.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/merchant');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Retention' }).click();
      await page.waitForURL('**/merchant/retention');
      await check('hub');

      await page.getByRole('link', { name: 'Surprise gifts' }).first().click();
      await page.getByRole('link', { name: 'New campaign' }).click();
      await page.getByLabel('Campaign name').fill(`Spring thank-you ${index}`);
      await page.getByLabel('Gift add-on').selectOption({ label: 'Tasting spoon (500 in stock)' });
      await page.getByLabel('Cost of one gift to you (USD)').fill('3.00');
      await page.getByLabel('Most gifts to give').fill('0');
      await page.getByLabel('Most the gifts may cost (USD)').fill('100.00');
      await page.getByLabel('First charge date').fill('2026-03-01');
      await page.getByRole('button', { name: 'Create the campaign as a draft' }).click();
      await page.getByText('Nothing was saved').waitFor();
      await check('gift-new-refused');
      await page.getByLabel('Most gifts to give').fill('10');
      await page.getByRole('button', { name: 'Create the campaign as a draft' }).click();
      await page.getByRole('status').waitFor();
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Spring thank-you ${index}`);
      const dryRun = page.getByRole('region', { name: 'Dry run: what activating would give' });
      expect(await dryRun.textContent()).toContain('1 box would get a gift, of 1 eligible box.');
      await check('gift-dry-run');

      await page.getByRole('link', { name: 'Activate the campaign…' }).click();
      await page.getByRole('button', { name: 'Yes, activate the campaign' }).waitFor();
      await check('gift-activate-confirm');
      await page.getByRole('button', { name: 'Yes, activate the campaign' }).click();
      await page.getByRole('status').waitFor();
      expect(await page.getByRole('status').textContent()).toContain('The campaign is live');
      await check('gift-live');

      await page.getByRole('link', { name: '← Surprise gifts' }).click();
      await check('gifts');
      expect(problems).toEqual([]);
      await context.close();
    }
    const campaigns = (await request(testApp.app).get('/api/v1/gift-campaigns').set(merchant.auth).expect(200)).body.data;
    // Both made at the same instant of the fake clock: their order in the list is the ids', so compare as a set.
    expect(campaigns.map((c: { name: string; status: string }) => [c.name, c.status]).sort()).toEqual([
      ['Spring thank-you 0', 'active'],
      ['Spring thank-you 1', 'active'],
    ]);
  });
});
