import request from 'supertest';
import { projectRetentionMetrics } from '../../../src/analytics/retention.listeners';
import type { Fact } from '../../../src/events/fact.model';
import { FakeClock } from '../../../src/shared/time';
import type { StripeGateway } from '../../../src/stripe/stripe-gateway';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { driveAnalyticsHistory } from '../../helpers/analytics-history';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/**
 * The analytics pages after the overview — cohorts, LTV, why they leave, dunning, box service — and the
 * movements chart's bar links: each page's figures are the API's report for the same query, written the
 * merchant's way (en-US here: no Accept-Language).
 */
describe("the merchant's cohort, LTV, leaving, dunning and box-service pages", () => {
  useTestDatabase();
  const clock = new FakeClock('2026-01-02T15:00:00Z');
  const testApp = buildTestApp({ clock });
  const { app } = testApp;
  let merchant: TestMerchant;
  let other: TestMerchant;
  let history: Awaited<ReturnType<typeof driveAnalyticsHistory>>;

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
  const errorBeside = (html: string, field: string) => new RegExp(`<p class="field-error" id="${field}-error">([^<]*)</p>`).exec(html)?.[1];
  const api = async (path: string) => (await request(app).get(`/api/v1/metrics/${path}`).set(merchant.auth).expect(200)).body;
  const usd = (minor: number | null) => (minor === null ? '—' : new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(minor / 100));
  const pct = (rate: number | null) => (rate === null ? '—' : new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 2 }).format(rate));
  const month = (m: string) => new Intl.DateTimeFormat('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${m}-01T00:00:00Z`));
  const QUERY = 'from=2026-01&to=2026-04&currency=USD';

  beforeAll(async () => {
    merchant = await createMerchant({ name: 'Numbers', timezone: 'America/New_York', defaultCurrency: 'USD' }, clock);
    other = await createMerchant({ name: 'Elsewhere', timezone: 'Europe/Paris', defaultCurrency: 'EUR' }, clock);
    history = await driveAnalyticsHistory(testApp, merchant);
    await paidBoxesAndADunning();
  }, 120_000);

  /**
   * The history's boxes paid, a dunning and a save, as the facts the retention listener follows (the history's
   * Checkout-less subscriptions record no `box.paid` of their own), so that the cohorts, LTV, saves and dunning
   * have figures: USD cohorts January (S1, S2), February (S4) and March (S5); S5's April payment fails once and
   * is recovered two days later; S1 is shown and takes a save offer on February 20.
   */
  async function paidBoxesAndADunning() {
    let n = 0;
    const fact = (subjectType: 'box' | 'subscription', sub: string, type: string, at: string, data: Record<string, unknown>) =>
      ({
        _id: `fact_pages_${(n += 1)}`,
        merchantId: merchant.id,
        type,
        subjectType,
        subjectId: subjectType === 'box' ? `ord_pages_${n}` : sub,
        seq: 1000 + n,
        at: new Date(at),
        actor: { kind: 'system' },
        data,
        subscriptionId: sub,
        relayedAt: new Date(at),
        done: [],
        state: 'succeeded',
        attempts: 1,
      }) as unknown as Fact;
    const { S1, S2, S4, S5 } = history.subs as Record<'S1' | 'S2' | 'S4' | 'S5', string>;
    const paid = (sub: string, day: string, amountPaidMinor: number) =>
      fact('box', sub, 'box.paid', `${day}T15:00:00Z`, { cycleKey: day.slice(0, 7), amountPaidMinor, currency: 'USD' });
    const facts = [
      ...['2026-01-05', '2026-02-05', '2026-03-05', '2026-04-05'].map((d) => paid(S1, d, d < '2026-02-03' ? 2600 : 4000)),
      ...['2026-01-07', '2026-02-07', '2026-03-07'].map((d) => paid(S2, d, 4000)),
      ...['2026-02-15', '2026-03-15'].map((d) => paid(S4, d, 2600)),
      paid(S5, '2026-03-12', 2600),
      fact('subscription', S1, 'subscription.save_offer_shown', '2026-02-20T15:00:00Z', { type: 'discount', reason: 'too_expensive' }),
      fact('subscription', S1, 'subscription.save_offer_accepted', '2026-02-20T15:01:00Z', { type: 'discount' }),
      fact('subscription', S5, 'subscription.payment_failed', '2026-04-12T15:00:00Z', { stripeInvoiceId: 'in_s5', attempt: 1, startsDunning: true }),
      fact('subscription', S5, 'subscription.recovered', '2026-04-14T15:00:00Z', {
        by: 'payment',
        stripeInvoiceId: 'in_s5',
        cycleKey: '2026-04',
        amountPaidMinor: 2600,
        attempts: 1,
      }),
      paid(S5, '2026-04-14', 2600),
    ];
    for (const f of facts) await projectRetentionMetrics.run({ clock: testApp.clock, logger: silentLogger, stripe: {} as StripeGateway }, f);
  }

  test('when nobody is signed in, then every new page and CSV sends to sign-in', async () => {
    for (const path of [
      '/merchant/analytics/cohorts',
      '/merchant/analytics/ltv',
      '/merchant/analytics/leaving',
      '/merchant/analytics/dunning',
      '/merchant/analytics/box-service',
      '/merchant/analytics/cohorts.csv',
      '/merchant/analytics/gifts.csv',
    ]) {
      const res = await pageClient(app).get(path);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/merchant/sign-in?next=${encodeURIComponent(path)}`);
    }
  });

  test('when the merchant opens any analytics page, then the sub-navigation lists them all, keeping the chosen months, the current one marked', async () => {
    const browser = await signedIn(merchant);
    for (const [path, label] of [
      ['/merchant/analytics', 'MRR, subscribers and churn'],
      ['/merchant/analytics/cohorts', 'Cohorts'],
      ['/merchant/analytics/ltv', 'Lifetime value'],
      ['/merchant/analytics/leaving', 'Why they leave'],
      ['/merchant/analytics/dunning', 'Dunning'],
      ['/merchant/analytics/box-service', 'Box service'],
    ] as const) {
      const res = await browser.get(`${path}?from=2026-01&to=2026-04`);
      expect(res.status).toBe(200);
      const nav = /<nav aria-label="Analytics" class="analytics-nav">([\s\S]*?)<\/nav>/.exec(res.text)?.[1] ?? '';
      expect([...nav.matchAll(/aria-current="page">([^<]+)</g)].map((m) => m[1])).toEqual([label]);
      expect(nav).toContain(
        path.endsWith('box-service')
          ? '<a href="/merchant/analytics/cohorts?from=2026-01&amp;to=2026-04"'
          : '<a href="/merchant/analytics/cohorts?from=2026-01&amp;to=2026-04&amp;currency=USD"',
      );
      expect(nav).toContain('<a href="/merchant/analytics/box-service?from=2026-01&amp;to=2026-04"');
    }
  });

  test('when the MRR movements are drawn, then each month’s bars are a link to its drill-down with an accessible name', async () => {
    const browser = await signedIn(merchant);
    const html = (await browser.get('/merchant/analytics?from=2026-01&to=2026-04&currency=USD')).text;
    const chart = /<svg [^>]*id="chart-movements"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    const links = [...chart.matchAll(/<a class="bar-link" href="([^"]+)" aria-label="([^"]+)">(<rect [^>]*>)/g)].map((m) => [m[1], m[2]]);
    // January's new MRR, February's, March's and April's movements: every month moved something.
    expect(links).toEqual(
      ['2026-01', '2026-02', '2026-03', '2026-04'].map((m) => [
        `/merchant/analytics/movements/${m}?currency=USD`,
        `${month(m)}: the MRR movements and the facts behind them`,
      ]),
    );
    // A link is not hidden inside an image: the chart is a named group, its axes hidden.
    expect(chart).toMatch(/^<svg [^>]*role="group" aria-labelledby="chart-movements-title chart-movements-desc"/);
    const followed = await browser.get(links[1]![0]!);
    expect(followed.status).toBe(200);
    expect(followed.text).toContain('MRR movements, February 2026');
  });

  test('when the merchant opens Cohorts, then each cohort’s grid of subscribers and revenue retained is the API’s, the number written in each shaded cell', async () => {
    const report = await api(`cohorts?${QUERY}`);
    const cohorts = report.currencies.find((c: { currency: string }) => c.currency === 'USD').cohorts;
    expect(cohorts.length).toBeGreaterThan(0);
    const browser = await signedIn(merchant);
    const res = await browser.get(`/merchant/analytics/cohorts?${QUERY}`);
    expect(res.status).toBe(200);
    for (const cohort of cohorts) {
      const cells = cohort.months
        .map(
          (m: { active: number; activeRate: number }) =>
            `<td class="shade-[0-5]"><span class="cell-count">${m.active}</span> <span class="cell-share">${pct(m.activeRate)}</span></td>`,
        )
        .join('');
      expect(res.text).toMatch(new RegExp(`<th scope="row">${month(cohort.cohort)}</th><td>${cohort.size}</td>${cells}`));
      const first = cohort.months[0].revenueMinor;
      const revenue = cohort.months
        .map(
          (m: { revenueMinor: number }) =>
            `<td class="shade-[0-5]"><span class="cell-count">${usd(m.revenueMinor).replace('$', '\\$')}</span> <span class="cell-share">${first > 0 ? pct(Math.round((m.revenueMinor / first) * 10000) / 10000) : '—'}</span></td>`,
        )
        .join('');
      expect(res.text).toMatch(new RegExp(`<th scope="row">${month(cohort.cohort)}</th><td>${cohort.size}</td>${revenue}`));
    }
    expect(res.text).toContain(`<a href="/merchant/analytics/cohorts.csv?from=2026-01&amp;to=2026-04&amp;currency=USD" download>`);
    expect(res.text).toContain('A subscription’s cohort is the month of its first paid box');
    expect(res.text).toContain('<div class="table-scroll cohort-scroll" tabindex="0" role="region"');
  });

  test('when the merchant opens LTV, then predicted LTV per month with its inputs and method, and realised LTV per cohort, are the API’s', async () => {
    const report = await api(`ltv?${QUERY}`);
    const entry = report.currencies.find((c: { currency: string }) => c.currency === 'USD');
    const browser = await signedIn(merchant);
    const res = await browser.get(`/merchant/analytics/ltv?${QUERY}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(`<strong>Method:</strong> ${report.method.replace(/'/g, '&#39;')}`);
    for (const m of entry.months) {
      expect(res.text).toContain(
        `<th scope="row">${month(m.month)}</th><td>${usd(m.mrrMinor)}</td><td>${m.subscribers}</td><td>${usd(m.arpaMinor)}</td><td>${m.trailingCancelled}</td><td>${m.trailingSubscribersAtStart}</td><td>${pct(m.trailingChurnRate)}</td><td>${m.predictedLtvMinor === null ? 'None' : usd(m.predictedLtvMinor)}</td>`,
      );
    }
    // March lost S2 of the subscribers at its start: a prediction exists.
    expect(entry.months.some((m: { predictedLtvMinor: number | null }) => m.predictedLtvMinor !== null)).toBe(true);
    expect(entry.cohorts.length).toBeGreaterThan(0);
    for (const c of entry.cohorts)
      expect(res.text).toContain(
        `<th scope="row">${month(c.cohort)}</th><td>${c.size}</td><td>${usd(c.revenueToDateMinor)}</td><td>${usd(c.realisedLtvMinor)}</td>`,
      );
    expect(res.text).toMatch(/<svg [^>]*id="chart-ltv"[^>]*role="img"/);
  });

  test('when the merchant opens Why they leave, then cancellations by reason and the saves are the API’s', async () => {
    const report = await api(`cancellations?${QUERY}`);
    const entry = report.currencies.find((c: { currency: string }) => c.currency === 'USD');
    const browser = await signedIn(merchant);
    const res = await browser.get(`/merchant/analytics/leaving?${QUERY}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<th scope="col">Involuntary</th><th scope="col">Too expensive</th></tr>');
    for (const m of entry.months) {
      expect(res.text).toContain(
        `<th scope="row">${month(m.month)}</th><td>${m.cancelled}</td><td>${m.voluntary}</td><td>${m.involuntary}</td><td>${m.reasons.too_expensive ?? 0}</td></tr>`,
      );
      expect(res.text).toContain(
        `<th scope="row">${month(m.month)}</th><td>${m.saveOffersShown}</td><td>${m.saveOffersAccepted}</td><td>${m.saved}</td><td>${m.savedMatured}</td><td>${m.savedStillActiveAfter90Days}</td>`,
      );
    }
    expect(entry.months.find((m: { month: string }) => m.month === '2026-03').reasons).toEqual({ too_expensive: 1 });
    expect(entry.months.find((m: { month: string }) => m.month === '2026-02')).toMatchObject({ saveOffersShown: 1, saveOffersAccepted: 1, saved: 1 });
    expect(res.text).toMatch(/<svg [^>]*id="chart-reasons"[^>]*role="img"/);
    expect(res.text).toContain('<a href="/merchant/analytics/cancellations.csv?from=2026-01&amp;to=2026-04&amp;currency=USD" download>');
  });

  test('when the merchant opens Dunning, then the recovery rate by month and by attempt are the API’s', async () => {
    const report = await api(`dunning?${QUERY}`);
    const entry = report.currencies.find((c: { currency: string }) => c.currency === 'USD');
    const browser = await signedIn(merchant);
    const res = await browser.get(`/merchant/analytics/dunning?${QUERY}`);
    expect(res.status).toBe(200);
    for (const m of entry.months) {
      expect(res.text).toContain(
        `<th scope="row">${month(m.month)}</th><td>${m.started}</td><td>${m.failedAttempts}</td><td>${m.recovered}</td><td>${m.endedUnpaid}</td><td>${pct(m.recoveryRate)}</td><td>${pct(m.resolvedRecoveryRate)}</td></tr>`,
      );
      expect(res.text).toContain(`<th scope="row">${month(m.month)}</th><td>${m.recoveredByAttempt['1'] ?? 0}</td></tr>`);
    }
    // S5's April: one started, one recovered after one failure.
    expect(entry.months.find((m: { month: string }) => m.month === '2026-04')).toMatchObject({
      started: 1,
      recovered: 1,
      recoveryRate: 1,
      recoveredByAttempt: { '1': 1 },
    });
    expect(res.text).toContain('<th scope="col">After 1 failure</th>');
    expect(res.text).toMatch(/<svg [^>]*id="chart-recovery"[^>]*role="img"/);
    expect(res.text).toMatch(/<svg [^>]*id="chart-recovery-attempts"[^>]*role="img"/);

    // Before anything failed: said plainly, no table.
    const quiet = await browser.get('/merchant/analytics/dunning?from=2026-01&to=2026-03&currency=USD');
    expect(quiet.text).toContain('No payment failed in USD in these months: nothing to recover.');
    expect(quiet.text).not.toContain('<table');
  });

  test('when the merchant opens Box service, then its months, SKUs, gifts and liability are the API’s for the same months', async () => {
    const months = await api('box-service?from=2026-01&to=2026-04');
    const skus = await api('box-service/skus?from=2026-01&to=2026-04');
    const gifts = await api('box-service/gifts?from=2026-01&to=2026-04');
    const browser = await signedIn(merchant);
    const res = await browser.get('/merchant/analytics/box-service?from=2026-01&to=2026-04');
    expect(res.status).toBe(200);
    const d = (v: number | null) => (v === null ? '—' : v.toLocaleString('en-US', { maximumFractionDigits: 2 }));
    // Subscriptions were made each month of the history: the first-box table has them.
    expect(months.months.some((m: { signedUp: number }) => m.signedUp > 0)).toBe(true);
    for (const m of months.months) {
      expect(res.text).toContain(
        `<th scope="row">${month(m.month)}</th><td>${m.shipped}</td><td>${m.shippedOnTime}</td><td>${m.shippedLate}</td><td>${pct(m.onTimeRate)}</td><td>${d(m.averageDaysLate)}</td></tr>`,
      );
      expect(res.text).toContain(
        `<th scope="row">${month(m.month)}</th><td>${m.signedUp}</td><td>${m.firstBoxShipped}</td><td>${d(m.medianDaysToFirstBox)}</td><td>${d(m.p90DaysToFirstBox)}</td></tr>`,
      );
      expect(res.text).toContain(
        `<th scope="row">${month(m.month)}</th><td>${m.delivered}</td><td>${m.rated}</td><td>${pct(m.ratingResponseRate)}</td><td>${d(m.averageRating)}</td></tr>`,
      );
    }
    for (const s of skus.skus) expect(res.text).toContain(`<th scope="row">${s.sku}</th><td>${s.requestedUnits}</td>`);
    if (skus.skus.length === 0) expect(res.text).toContain('No box was built at its cut-off in these months.');
    if (gifts.campaigns.length === 0) expect(res.text).toContain('No gift was granted or given back in these months.');
    expect(res.text).toContain('<a href="/merchant/analytics/box-service.csv?from=2026-01&amp;to=2026-04" download>');
  });

  test('when a store has nothing, then each page says so plainly, and another store’s figures and plans never show', async () => {
    const browser = await signedIn(other);
    for (const [path, empty] of [
      ['/merchant/analytics/cohorts', 'No subscriptions yet: figures appear after the first paid box.'],
      ['/merchant/analytics/ltv', 'No subscriptions yet: figures appear after the first paid box.'],
      ['/merchant/analytics/leaving', 'No subscriptions yet: figures appear after the first paid box.'],
      ['/merchant/analytics/dunning', 'No subscriptions yet: figures appear after the first paid box.'],
      ['/merchant/analytics/box-service', 'No boxes built, shipped or rated in these months'],
    ] as const) {
      const res = await browser.get(`${path}?from=2026-01&to=2026-04`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('<p class="notice empty-state">');
      expect(res.text).toContain(empty);
      expect(res.text).not.toContain('<table');
      expect(res.text).not.toContain('<svg');
      if (path !== '/merchant/analytics/box-service') {
        const theirs = await browser.get(`${path}?plan=${history.plans.A.id}`);
        expect(theirs.status).toBe(400);
        expect(errorBeside(theirs.text, 'plan')).toBe('Choose a plan from the list');
      }
    }
    const csv = await browser.agent.get('/merchant/analytics/cancellations.csv?from=2026-01&to=2026-04');
    expect(csv.text).toBe('currency,month\r\n');
  });

  test.each([
    ['a month that does not exist', 'from=2026-13', 'from', 'Type a month as YYYY-MM, e.g. 2026-03'],
    ['a range that ends before it starts', 'from=2026-04&to=2026-01', 'from', 'Choose a first month no later than the last one'],
    ['a range longer than 36 months', 'from=2020-01&to=2026-04', 'from', 'Choose at most 36 months'],
    ['a currency the store does not sell in', 'currency=JPY', 'currency', 'Choose a currency from the list'],
    ['a plan that does not exist', 'plan=plan_nope', 'plan', 'Choose a plan from the list'],
    ['a repeated field', 'to=2026-01&to=2026-02', 'to', 'Type a month as YYYY-MM'],
  ])('when the choice has %s, then each page and its CSV answer 400 with the error beside the field', async (_what, query, field, message) => {
    const browser = await signedIn(merchant);
    const pages = ['cohorts', 'ltv', 'leaving', 'dunning', 'cohorts.csv', 'ltv.csv', 'cancellations.csv', 'dunning.csv'];
    // The box service takes months only: its range is checked like the others'.
    if (field === 'from' || field === 'to') pages.push('box-service', 'box-service.csv', 'box-service-skus.csv', 'gifts.csv');
    for (const page of pages) {
      const res = await browser.get(`/merchant/analytics/${page}?${query}`);
      expect([page, res.status]).toEqual([page, 400]);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(errorBeside(res.text, field)).toBe(message);
      expect(res.text).not.toContain('<svg');
    }
  });

  test('when the box service is asked for a currency or a plan, or the liability for months, then it answers 400, not a 5xx', async () => {
    const browser = await signedIn(merchant);
    for (const path of ['/merchant/analytics/box-service?currency=USD', '/merchant/analytics/box-service?plan=plan_x', '/merchant/analytics/cohorts?bogus=1']) {
      const res = await browser.get(path);
      expect(res.status).toBe(400);
      expect(res.text).toContain('This address has fields the page does not know');
    }
    expect((await browser.agent.get('/merchant/analytics/loyalty-liability.csv?from=2026-01')).status).toBe(400);
  });

  test.each([
    ['cohorts', 'cohorts'],
    ['ltv', 'ltv'],
    ['cancellations', 'cancellations'],
    ['dunning', 'dunning'],
    ['box-service', 'box-service'],
    ['box-service-skus', 'box-service/skus'],
    ['gifts', 'box-service/gifts'],
    ['loyalty-liability', 'box-service/loyalty-liability'],
  ])('when %s is downloaded as CSV from the page, then it is the API’s CSV byte for byte', async (file, family) => {
    const browser = await signedIn(merchant);
    const box = family.startsWith('box-service');
    const queries = family.endsWith('loyalty-liability') ? [''] : box ? ['from=2026-01&to=2026-04', ''] : ['from=2026-01&to=2026-04', QUERY, ''];
    for (const query of queries) {
      const page = await browser.agent.get(`/merchant/analytics/${file}.csv${query ? `?${query}` : ''}`);
      const apiCsv = await request(app)
        .get(`/api/v1/metrics/${family}?${query}${query ? '&' : ''}format=csv`)
        .set(merchant.auth)
        .expect(200);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe(apiCsv.headers['content-type']);
      expect(page.headers['content-disposition']).toBe(apiCsv.headers['content-disposition']);
      expect(page.text).toBe(apiCsv.text);
    }
  });
});
