import { MerchantModel } from '../../src/merchants/merchant.model';
import type { Plan } from '../../src/plans/plan.model';
import { hashPassword } from '../../src/shared/password';
import { FakeClock } from '../../src/shared/time';
import { factsAbout } from '../helpers/facts';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { demoStore, subscribeOnStorefront } from '../helpers/portal';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

jest.setTimeout(120_000);

describe("the merchant's subscribers, in Chromium", () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const testApp = buildTestApp({ clock });
  const password = 'correct horse battery staple';
  let subscriptionId: string;

  beforeAll(async () => {
    const { merchant, plans } = await demoStore(clock);
    await MerchantModel.updateOne({ _id: merchant._id }, { $set: { passwordHash: await hashPassword(password) } });
    subscriptionId = (await subscribeOnStorefront(testApp, { email: 'ana.muller@example.com', name: 'Ana Müller' }, (plans[0] as Plan)._id)).subscriptionId;
    await subscribeOnStorefront(testApp, { email: 'bo@example.com', name: 'Bo Jensen' }, (plans[0] as Plan)._id);
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when the merchant searches for a shopper, opens them and skips a box, then the receipt says so; the pages are clean for axe at laptop and tablet widths', async () => {
    const { page, problems, context } = await run.newVisitor(DESKTOP);
    await page.goto('/merchant/subscribers');
    await page.getByLabel('E-mail').fill('demo@boxcycle.example');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/merchant/subscribers');
    for (const viewport of [DESKTOP, TABLET]) {
      await page.setViewportSize(viewport);
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-subscribers');
    }

    await page.getByLabel('Name or e-mail').fill('müller');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForURL('**/merchant/subscribers?q=*');
    expect(await page.getByRole('link', { name: 'Bo Jensen' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Ana Müller' }).click();
    await page.waitForURL(`**/merchant/subscribers/${subscriptionId}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Ana Müller');

    await page
      .getByRole('button', { name: /^Skip the box of/ })
      .first()
      .click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toContain('Done:');
    const skipped = (await factsAbout({ subjectId: subscriptionId })).at(-1)!;
    expect(skipped.type).toBe('subscription.skipped');
    expect(skipped.actor.kind).toBe('merchant');
    for (const viewport of [DESKTOP, TABLET]) {
      await page.setViewportSize(viewport);
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'merchant-subscriber-skipped');
    }
    await page.getByRole('link', { name: 'Cancel the subscription…' }).click();
    expect(await checkAccessibility(page)).toEqual([]);
    await screenshot(page, 'merchant-subscriber-cancel');
    expect(problems).toEqual([]);
    await context.close();
  });
});
