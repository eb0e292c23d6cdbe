import request from 'supertest';
import { signActionToken } from '../../src/shared/action-tokens';
import { installationSecret } from '../../src/shared/installation-secret';
import { FakeClock } from '../../src/shared/time';
import { createMerchant } from '../factories/merchant.factory';
import { subscribeShopper } from '../factories/subscription.factory';
import { checkAccessibility, DESKTOP, PHONE, screenshot, startBrowser, type BrowserRun } from '../helpers/browser';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';
import { longDate } from '../../src/web/shop/shop-view';

jest.setTimeout(120_000);

describe('the merchant signs in and a shopper follows a link from an e-mail, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const testApp = buildTestApp({ clock });

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when the merchant signs in with the keyboard, then their store page opens; the pages are clean for axe at phone and desktop widths', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    for (const viewport of [PHONE, DESKTOP]) {
      const { page, problems, context } = await run.newVisitor(viewport);
      await page.goto('/merchant');
      expect(page.url()).toContain('/merchant/sign-in?next=%2Fmerchant');
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-sign-in');
      await page.getByLabel('E-mail').fill(merchant.email);
      await page.getByLabel('Password').fill('not the password');
      await page.getByLabel('Password').press('Enter');
      await page.getByRole('alert').waitFor();
      expect(await page.getByRole('alert').textContent()).toContain('The e-mail or password is not right.');
      expect(await page.getByLabel('E-mail').inputValue()).toBe(merchant.email);
      await page.getByLabel('Password').fill(merchant.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/merchant');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Bean There');
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-home');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL('**/merchant/sign-in');
      expect(problems).toEqual([]);
      await context.close();
    }
  });

  test('when a shopper opens a skip link and presses its button, then the box is skipped and the receipt offers undo', async () => {
    const merchant = await createMerchant({ name: 'Bean There', timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(testApp.app, merchant);
    const view = async () => (await request(testApp.app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
    const cycleKey = (await view()).nextCharge.cycleKey as string;
    const token = signActionToken(await installationSecret('action-links', undefined, clock.now()), {
      action: 'subscription.skip',
      merchantId: merchant.id,
      subjectId: subscription.id,
      data: { cycleKey },
      expiresAt: new Date(clock.now().getTime() + 86_400_000),
    });
    const { page, problems, context } = await run.newVisitor(PHONE);
    await page.goto(`/a/${token}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Skip your box of ${longDate(cycleKey, 'en-US')}?`);
    expect(await checkAccessibility(page)).toEqual([]);
    await screenshot(page, 'action-skip');
    await page.getByRole('button', { name: 'Skip this box' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toContain(`Your box of ${longDate(cycleKey, 'en-US')} is skipped`);
    expect(await checkAccessibility(page)).toEqual([]);
    await screenshot(page, 'action-skip-done');
    expect((await view()).upcomingCycles.find((c: { cycleKey: string }) => c.cycleKey === cycleKey).state).toBe('skipped');
    await page.getByRole('link', { name: 'Undo' }).click();
    await page.getByRole('button', { name: 'Keep this box' }).click();
    await page.getByRole('status').waitFor();
    expect((await view()).upcomingCycles.find((c: { cycleKey: string }) => c.cycleKey === cycleKey).state).toBe('scheduled');
    expect(problems).toEqual([]);
    await context.close();
  });
});
