import type { Page } from 'playwright-core';
import { createAddon } from '../../src/addons/addon.service';
import { catalogKinds } from '../../src/catalog/catalog-kinds';
import { syncPendingCatalogItems } from '../../src/catalog/catalog-sync-job.service';
import { adjustVariantStock } from '../../src/inventory/stock-item.service';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import type { SignInMailer } from '../../src/web/shop/sign-in.pages';
import { factsAbout } from '../helpers/facts';
import { checkAccessibility, DESKTOP, PHONE, screenshot, startBrowser, type BrowserRun } from '../helpers/browser';
import { DEMO_HANDLE, demoStore, subscribeOnStorefront } from '../helpers/portal';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

jest.setTimeout(180_000);

describe('a shopper changes their box and cancels, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const mail: Array<{ to: string; link: string }> = [];
  const sendSignInMail: SignInMailer = async ({ mail: message, link }) => {
    mail.push({ to: message.email, link });
  };
  const testApp = buildTestApp({ clock, sendSignInMail });

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  /** The page as it is now: axe finds nothing serious at phone or desktop width, and both are kept as screenshots. */
  async function check(page: Page, name: string): Promise<void> {
    for (const viewport of [PHONE, DESKTOP]) {
      await page.setViewportSize(viewport);
      expect([name, await checkAccessibility(page)]).toEqual([name, []]);
      await screenshot(page, name);
    }
    await page.setViewportSize(PHONE);
  }

  test('when a shopper signs in, swaps, adds an extra, cancels after declining the offer and reactivates, then each page is clean and each change is theirs', async () => {
    const { plans, merchant } = await demoStore(clock);
    const catalog = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    await createAddon(catalog, merchant._id, {
      name: 'Paper filters',
      sku: 'FILTERS-100',
      kind: 'recurring',
      priceMinor: 300,
      stock: null,
      description: '100 filters',
    });
    await createAddon(catalog, merchant._id, { name: 'Hand grinder', sku: 'GRINDER-1', kind: 'one_time', priceMinor: 4500, stock: 0 });
    await syncPendingCatalogItems(catalog, catalogKinds());
    await adjustVariantStock(clock, merchant._id, 'COF-GE-500', 1);
    await adjustVariantStock(clock, merchant._id, 'COF-GE-500', -1);
    const { subscriptionId } = await subscribeOnStorefront(testApp, { email: 'mia@example.com', name: 'Mia' }, plans[0]!._id);

    const { page, problems, context } = await run.newVisitor(PHONE);
    // Sign in: the link from the e-mail, then its button.
    await page.goto(`/shop/${DEMO_HANDLE}/subscriptions/${subscriptionId}/change`);
    await page.getByLabel('The e-mail you subscribed with').fill('mia@example.com');
    await page.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
    await page.waitForURL('**/sign-in/code**');
    const link = new URL(mail.find((m) => m.to === 'mia@example.com')!.link);
    await page.goto(link.pathname + link.search);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`**/subscriptions/${subscriptionId}/change`);

    // Change the box: the picker shows the sold-out grind, which cannot be chosen.
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Change your box');
    await expectDisabled(page, 'Ground for espresso, 2 × 250 g out of stock');
    await expectDisabled(page, 'Hand grinder · $45.00 each one box only out of stock');
    await check(page, 'portal-change');

    // A refusal is shown beside its field.
    await page.getByRole('button', { name: 'Save what comes' }).click();
    await page.locator('#choice-error').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('Nothing was changed:');
    expect(await page.locator('#choice-error').textContent()).toBe('This is already what comes in your box');
    await check(page, 'portal-change-refused');

    // Swap.
    await page.getByRole('region', { name: 'What comes in your box' }).getByLabel('Ground for filter, 2 × 250 g').check();
    await page.getByRole('button', { name: 'Save what comes' }).click();
    await page.waitForURL(`**/subscriptions/${subscriptionId}?done=*`);
    expect(await page.getByRole('status').textContent()).toContain('Done: what comes in the boxes was changed, from the box of');
    await check(page, 'portal-swapped');

    // Add an extra, in every box.
    await page.getByRole('link', { name: 'Change the box' }).click();
    await page.getByRole('radio', { name: /Paper filters/ }).check();
    await page.getByLabel('How many').selectOption('2');
    await page.getByLabel('Every box, until I remove it').check();
    await page.getByRole('button', { name: 'Add to my box' }).click();
    await page.waitForURL(`**/subscriptions/${subscriptionId}?done=*`);
    expect(await page.getByRole('status').textContent()).toContain('Done: an extra was added');
    expect(await page.locator('.card table').textContent()).toMatch(/Paper filters\s*2/);
    await page.getByRole('link', { name: 'Change the box' }).click();
    expect(await page.locator('#extras').locator('..').textContent()).toContain('Paper filters × 2 — in every box from');
    await check(page, 'portal-change-with-extra');

    // Cancel: a reason, the offer declined, the confirmation, then the cancellation.
    await page.getByRole('link', { name: /^← Back to/ }).click();
    await page.getByRole('link', { name: 'Cancel my subscription' }).click();
    await check(page, 'portal-cancel-reason');
    await page.getByLabel('It costs too much').check();
    await page.getByLabel(/Anything you would like to tell us/).fill('Lovely beans, but not this month.');
    await page.getByRole('button', { name: 'Continue to cancel' }).click();
    await page.getByRole('heading', { name: /Take 20% off your box of/ }).waitFor();
    await check(page, 'portal-cancel-offer');
    await page.getByRole('button', { name: 'No thanks, continue to cancel' }).click();
    await page.getByRole('heading', { name: 'What happens' }).waitFor();
    expect(await page.locator('main').textContent()).toContain('Boxes you have already paid for still come.');
    await check(page, 'portal-cancel-confirm');
    await page.getByRole('button', { name: 'Cancel my subscription' }).click();
    await page.waitForURL(`**/subscriptions/${subscriptionId}?done=*`);
    expect(await page.getByRole('status').textContent()).toContain('Done: the subscription was set to end on');
    expect(await page.locator('main').textContent()).toMatch(/This subscription ends on \w+day, May 18; boxes until then still come\./);
    await check(page, 'portal-cancelled');

    // Reactivate.
    await page.getByRole('button', { name: 'Reactivate my subscription' }).click();
    await page.waitForURL(`**/subscriptions/${subscriptionId}?done=*`);
    expect(await page.getByRole('link', { name: 'Cancel my subscription' }).count()).toBe(1);
    await check(page, 'portal-reactivated');

    expect(problems).toEqual([]);
    await context.close();
    const facts = (await factsAbout({ subjectId: subscriptionId })).filter((f) => f.actor.kind === 'shopper');
    expect(facts.map((f) => f.type)).toEqual([
      'subscription.created', // on the storefront
      'subscription.swapped',
      'subscription.addon_added',
      'subscription.save_offer_shown', // the cancel flow showed the offer, which was declined
      'subscription.cancellation_scheduled',
      'subscription.reactivated',
    ]);
  });
});

/** A choice shown with its words but not choosable. */
async function expectDisabled(page: Page, name: string): Promise<void> {
  const radio = page.getByRole('radio', { name, exact: true });
  expect(await radio.count()).toBe(1);
  expect(await radio.isDisabled()).toBe(true);
}
