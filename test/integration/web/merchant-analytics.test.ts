import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { driveAnalyticsHistory } from '../../helpers/analytics-history';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** The merchant's analytics pages: the metrics' services behind a session, as charts, tables and CSV. */
describe("the merchant's analytics pages", () => {
  useTestDatabase();
  const clock = new FakeClock('2026-01-02T15:00:00Z');
  const testApp = buildTestApp({ clock });
  const { app } = testApp;
  let merchant: TestMerchant;
  let other: TestMerchant;
  let history: Awaited<ReturnType<typeof driveAnalyticsHistory>>;

  // Signed in once per merchant (sign-in is rate limited), as one browser would stay signed in.
  const sessions = new Map<string, ReturnType<typeof pageClient>>();
  async function signedIn(who: TestMerchant) {
    const known = sessions.get(who.email);
    if (known) return known;
    const browser = pageClient(app);
    sessions.set(who.email, browser);
    await browser.get('/merchant/sign-in');
    expect((await browser.post('/merchant/sign-in', { email: who.email, password: who.password, next: '/merchant' })).status).toBe(303);
    return browser;
  }
  /** The text of the field error beside a field, if any. */
  const errorBeside = (html: string, field: string) => new RegExp(`<p class="field-error" id="${field}-error">([^<]*)</p>`).exec(html)?.[1];

  beforeAll(async () => {
    merchant = await createMerchant({ name: 'Numbers', timezone: 'America/New_York', defaultCurrency: 'USD' }, clock);
    other = await createMerchant({ name: 'Elsewhere', timezone: 'Europe/Paris', defaultCurrency: 'EUR' }, clock);
    history = await driveAnalyticsHistory(testApp, merchant);
  }, 120_000);

  test('when nobody is signed in, then every analytics page sends to sign-in and back', async () => {
    for (const path of ['/merchant/analytics', '/merchant/analytics/mrr.csv', '/merchant/analytics/movements/2026-02?currency=USD']) {
      const res = await pageClient(app).get(path);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/merchant/sign-in?next=${encodeURIComponent(path)}`);
    }
  });

  test('when the merchant opens analytics, then the last 12 months in their time zone show MRR, movements, subscribers and churn in their default currency, each chart an image with its table and definitions', async () => {
    const browser = await signedIn(merchant);
    const res = await browser.get('/merchant/analytics');
    expect(res.status).toBe(200);
    const html = res.text;
    expect(html).toContain('<a href="/merchant/analytics">Analytics</a>');
    expect(html).toMatch(/<input id="from" name="from" type="month" value="2025-05"/);
    expect(html).toMatch(/<input id="to" name="to" type="month" value="2026-04"/);
    expect(html).toContain('<strong class="number">$66.00</strong> MRR now');
    expect(html).toContain('Monthly recurring revenue: each billed subscription’s box price per 30 days');
    // Six charts, each named by its title and description: images, but for the movements, whose bars are links (a group).
    const charts = [...html.matchAll(/<svg [^>]*class="chart" id="([^"]+)"[^>]*role="(img|group)" aria-labelledby="\1-title \1-desc"/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(charts).toEqual([
      'chart-mrr img',
      'chart-movements group',
      'chart-subscribers img',
      'chart-subscriber-flow img',
      'chart-churn-rates img',
      'chart-churn-causes img',
    ]);
    // The table behind the movements (kinds that moved nothing are left out; S1's move from plan A to plan B
    // cancels out across all plans): February's new and expansion, March's churn, April's pause; each month links down.
    expect(html).toContain(
      '<th scope="col">At the start</th><th scope="col">New</th><th scope="col">Expansion</th><th scope="col">Churn</th><th scope="col">Paused</th><th scope="col">Net change</th>',
    );
    expect(html).toContain(
      '<a href="/merchant/analytics/movements/2026-02?currency=USD">February 2026</a></th><td>$66.00</td><td>$26.00</td><td>$14.00</td><td>$0.00</td><td>$0.00</td><td>$40.00</td><td>$106.00</td>',
    );
    expect(html).toContain('March 2026</a></th><td>$106.00</td><td>$26.00</td><td>$0.00</td><td>-$40.00</td><td>$0.00</td><td>-$14.00</td><td>$92.00</td>');
    expect(html).toContain('April 2026</a></th><td>$92.00</td><td>$0.00</td><td>$0.00</td><td>$0.00</td><td>-$26.00</td><td>-$26.00</td><td>$66.00</td>');
    expect(html).not.toContain('Moved in / out');
    expect(html).toContain('<a href="/merchant/analytics/mrr.csv?from=2025-05&amp;to=2026-04&amp;currency=USD" download>');
    // Subscribers now by status, and the currency picker (the store sells in USD and EUR): never a sum of both.
    expect(html).toMatch(/<dt>Active now<\/dt><dd><strong class="number">2<\/strong>/);
    expect(html).toMatch(/<dt>Paused now<\/dt><dd><strong class="number">1<\/strong>/);
    expect(html).toMatch(/<select id="currency" name="currency"[^>]*>\s*<option value="EUR">EUR<\/option><option value="USD" selected>USD<\/option>/);
    expect(html).not.toContain('€');
    // Churn in March: S2 of 3 subscribers at the start; $40.00 of $106.00 (37.74%).
    expect(html).toContain('<th scope="row">March 2026</th><td>3</td><td>1</td><td>1</td><td>0</td><td>0</td><td>33.33%</td></tr>');
    expect(html).toContain('<th scope="row">March 2026</th><td>$106.00</td><td>$40.00</td><td>$0.00</td><td>37.74%</td><td>37.74%</td></tr>');
    // February grew from its own subscribers: net MRR churn is negative ($14.00 expansion of $66.00).
    expect(html).toContain('<th scope="row">February 2026</th><td>$66.00</td><td>$0.00</td><td>$0.00</td><td>0%</td><td>-21.21%</td></tr>');

    const euros = await browser.get('/merchant/analytics?from=2026-01&to=2026-04&currency=EUR');
    expect(euros.status).toBe(200);
    expect(euros.text).toContain('<strong class="number">€30.00</strong> MRR now');
    expect(euros.text).not.toContain('$');

    const planA = await browser.get(`/merchant/analytics?from=2026-01&to=2026-04&currency=USD&plan=${history.plans.A.id}`);
    expect(planA.status).toBe(200);
    // Plan A alone: S1 moved out to plan B in February (a transfer, shown as its own columns).
    expect(planA.text).toContain('<th scope="col">Moved out</th>');
    expect(planA.text).toContain('<strong class="number">$26.00</strong> MRR now');
  });

  test('when a store has no subscriptions, then the page says so instead of drawing zeros, and another store’s figures never show', async () => {
    const browser = await signedIn(other);
    const res = await browser.get('/merchant/analytics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('No subscriptions yet: figures appear after the first paid box.');
    expect(res.text).not.toContain('<svg');
    expect(res.text).not.toContain('<table');
    // Another store's plan is not a choice here; its months hold nothing of the other store.
    const theirPlan = await browser.get(`/merchant/analytics?plan=${history.plans.A.id}`);
    expect(theirPlan.status).toBe(400);
    expect(errorBeside(theirPlan.text, 'plan')).toBe('Choose a plan from the list');
    const month = await browser.get('/merchant/analytics/movements/2026-02?currency=USD');
    expect(month.status).toBe(200);
    expect(month.text).toContain('Nothing moved MRR in USD this month.');
    for (const id of Object.values(history.subs)) expect(month.text).not.toContain(id);
    const csv = await browser.get('/merchant/analytics/mrr.csv?from=2026-01&to=2026-04');
    expect(csv.text).toBe('currency,month\r\n');
  });

  test('when the chosen months are before anything happened, then the page says there are no figures instead of drawing zeros', async () => {
    const browser = await signedIn(merchant);
    const res = await browser.get('/merchant/analytics?from=2025-01&to=2025-06');
    expect(res.status).toBe(200);
    expect(res.text).toContain('No figures in USD for these months: nothing was billed, started or cancelled. Choose other months or another currency.');
    expect(res.text).not.toContain('<svg');
  });

  test.each([
    ['a month that does not exist', 'from=2026-13', 'from', 'Type a month as YYYY-MM, e.g. 2026-03'],
    ['a day instead of a month', 'to=2026-03-01', 'to', 'Type a month as YYYY-MM, e.g. 2026-03'],
    ['a range that ends before it starts', 'from=2026-04&to=2026-01', 'from', 'Choose a first month no later than the last one'],
    ['a range longer than 36 months', 'from=2020-01&to=2026-04', 'from', 'Choose at most 36 months'],
    ['a currency in lower case', 'currency=usd', 'currency', 'Choose a currency from the list'],
    ['a currency the store does not sell in', 'currency=JPY', 'currency', 'Choose a currency from the list'],
    ['a plan that does not exist', 'plan=plan_nope', 'plan', 'Choose a plan from the list'],
    ['a repeated field', 'from=2026-01&from=2026-02', 'from', 'Type a month as YYYY-MM'],
  ])('when the choice has %s, then the form answers 400 with the error beside the field and what was typed', async (_what, query, field, message) => {
    const browser = await signedIn(merchant);
    for (const path of ['/merchant/analytics', '/merchant/analytics/churn.csv']) {
      const res = await browser.get(`${path}?${query}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(errorBeside(res.text, field)).toBe(message);
      expect(res.text).toMatch(new RegExp(`id="${field}"[^>]*aria-invalid="true"|id="${field}"[^>]*aria-describedby="[^"]*${field}-error`));
      expect(res.text).not.toContain('<svg');
    }
  });

  test('when the address has a field the page does not know, then it answers 400 with the form', async () => {
    const browser = await signedIn(merchant);
    const res = await browser.get('/merchant/analytics?bogus=1');
    expect(res.status).toBe(400);
    expect(res.text).toContain('This address has fields the page does not know');
  });

  test.each(['mrr', 'subscribers', 'churn'])('when %s is downloaded as CSV from the page, then it is the API’s CSV byte for byte', async (family) => {
    const browser = await signedIn(merchant);
    for (const query of [
      'from=2026-01&to=2026-04',
      'from=2026-01&to=2026-04&currency=USD',
      `from=2026-02&to=2026-03&currency=USD&plan=${history.plans.B.id}`,
      '',
    ]) {
      const page = await browser.agent.get(`/merchant/analytics/${family}.csv${query ? `?${query}` : ''}`);
      const api = await request(app)
        .get(`/api/v1/metrics/${family}?${query}${query ? '&' : ''}format=csv`)
        .set(merchant.auth)
        .expect(200);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe(api.headers['content-type']);
      expect(page.headers['content-disposition']).toBe(api.headers['content-disposition']);
      expect(page.text).toBe(api.text);
      expect(page.text.split('\r\n').length).toBeGreaterThan(2);
    }
  });

  test('when a month of the waterfall is opened, then it shows the month’s steps and, day by day, the MRR moved and the facts behind it', async () => {
    const browser = await signedIn(merchant);
    const res = await browser.get('/merchant/analytics/movements/2026-02?currency=USD');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/<svg [^>]*id="chart-waterfall"[^>]*role="img"/);
    expect(res.text).toContain('<title>Start: $66.00</title>');
    expect(res.text).toContain('<title>Expansion: +$14.00</title>');
    expect(res.text).toContain('<title>End: $106.00</title>');
    expect(res.text).toContain('<th scope="row">February 3, 2026</th>');
    expect(res.text).toContain('Expansion +$14.00');
    expect(res.text).toMatch(new RegExp(`<a href="/merchant/subscribers/${history.subs.S1}">[^<]+</a>: what comes in the boxes was changed`));
    expect(res.text).toMatch(new RegExp(`<a href="/merchant/subscribers/${history.subs.S4}">[^<]+</a>: the subscription was made`));
    expect(res.text).not.toContain(history.subs.S2);
    for (const bad of ['/merchant/analytics/movements/2026-13?currency=USD', '/merchant/analytics/movements/2026-02'])
      expect((await browser.get(bad)).status).toBe(404);
  });
});
