import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { catalogKinds } from '../../src/catalog/catalog-kinds';
import { syncPendingCatalogItems } from '../../src/catalog/catalog-sync-job.service';
import { GiftCampaignModel } from '../../src/gifts/gift-campaign.model';
import { MerchantModel } from '../../src/merchants/merchant.model';
import { BoxOrderModel } from '../../src/orders/box-order.model';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway, type StripeGateway } from '../../src/stripe/stripe-gateway';
import { processDueWebhookEvents, processWebhookEvent } from '../../src/webhooks/process-event.service';
import { WebhookEventModel } from '../../src/webhooks/webhook-event.model';
import { MAX_ATTEMPTS } from '../../src/webhooks/webhook-inbox.service';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser } from '../helpers/browser';
import { followFacts } from '../helpers/facts';
import { queuedMessages } from '../helpers/messages';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

jest.setTimeout(240_000);

/** Stripe's API down: every call of the gateway fails as a refused connection does. */
function outage(gateway: StripeGateway): StripeGateway {
  return new Proxy(gateway, {
    get: () => async () => {
      throw Object.assign(new Error('connect ECONNREFUSED api.stripe.com:443'), { type: 'StripeConnectionError' });
    },
  });
}

/**
 * The merchant's side end to end, in Chromium, as one story: a new merchant opens a store, makes a plan with
 * two variants and an add-on; a shopper subscribes on the storefront and pays on the offline checkout; Stripe's
 * Checkout cannot be recorded while Stripe's API is down and fails every retry, and its paid invoice with
 * it; the merchant finds the subscriber, replays the failed events once Stripe is back (the box is paid), ships the box with a tracking number
 * from a CSV file, and runs a surprise-gift campaign's dry run before activating it. The worker's part (the
 * catalog sync, Stripe's events, the facts' listeners) is run by the test where the worker would run it.
 */
