import { FakeClock } from '../../src/shared/time';
import type { SignInMailer } from '../../src/web/shop/sign-in.pages';
import { checkAccessibility, DESKTOP, PHONE, screenshot, startBrowser, type BrowserRun } from '../helpers/browser';
import { DEMO_HANDLE, demoStore, runWorker, subscribeOnStorefront } from '../helpers/portal';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

jest.setTimeout(180_000);

/**
 * A subscriber signs in from the e-mailed link, opens the Payment tab (no card on file yet), presses "Update
 * card", picks a test card on the offline card-update simulation and comes back to see it on file. Each page
 * is clean for axe at phone and desktop widths and kept as a screenshot.
 */
describe("a subscriber's Payment page, in Chromium", () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const sent: Array<{ to: string; link: string }> = [];
  const sendSignInMail: SignInMailer = async ({ mail, link }) => {
    sent.push({ to: mail.email, link });
  };
  const testApp = buildTestApp({ clock, sendSignInMail });
  const base = `/shop/${DEMO_HANDLE}`;
  let subscriptionId: string;

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
    const { plans } = await demoStore(clock);
    subscriptionId = (await subscribeOnStorefront(testApp, { email: 'ana@example.com', name: 'Ana Lopez' }, plans[0]!._id)).subscriptionId;
  });
  afterAll(async () => run?.close());

  test('when the subscriber updates the card through the offline simulation, then the new card is on file and each page is clean for axe', async () => {
    for (const [viewport, choice, words] of [
      [PHONE, 'Mastercard ending 4444, expires 12/2029', 'Mastercard ending 4444'],
      [DESKTOP, 'Visa ending 4242, expires 12/2029', 'Visa ending 4242'],
    ] as const) {
      const first = viewport === PHONE;
      const { page, problems, context } = await run.newVisitor(viewport);
      const payment = `${base}/subscriptions/${subscriptionId}/payment`;

      // Signed out: the sign-in page, then the e-mailed link brings them back to the payment page.
      await page.goto(payment);
      expect(page.url()).toContain(`${base}/sign-in?next=`);
      await page.getByLabel('The e-mail you subscribed with').fill('ana@example.com');
      await page.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
      await page.waitForURL('**/sign-in/code**');
      const link = new URL(sent.filter((m) => m.to === 'ana@example.com').at(-1)!.link);
      await page.goto(link.pathname + link.search);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`**${payment}`);

      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Payment');
      expect(await page.locator('p.card-on-file').textContent()).toBe(first ? 'No card on file yet.' : 'Mastercard ending 4444');
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, first ? 'portal-payment-no-card' : 'portal-payment-card');

      // Update card: the simulation, clearly marked, stands in for Stripe's page.
      await page.getByRole('button', { name: first ? 'Add a card' : 'Update card' }).click();
      await page.waitForURL('**/payment/card-simulation');
      expect(await page.getByRole('note').textContent()).toContain('Simulation.');
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'portal-payment-simulation');
      if (first) {
        // Nothing chosen: refused beside the field.
        await page.getByRole('button', { name: 'Save this card (simulation)' }).click();
        await page.locator('.field-error').waitFor();
        expect(await page.locator('.field-error').textContent()).toBe('Choose a test card');
        expect(await checkAccessibility(page)).toEqual([]);
        await screenshot(page, 'portal-payment-simulation-refused');
      }
      clock.advance(60_000); // Stripe's events carry the second they happened: a later press is newer news.
      await page.getByRole('radio', { name: choice }).check();
      await page.getByRole('button', { name: 'Save this card (simulation)' }).click();
      await page.waitForURL(`**${payment}?updated=pm_*`);
      expect(await page.getByRole('status').textContent()).toContain('Your new card is being saved');

      // The worker processes Stripe's event; the page then shows the new card.
      await runWorker(testApp);
      await page.reload();
      expect(await page.getByRole('status').textContent()).toBe(`Done: you now pay with your ${words}.`);
      expect(await page.locator('p.card-on-file').textContent()).toBe(words);
      expect(await page.locator('p.card-expiry').textContent()).toBe('Expires at the end of December 2029.');
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'portal-payment-updated');

      expect(problems).toEqual([]);
      await context.close();
    }
  });
});
