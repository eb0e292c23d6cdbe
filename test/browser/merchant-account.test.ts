import { FakeClock } from '../../src/shared/time';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { queuedMessages } from '../helpers/messages';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

jest.setTimeout(120_000);

describe('a new merchant opens a store and sets it up, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const testApp = buildTestApp({ clock, mailCaught: true });

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when someone signs up, follows the e-mailed link, sets a shipping fee and makes an API key, then every page is axe-clean at laptop and tablet widths', async () => {
    for (const [index, viewport] of [DESKTOP, TABLET].entries()) {
      const { page, problems } = await run.newVisitor(viewport);
      const check = async (name: string) => {
        expect([name, await checkAccessibility(page)]).toEqual([name, []]);
        await screenshot(page, `merchant-${name}`);
      };
      const email = `owner${index}@kettle.example`;
      await page.goto('/merchant/sign-in');
      await page.getByRole('link', { name: 'Open one' }).click();
      await page.getByLabel('Store name').fill(`Kettle ${index}`);
      await page.getByLabel('Your e-mail').fill(email);
      await page.getByLabel('Password').fill('plum lantern orbit sixty');
      await page.getByLabel('Currency you sell in').selectOption('EUR');
      await page.getByLabel(/Your time zone/).selectOption('Europe/Paris');
      await check('sign-up');
      await page.getByRole('button', { name: 'Open my store' }).click();
      await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
      await check('sign-up-sent');

      const [mail] = await queuedMessages({ template: 'merchant.sign_up_confirmation', to: email });
      const link = new URL(/Open my store: (\S+)/.exec(mail!.text)![1]!);
      await page.goto(link.pathname + link.search);
      await check('confirm');
      await page.getByRole('button', { name: 'Open my store' }).click();
      await page.getByRole('heading', { name: `Kettle ${index} is open` }).waitFor();
      expect(await page.locator('code.secret').textContent()).toMatch(/^bxk_/);
      await check('opened');

      await page.getByRole('link', { name: 'Go to your store' }).click();
      await page.getByRole('heading', { level: 1, name: `Kettle ${index}` }).waitFor();
      await check('home');

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Currency 1').fill('EUR');
      await page.getByLabel('Fee 1').fill('4,50');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.locator('#feeAmount0-error').waitFor();
      await check('settings-refused');
      await page.getByLabel('Fee 1').fill('4.50');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByText('Saved.').waitFor();
      await check('settings');

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
      await page.getByLabel(/A new key/).fill('Fulfilment sync');
      await page.getByRole('button', { name: 'Make a key' }).click();
      await page.getByRole('heading', { name: 'Your new key “Fulfilment sync”' }).waitFor();
      await check('account-new-key');
      expect(problems).toEqual([]);
    }
  });
});