describe("a merchant's first weeks, in Chromium", () => {
  useTestDatabase();
  let run: BrowserRun;
  // Monday 4 May 2026, 10:00 in New York.
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const testApp = buildTestApp({ clock, mailCaught: true });
  const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when a merchant signs up, builds a catalog, gets a subscriber, replays a failed event, ships from a CSV and activates a gift campaign, then each step shows it; every page is clean for axe', async () => {
    const { page, problems, context } = await run.newVisitor(DESKTOP);
    const check = async (name: string) => {
      expect([name, await checkAccessibility(page)]).toEqual([name, []]);
      await screenshot(page, `story-${name}`);
    };
    // What a change says (the caught-mail banner above the page is a status too).
    const receipt = () => page.locator('main').getByRole('status').first();
    const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

    // 1. A new merchant opens a store and confirms their e-mail.
    const email = 'owner@fernhill.example';
    await page.goto('/merchant/sign-in');
    await page.getByRole('link', { name: 'Open one' }).click();
    await page.getByLabel('Store name').fill('Fernhill Tea');
    await page.getByLabel('Your e-mail').fill(email);
    await page.getByLabel('Password').fill('plum lantern orbit sixty');
    await page.getByLabel('Currency you sell in').selectOption('USD');
    await page.getByLabel(/Your time zone/).selectOption('America/New_York');
    await page.getByRole('button', { name: 'Open my store' }).click();
    await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
    const [mail] = await queuedMessages({ template: 'merchant.sign_up_confirmation', to: email });
    const link = new URL(/Open my store: (\S+)/.exec(mail!.text)![1]!);
    await page.goto(link.pathname + link.search);
    await page.getByRole('button', { name: 'Open my store' }).click();
    await page.getByRole('heading', { name: 'Fernhill Tea is open' }).waitFor();
    await page.getByRole('link', { name: 'Go to your store' }).click();
    await page.getByRole('heading', { level: 1, name: 'Fernhill Tea' }).waitFor();
    await check('1-home');
    const merchant = (await MerchantModel.findOne({ email }).lean())!;

    // 2. A plan with two variants, and an add-on with stock (the gift of step 6).
    await nav('Catalog').click();
    await page.getByRole('link', { name: 'New plan' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Tea of the month');
    await page.getByLabel('Variant 1 name').fill('Loose leaf');
    await page.getByLabel('Variant 1 SKU').fill('TEA-LOOSE');
    await page.getByLabel('Variant 2 name').fill('Tea bags');
    await page.getByLabel('Variant 2 SKU').fill('TEA-BAGS');
    await page.getByLabel('Cadence 1: price a box').fill('22');
    await page.getByRole('button', { name: 'Create the plan' }).click();
    await receipt().waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Tea of the month');
    await check('2-plan');
    await nav('Catalog').click();
    await page.getByRole('link', { name: 'Add-ons' }).click();
    await page.getByRole('link', { name: 'New add-on' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Honey stick');
    await page.getByLabel('SKU').fill('HONEY-STICK');
    await page.getByLabel('To every box').check();
    await page.getByLabel('Price').fill('2.00');
    await page.getByLabel(/Units on hand/).fill('40');
    await page.getByRole('button', { name: 'Create the add-on' }).click();
    await receipt().waitFor();
    await check('2-addon');
    // The worker mirrors the new catalog to Stripe (the catalog job).
    await syncPendingCatalogItems(deps, catalogKinds());

    // 3. A shopper subscribes on the storefront and pays on the offline checkout.
    const shopper = await context.browser()!.newContext({ baseURL: new URL(page.url()).origin, viewport: DESKTOP });
    const shop = await shopper.newPage();
    await shop.goto(`/shop/${merchant.handle}`);
    await shop.getByRole('link', { name: 'Subscribe to Tea of the month' }).click();
    await shop.getByLabel(/Tea bags/).check();
    await shop.getByLabel('E-mail').fill('mira@example.com');
    await shop.getByLabel('Full name').fill('Mira Castellanos');
    await shop.getByLabel('Street and number').fill('12 Elm St');
    await shop.getByLabel('City').fill('Albany');
    await shop.getByLabel('Postal code').fill('12207');
    await shop.getByRole('button', { name: /Continue to payment|Subscribe/ }).click();
    await shop.waitForURL('**/checkout/sub_*');
    await shop.getByRole('button', { name: /^Pay .* \(simulation\)$/ }).click();
    await shop.waitForURL('**/welcome?subscription=*');
    await shopper.close();

    // The worker takes Stripe's events while Stripe's API cannot be reached: recording the Checkout reads
    // the subscription Stripe made, so it fails every retry (and the paid invoice waits for it).
    const unreachable = { ...deps, stripe: outage(deps.stripe) };
    for (const job of testApp.queued.splice(0)) if (job.name === 'webhooks.process-event') await processWebhookEvent(unreachable, job.data.eventId as string);
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt += 1) {
      clock.advance(3_600_000 + 1_000);
      await processDueWebhookEvents(unreachable);
    }
    const failed = await WebhookEventModel.find({ state: 'failed' }, { type: 1 }).lean();
    expect(failed.map((event) => event.type).sort()).toEqual(['checkout.session.completed', 'invoice.paid']);
    await followFacts(clock);

    // 4. The merchant finds the new subscriber.
    await nav('Subscribers').click();
    await page.getByLabel('Name or e-mail').fill('mira');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('link', { name: 'Mira Castellanos' }).click();
    await page.getByRole('heading', { level: 1, name: /Mira Castellanos/ }).waitFor();
    // Her first box is charged at sign-up: past its cut-off, nothing in it can change.
    expect(await page.getByText(/its contents are fixed/).count()).toBe(1);
    await check('4-subscriber');

    // 5. Billing health names the failed events; Stripe is back: the Checkout replayed, then the invoice, places the paid box.
    await nav('Billing').click();
    await page.getByRole('link', { name: 'Stripe events that failed' }).click();
    expect(await page.locator('table.stripe-events tbody tr').count()).toBe(2);
    await check('5-failed-events');
    await page.getByRole('button', { name: /Replay checkout\.session\.completed/ }).click();
    await page.locator('#receipt').waitFor();
    expect(await page.locator('#receipt').textContent()).toContain('it was processed');
    await page.getByRole('button', { name: /Replay invoice\.paid/ }).click();
    await page.locator('#receipt').filter({ hasText: 'invoice.paid' }).waitFor();
    expect(await page.locator('#receipt').textContent()).toContain('it was processed');
    expect(await page.locator('table.stripe-events tbody tr').count()).toBe(0);
    await check('5-replayed');
    await followFacts(clock);
    const box = (await BoxOrderModel.findOne({ merchantId: merchant._id }).lean())!;
    expect(box).toMatchObject({ status: 'paid', lines: [expect.objectContaining({ sku: 'TEA-BAGS' })] });

    // 6. The box ships with its tracking number, from a CSV file.
    await nav('Fulfilment').click();
    await page.getByRole('navigation', { name: 'Fulfilment' }).getByRole('link', { name: 'Ship' }).click();
    const csv = path.join(os.tmpdir(), `story-ship-${process.pid}.csv`);
    await writeFile(csv, `orderId,carrier,trackingNumber\r\n${box._id},USPS,9400111899223344556677\r\n`);
    await page.getByLabel('Or upload a CSV file').setInputFiles(csv);
    await page.getByLabel(/Mark these boxes shipped/).check();
    await page.getByRole('button', { name: 'Ship these boxes' }).click();
    await receipt().waitFor();
    expect(await receipt().textContent()).toMatch(/1\s+box shipped now, of 1 row/);
    await check('6-shipped');
    expect(await BoxOrderModel.findById(box._id, { status: 1, shipment: 1 }).lean()).toMatchObject({
      status: 'shipped',
      shipment: expect.objectContaining({ carrier: 'USPS', trackingNumber: '9400111899223344556677' }),
    });

    // 7. A surprise-gift campaign: its dry run before activation picks Mira's next box.
    // Weeks later, the merchant signs in again (the session has ended) and goes to Retention.
    clock.set(new Date('2026-05-30T14:00:00Z'));
    await page.goto('/merchant/retention');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill('plum lantern orbit sixty');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/merchant/retention');
    await page.getByRole('link', { name: 'Surprise gifts' }).first().click();
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.getByLabel('Campaign name').fill('First-month thank-you');
    await page.getByLabel('Gift add-on').selectOption({ label: 'Honey stick (40 in stock)' });
    await page.getByLabel('Cost of one gift to you (USD)').fill('0.60');
    await page.getByLabel('Most gifts to give').fill('25');
    await page.getByLabel('Most the gifts may cost (USD)').fill('15.00');
    await page.getByLabel('First charge date').fill('2026-06-01');
    await page.getByRole('button', { name: 'Create the campaign as a draft' }).click();
    await receipt().waitFor();
    const dryRun = page.getByRole('region', { name: 'Dry run: what activating would give' });
    expect(await dryRun.textContent()).toContain('1 box would get a gift, of 1 eligible box.');
    expect(await dryRun.textContent()).toContain('Mira Castellanos');
    await check('7-dry-run');
    await page.getByRole('link', { name: 'Activate the campaign…' }).click();
    await page.getByRole('button', { name: 'Yes, activate the campaign' }).click();
    await receipt().waitFor();
    expect(await receipt().textContent()).toContain('The campaign is live');
    await check('7-live');

    expect(problems).toEqual([]);
    expect(await GiftCampaignModel.find({ merchantId: merchant._id }, { _id: 0, name: 1, status: 1 }).lean()).toEqual([
      { name: 'First-month thank-you', status: 'active' },
    ]);
    await context.close();
  });
});
