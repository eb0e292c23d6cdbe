import { FakeClock } from '../../src/shared/time';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import type { SignInMailer } from '../../src/web/shop/sign-in.pages';
import { checkAccessibility, DESKTOP, PHONE, screenshot, startBrowser, type BrowserRun } from '../helpers/browser';
import { demoStore, runWorker } from '../helpers/portal';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

jest.setTimeout(180_000);

/**
 * A newcomer on a fresh installation, in Chromium: the front page is the demo store; they subscribe, pay on
 * the offline checkout, sign in with the link from the e-mail, skip a box and undo it, pause and resume.
 */
describe('a newcomer subscribes on the storefront and manages the box, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const links: Array<{ to: string; link: string }> = [];
  const sendSignInMail: SignInMailer = async ({ mail, link }) => {
    links.push({ to: mail.email, link });
  };
  const testApp = buildTestApp({ clock, sendSignInMail });

  beforeAll(async () => {
    await demoStore(clock);
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test.each([
    ['phone', PHONE, 'phone@example.com'],
    ['desktop', DESKTOP, 'desk@example.com'],
  ])('at %s width: subscribe, pay on the simulation, sign in, skip and undo, pause and resume; axe finds nothing serious', async (_name, viewport, email) => {
    const { page, problems, context } = await run.newVisitor(viewport);
    const axe = async (name: string) => {
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, name);
    };

    await page.goto('/');
    await axe('storefront');
    await page.getByRole('link', { name: 'Subscribe to Single-origin coffee box' }).click();
    await page.getByLabel('Ground for filter, 2 × 250 g').check();
    await page.getByLabel('Every month — $26.00').check();
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Full name').fill('Ana Keyboard');
    await page.getByLabel('Street and number').fill('1 Main St');
    await page.getByLabel('City').fill('Chicago');
    await page.getByLabel('Postal code').fill('60601');
    await axe('subscribe');
    await page.getByRole('button', { name: /Continue to payment|Subscribe/ }).click();
    await page.waitForURL('**/checkout/sub_*');
    expect(await page.getByRole('note').textContent()).toContain('Simulation.');
    await axe('checkout-simulation');
    await page.getByRole('button', { name: 'Pay $13.00 (simulation)' }).click();
    await page.waitForURL('**/welcome?subscription=*');
    // The worker takes Stripe's events (here: the simulation's) from the inbox.
    await runWorker(testApp);
    await page.reload();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('You are subscribed');
    await axe('welcome');

    await page.getByRole('link', { name: 'sign in with your e-mail' }).click();
    await page.getByLabel('The e-mail you subscribed with').fill(email);
    await axe('sign-in');
    await page.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
    await page.getByLabel('Code').waitFor();
    await axe('sign-in-code');
    const link = links.filter((l) => l.to === email).at(-1)!.link;
    await page.goto(new URL(link).pathname + new URL(link).search);
    await axe('sign-in-link');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/account');
    await axe('account');

    await page.getByRole('link', { name: /Single-origin coffee box/ }).click();
    await page.getByRole('heading', { name: /Your next box/ }).waitFor();
    await axe('subscription');
    await page
      .getByRole('button', { name: /^Skip the box of/ })
      .first()
      .click();
    await page.getByRole('status').filter({ hasText: 'Done:' }).waitFor();
    await axe('subscription-receipt');
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.getByText(/Done: the box of .* was brought back/).waitFor();

    await page.getByLabel('How many boxes').selectOption('2');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText(/Paused from/).waitFor();
    await axe('subscription-paused');
    await page.getByRole('button', { name: 'Resume now' }).click();
    await page.getByText(/Paused from/).waitFor({ state: 'detached' });

    const subscription = (await SubscriptionModel.findOne({ 'box.variantId': { $exists: true }, status: 'active' })
      .sort({ createdAt: -1 })
      .lean())!;
    expect(subscription.skippedCycleKeys).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
