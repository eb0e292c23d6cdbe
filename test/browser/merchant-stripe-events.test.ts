import request from 'supertest';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { processWebhookEvent } from '../../src/webhooks/process-event.service';
import { createMerchant } from '../factories/merchant.factory';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { buildEvent, signEvent } from '../helpers/stripe-events';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

jest.setTimeout(120_000);

describe('a merchant replays a failed Stripe event, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const testApp = buildTestApp({ clock });

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when the merchant opens billing health, follows to the failed events and replays one, then the list and the receipt are axe-clean at laptop and tablet widths', async () => {
    const merchant = await createMerchant({ name: 'Bean There', timezone: 'Europe/Paris' }, clock);
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    for (const n of [1, 2]) {
      // A paid invoice Stripe sends without its lines: its handler refuses it, every time.
      const event = buildEvent(
        'invoice.paid',
        {
          id: `in_browser_${n}`,
          object: 'invoice',
          parent: { subscription_details: { subscription: 'sub_x', metadata: { boxcycle_merchant_id: merchant.id } } },
        },
        clock.now(),
      );
      const signed = signEvent(testApp.stripe, event, clock.now());
      await request(testApp.app)
        .post('/webhooks/stripe')
        .set('stripe-signature', signed.header)
        .set('content-type', 'application/json')
        .send(signed.payload)
        .expect(200);
      await processWebhookEvent(deps, event.id);
    }

    for (const viewport of [DESKTOP, TABLET]) {
      const { page, problems } = await run.newVisitor(viewport);
      const check = async (name: string) => {
        expect([name, await checkAccessibility(page)]).toEqual([name, []]);
        await screenshot(page, `merchant-stripe-events-${name}`);
      };
      await page.goto('/merchant/sign-in');
      await page.getByLabel('E-mail').fill(merchant.email);
      await page.getByLabel('Password').fill(merchant.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click();
      await page.getByRole('link', { name: 'Stripe events that failed' }).click();
      await page.getByRole('heading', { name: 'Failed Stripe events' }).waitFor();
      expect(await page.locator('table.stripe-events tbody tr').count()).toBe(2);
      await check('list');

      await page
        .getByRole('button', { name: /Replay invoice\.paid/ })
        .first()
        .click();
      await page.locator('#receipt').waitFor();
      expect(await page.locator('#receipt').textContent()).toContain('failed again');
      await check('receipt');
      expect(problems).toEqual([]);
    }
  });
});
