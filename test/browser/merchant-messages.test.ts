import request from 'supertest';
import { FakeClock } from '../../src/shared/time';
import { createMerchant, type TestMerchant } from '../factories/merchant.factory';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { queuedMessages } from '../helpers/messages';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

jest.setTimeout(120_000);

describe("the merchant's messages, in Chromium", () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const testApp = buildTestApp({ clock });
  let merchant: TestMerchant;

  beforeAll(async () => {
    merchant = await createMerchant({ name: 'Bean There' }, clock);
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when the merchant turns a message off, previews one and sends themselves a test, then each page says so and is clean for axe at laptop and tablet widths', async () => {
    const { page, problems } = await run.newVisitor(DESKTOP);
    const check = async (name: string) => {
      for (const viewport of [DESKTOP, TABLET]) {
        await page.setViewportSize(viewport);
        expect([name, await checkAccessibility(page)]).toEqual([name, []]);
        await screenshot(page, `merchant-messages-${name}`);
      }
      await page.setViewportSize(DESKTOP);
    };
    await page.goto('/merchant');
    await page.getByLabel('E-mail').fill(merchant.email);
    await page.getByLabel('Password').fill(merchant.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Messages' }).click();
    await page.getByRole('heading', { level: 1, name: 'Messages' }).waitFor();
    await check('list');

    const receipt = page.locator('[id="on:box.receipt"]');
    expect(await receipt.isChecked()).toBe(true);
    await receipt.uncheck();
    await page.getByLabel(/The request to rate a box goes/).fill('0');
    await page.getByRole('button', { name: 'Save messages' }).click();
    await page.locator('[id="days:rateRequestDaysAfterDelivery-error"]').waitFor();
    await check('refused');
    await page.getByLabel(/The request to rate a box goes/).fill('5');
    await page.getByRole('button', { name: 'Save messages' }).click();
    await page.locator('#receipt').waitFor();
    expect(await page.locator('[id="on:box.receipt"]').isChecked()).toBe(false);
    const settings = (await request(testApp.app).get('/api/v1/message-settings').set(merchant.auth).expect(200)).body;
    expect(settings.messages['box.receipt']).toBe(false);
    expect(settings.days.rateRequestDaysAfterDelivery).toBe(5);

    await page.locator('a[href="/merchant/messages/box.shipped"]').click();
    await page.waitForURL('**/merchant/messages/box.shipped');
    const frame = page.frameLocator('iframe.mail');
    await frame.locator('body').getByText('Bean There').first().waitFor();
    await check('preview');

    await page.getByRole('button', { name: 'Send me a test' }).click();
    await page.locator('#receipt').getByText(merchant.email).waitFor();
    await check('test-sent');
    expect(await queuedMessages({ merchantId: merchant.id, template: 'box.shipped' })).toHaveLength(1);

    await page.getByRole('link', { name: 'sent messages' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sent messages' }).waitFor();
    await check('log');
    await page.getByRole('link', { name: /^\[Test\]/ }).click();
    await page.getByRole('heading', { level: 2, name: 'Delivery' }).waitFor();
    await check('message');
    expect(problems).toEqual([]);
  });
});
