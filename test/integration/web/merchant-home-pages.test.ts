import request from 'supertest';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { ReconciliationRunModel } from '../../../src/webhooks/reconciliation-run.model';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** The merchant's home numbers and the billing health page, each the merchant's own. */
describe("the merchant's home and billing pages", () => {
  useTestDatabase();
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const testApp = buildTestApp({ clock });
  const { app } = testApp;

  async function signedIn(merchant: TestMerchant) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    expect((await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' })).status).toBe(303);
    return browser;
  }
  const numberOf = (html: string, words: string) => Number(new RegExp(`<strong>(\\d+)</strong> ${words}`).exec(html)?.[1]);

  test('when a merchant opens the home page, then it counts their own subscribers by state, the failing payments and sold-out SKUs, and the billing page lists the failing ones', async () => {
    const merchant = await createMerchant({ name: 'Counts', timezone: 'America/New_York' }, clock);
    const other = await createMerchant({ name: 'Elsewhere' }, clock);
    const shoppers = [];
    for (let i = 0; i < 3; i++) shoppers.push(await subscribeShopper(app, merchant, { variants: [{ name: 'Dark', sku: `CNT-${i}` }] }));
    await subscribeShopper(app, other, { variants: [{ name: 'Dark', sku: 'OTHER-1' }] });
    await request(app).post(`/api/v1/stock-items/CNT-0/adjustments`).set(merchant.auth).send({ adjustBy: 0, reason: 'count' });
    // One of them fails to pay (as the webhook would record it): past due with a dunning record.
    await SubscriptionModel.updateOne(
      { _id: shoppers[0]!.subscription.id },
      {
        $set: {
          status: 'past_due',
          dunning: {
            stripeInvoiceId: 'in_fail',
            since: clock.now(),
            attempts: 2,
            lastFailureAt: clock.now(),
            updatePaymentUrl: 'https://invoice.stripe.com/i/test',
          },
        },
      },
    );

    const browser = await signedIn(merchant);
    const home = await browser.get('/merchant');
    expect(home.status).toBe(200);
    expect(numberOf(home.text, 'active subscribers')).toBe(2);
    expect(numberOf(home.text, 'payments? failing')).toBe(1);
    expect(home.text).toMatch(/<strong>\d+<\/strong> boxe?s? to ship in the next 7 days/);

    const billing = await browser.get('/merchant/billing');
    expect(billing.status).toBe(200);
    expect(billing.text).toContain(`href="/merchant/subscribers/${shoppers[0]!.subscription.id}"`);
    expect(billing.text).toContain('href="https://invoice.stripe.com/i/test"');
    expect(billing.text).not.toContain(shoppers[1]!.subscription.id);

    const theirs = await signedIn(other);
    expect(numberOf((await theirs.get('/merchant')).text, 'active subscribers')).toBe(1);
    expect((await theirs.get('/merchant/billing')).text).toContain('No payment is failing.');
  });

  test("when reconciliation ran, then billing health lists the recent runs as the whole installation's, in the store's time zone, with a failure in words and no raw error", async () => {
    await ReconciliationRunModel.deleteMany({});
    const merchant = await createMerchant({ name: 'Runs', timezone: 'Europe/Berlin' }, clock);
    await ReconciliationRunModel.create([
      {
        _id: 'rcn_ok',
        status: 'succeeded',
        startedAt: new Date('2026-03-02T14:00:00Z'),
        finishedAt: new Date('2026-03-02T14:00:05Z'),
        listed: 12,
        recovered: 2,
      },
      {
        _id: 'rcn_failed',
        status: 'failed',
        startedAt: new Date('2026-03-02T14:15:00Z'),
        finishedAt: new Date('2026-03-02T14:15:01Z'),
        error: 'connect ECONNREFUSED 10.0.0.7:443',
      },
      { _id: 'rcn_stuck', status: 'running', startedAt: new Date('2026-03-02T14:30:00Z') },
      { _id: 'rcn_now', status: 'running', startedAt: new Date('2026-03-02T15:29:00Z') },
    ]);

    const billing = await (await signedIn(merchant)).get('/merchant/billing');

    expect(billing.status).toBe(200);
    expect(billing.text).toContain('Stripe event reconciliation (whole installation)');
    const rows = [...billing.text.matchAll(/<tr class="run-(\w+)">\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<\/td>/g)].map((m) =>
      m.slice(1).map((c) => c.trim()),
    );
    expect(rows.map((row) => row[0])).toEqual(['running', 'failed', 'failed', 'ok']);
    expect(rows[3]![1]).toBe('Monday, March 2 at 3:00 PM GMT+1'); // 14:00 UTC is 15:00 in Berlin
    expect(rows[3]![3]).toBe('12 events checked, 2 missing: recovered and processed');
    expect(rows[2]![3]).toMatch(/^Failed: Stripe could not be reached/);
    expect(rows[1]![3]).toMatch(/^Stopped before it finished/);
    expect(rows[0]![3]).toBe('Running now');
    expect(billing.text).not.toContain('10.0.0.7');
  });

  test('when nobody is signed in, then both pages send to sign-in', async () => {
    for (const path of ['/merchant', '/merchant/billing']) {
      const res = await pageClient(app).get(path);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/merchant/sign-in?next=${encodeURIComponent(path)}`);
    }
  });
});
