import request from 'supertest';
import { applyFactToAnalytics, ANALYTICS_FACTS, rebuildAnalytics } from '../../../src/analytics/analytics-projection.service';
import { MetricBucketModel, SubscriptionMrrModel } from '../../../src/analytics/analytics.model';
import { projectSubscriptionMetrics } from '../../../src/analytics/analytics.listeners';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { factsAbout, TEST_LINKS } from '../../helpers/facts';
import { renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp, type TestApp } from '../../helpers/test-app';
import { documentsReadWhile, projectionDocuments, projectThroughListeners } from '../../helpers/analytics-projections';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * A store's first quarter, written by hand and driven through the real API, Stripe's events and the fact
 * listeners on a fake clock; every figure the metrics answer is worked out below, by hand.
 *
 * The store is in New York (every day and month below is New York's). Prices per box, and per 30 days (MRR):
 *   plan A (USD)  month-1 26.00 → 2600      week-2 24.00 → 2400 × 30 / 14 = 5142.86 → 5143
 *   plan B (USD)  month-1 40.00 → 4000
 *   plan T (USD)  month-1 20.00, 14-day trial → 0 while trialing
 *   plan E (EUR)  month-1 30.00 → 3000      week-2 15.00 → 1500 × 30 / 14 = 3214.29 → 3214
 *
 * January   S1 A m (Jan 5) +2600 new · S2 A w2 (Jan 6) +5143 new · S3 B m (Jan 7) +4000 new · S4 A m (Jan 8) +2600 new
 *           S5 E m (Jan 10) +3000 new € · S6 E w2 (Jan 12) +3214 new €
 *           S7 A m (Jan 14) +2600 new, cancelled Jan 20 (voluntary): −2600 churn, started and ended in January
 * February  S6 cadence w2 → m (Feb 2): 3214 → 3000, −214 contraction €
 *           S1 swap A → B (Feb 3): 2600 → 4000, +1400 expansion (2600 moves from plan A to plan B)
 *           S3 swap B → A (Feb 4): 4000 → 2600, −1400 contraction (4000 moves from plan B to plan A)
 *           S4 paused (Feb 10): −2600 paused (not churn)
 *           S2 payment fails (Feb 12): past due, still 5143; Stripe gives up (Feb 20): cancelled, −5143 churn (involuntary)
 *           S8 A m (Feb 15) +2600 new
 *           S9 A m (Feb 16), the shopper of S7 back: +2600 reactivation
 *           S5 cancelled at 2026-03-01T03:00Z = Feb 28 22:00 in New York: −3000 churn € (voluntary), in February
 * March     S8 set to end at period end (Mar 3), then kept (Mar 4): no movement
 *           S4 resumed (Mar 5): +2600 resumed
 *           S11 E m (Mar 10) +3000 new €
 *           S12 T m (Mar 12): trialing, a new subscriber with no MRR yet
 *           S13 A m (Mar 15) +2600 new; paused (Mar 18): −2600 paused
 *           S3 payment fails (Mar 20): past due, still 2600
 *           S1 cancelled (Mar 25, voluntary): −4000 churn
 */
describe('analytics: a hand-written quarter of a store', () => {
  useTestDatabase();

  let testApp: TestApp;
  let merchant: TestMerchant;
  let other: TestMerchant;
  let driver: ReturnType<typeof renewalDriver>;
  const plans: Record<'A' | 'B' | 'T' | 'E', { id: string; variantId: string }> = {} as never;
  const subs: Record<string, { id: string; stripeId: string; customerId: string }> = {};

  const api = () => request(testApp.app);
  const at = (iso: string) => testApp.clock.set(iso);

  async function post(path: string, body: Record<string, unknown> = {}): Promise<void> {
    const res = await api().post(`/api/v1${path}`).set(merchant.auth).send(body);
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    await driver.followFacts();
  }

  async function subscribe(name: string, plan: keyof typeof plans, cadence: string, customerId?: string): Promise<void> {
    const customer = customerId ?? (await api().post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body.id;
    const res = await api()
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: customer, planId: plans[plan].id, variantId: plans[plan].variantId, cadence, paymentMethodId: 'pm_card_visa' });
    if (res.status !== 201) throw new Error(`subscribe ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    subs[name] = { id: res.body.id, stripeId: res.body.stripeSubscriptionId, customerId: customer };
    await driver.followFacts();
  }

  const status = async (name: string) => (await api().get(`/api/v1/subscriptions/${subs[name]!.id}`).set(merchant.auth).expect(200)).body.status;
  const metrics = async (path: string, query = 'from=2026-01&to=2026-03') =>
    (await api().get(`/api/v1/metrics/${path}?${query}`).set(merchant.auth).expect(200)).body;

  beforeAll(async () => {
    const clock = new FakeClock('2026-01-02T15:00:00Z');
    testApp = buildTestApp({ clock });
    driver = renewalDriver(testApp, createStripeGateway(testStripe()));
    merchant = await createMerchant({ timezone: 'America/New_York', defaultCurrency: 'USD' }, clock);
    other = await createMerchant({ timezone: 'Europe/Paris', defaultCurrency: 'EUR' }, clock);
    const plan = async (input: Parameters<typeof buildPlanInput>[0]) => {
      const body = (await api().post('/api/v1/plans').set(merchant.auth).send(buildPlanInput(input)).expect(201)).body;
      return { id: body.id as string, variantId: body.variants[0].id as string };
    };
    plans.A = await plan({});
    plans.B = await plan({ cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 4000 }] });
    plans.T = await plan({ cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 2000 }], trialDays: 14 });
    plans.E = await plan({
      currency: 'EUR',
      cadences: [
        { interval: 'week', intervalCount: 2, priceMinor: 1500 },
        { interval: 'month', intervalCount: 1, priceMinor: 3000 },
      ],
    });

    // January
    at('2026-01-05T15:00:00Z');
    await subscribe('S1', 'A', 'month-1');
    at('2026-01-06T15:00:00Z');
    await subscribe('S2', 'A', 'week-2');
    at('2026-01-07T15:00:00Z');
    await subscribe('S3', 'B', 'month-1');
    at('2026-01-08T15:00:00Z');
    await subscribe('S4', 'A', 'month-1');
    at('2026-01-10T15:00:00Z');
    await subscribe('S5', 'E', 'month-1');
    at('2026-01-12T15:00:00Z');
    await subscribe('S6', 'E', 'week-2');
    at('2026-01-14T15:00:00Z');
    await subscribe('S7', 'A', 'month-1');
    at('2026-01-20T15:00:00Z');
    await post(`/subscriptions/${subs.S7!.id}/cancel`, { mode: 'now', reason: 'too_expensive' });

    // February
    at('2026-02-02T15:00:00Z');
    await post(`/subscriptions/${subs.S6!.id}/cadence`, { cadence: 'month-1' });
    at('2026-02-03T15:00:00Z');
    await post(`/subscriptions/${subs.S1!.id}/swap`, { planId: plans.B.id, variantId: plans.B.variantId });
    at('2026-02-04T13:00:00Z');
    await post(`/subscriptions/${subs.S3!.id}/swap`, { planId: plans.A.id, variantId: plans.A.variantId });
    at('2026-02-10T15:00:00Z');
    await post(`/subscriptions/${subs.S4!.id}/pause`, { cycles: 2 });
    at('2026-02-12T15:00:00Z');
    await driver.fail(subs.S2!.stripeId, new Date('2026-02-03T15:00:00Z'), `in_s2_${subs.S2!.id.slice(-6)}`, 1);
    at('2026-02-15T15:00:00Z');
    await subscribe('S8', 'A', 'month-1');
    at('2026-02-16T15:00:00Z');
    await subscribe('S9', 'A', 'month-1', subs.S7!.customerId);
    at('2026-02-20T15:00:00Z');
    await driver.deliver('customer.subscription.updated', { id: subs.S2!.stripeId, object: 'subscription', status: 'unpaid' });
    at('2026-03-01T03:00:00Z');
    await post(`/subscriptions/${subs.S5!.id}/cancel`, { mode: 'now', reason: 'moving' });

    // March
    at('2026-03-03T15:00:00Z');
    await post(`/subscriptions/${subs.S8!.id}/cancel`, { mode: 'period_end', reason: 'other' });
    at('2026-03-04T15:00:00Z');
    await post(`/subscriptions/${subs.S8!.id}/reactivate`);
    at('2026-03-05T15:00:00Z');
    await post(`/subscriptions/${subs.S4!.id}/resume`);
    at('2026-03-10T15:00:00Z');
    await subscribe('S11', 'E', 'month-1');
    at('2026-03-12T15:00:00Z');
    await subscribe('S12', 'T', 'month-1');
    at('2026-03-15T15:00:00Z');
    await subscribe('S13', 'A', 'month-1');
    at('2026-03-18T15:00:00Z');
    await post(`/subscriptions/${subs.S13!.id}/pause`, { cycles: 1 });
    at('2026-03-20T15:00:00Z');
    await driver.fail(subs.S3!.stripeId, new Date('2026-03-07T15:00:00Z'), `in_s3_${subs.S3!.id.slice(-6)}`, 1);
    at('2026-03-25T15:00:00Z');
    await post(`/subscriptions/${subs.S1!.id}/cancel`, { mode: 'now', reason: 'quality' });
    at('2026-03-31T15:00:00Z');
    await driver.followFacts();
  }, 120_000);

  test('when the quarter has been driven, then each subscription is where the story says', async () => {
    expect({
      S1: await status('S1'),
      S2: await status('S2'),
      S3: await status('S3'),
      S4: await status('S4'),
      S5: await status('S5'),
      S7: await status('S7'),
      S8: await status('S8'),
      S12: await status('S12'),
      S13: await status('S13'),
    }).toEqual({
      S1: 'cancelled',
      S2: 'cancelled',
      S3: 'past_due',
      S4: 'active',
      S5: 'cancelled',
      S7: 'cancelled',
      S8: 'active',
      S12: 'trialing',
      S13: 'paused',
    });
    // The cadence change names the plan its new price belongs to (added to the fact for the projection).
    const cadence = (await factsAbout({ subjectId: subs.S6!.id })).find((f) => f.type === 'subscription.cadence_changed');
    expect(cadence!.data).toMatchObject({ from: 'week-2', to: 'month-1', planId: plans.E.id });
  });

  // MRR per month, by hand (USD):
  //   January  start 0;     new 2600 + 5143 + 4000 + 2600 + 2600 = 16943; churn 2600 (S7)            → end 14343
  //   February start 14343; +1400 exp −1400 contr −2600 paused −5143 churn +2600 new +2600 react      → end 11800
  //            (check: S1 4000 + S3 2600 + S8 2600 + S9 2600 = 11800; S4 paused counts 0)
  //            moves between plans: S1 2600 A → B, S3 4000 B → A: 6600 in and 6600 out, which cancel out
  //   March    start 11800;  +2600 resumed (S4) +2600 new (S13) −2600 paused (S13) −4000 churn (S1)  → end 10400
  //            (check: S3 2600 past due + S4 2600 + S8 2600 + S9 2600 = 10400; S12 trialing 0, S13 paused 0)
  // EUR:
  //   January  start 0;    new 3000 + 3214 = 6214                                                    → end 6214
  //   February start 6214; contraction 214 (S6), churn 3000 (S5, on Feb 28 in New York)               → end 3000
  //   March    start 3000; new 3000 (S11)                                                             → end 6000
  const usdMrr = [
    {
      month: '2026-01',
      startMrrMinor: 0,
      newMinor: 16943,
      expansionMinor: 0,
      contractionMinor: 0,
      churnMinor: 2600,
      reactivationMinor: 0,
      pausedMinor: 0,
      resumedMinor: 0,
      transferInMinor: 0,
      transferOutMinor: 0,
      netChangeMinor: 14343,
      endMrrMinor: 14343,
    },
    {
      month: '2026-02',
      startMrrMinor: 14343,
      newMinor: 2600,
      expansionMinor: 1400,
      contractionMinor: 1400,
      churnMinor: 5143,
      reactivationMinor: 2600,
      pausedMinor: 2600,
      resumedMinor: 0,
      transferInMinor: 6600,
      transferOutMinor: 6600,
      netChangeMinor: -2543,
      endMrrMinor: 11800,
    },
    {
      month: '2026-03',
      startMrrMinor: 11800,
      newMinor: 2600,
      expansionMinor: 0,
      contractionMinor: 0,
      churnMinor: 4000,
      reactivationMinor: 0,
      pausedMinor: 2600,
      resumedMinor: 2600,
      transferInMinor: 0,
      transferOutMinor: 0,
      netChangeMinor: -1400,
      endMrrMinor: 10400,
    },
  ];
  const eurMrr = [
    {
      month: '2026-01',
      startMrrMinor: 0,
      newMinor: 6214,
      expansionMinor: 0,
      contractionMinor: 0,
      churnMinor: 0,
      reactivationMinor: 0,
      pausedMinor: 0,
      resumedMinor: 0,
      transferInMinor: 0,
      transferOutMinor: 0,
      netChangeMinor: 6214,
      endMrrMinor: 6214,
    },
    {
      month: '2026-02',
      startMrrMinor: 6214,
      newMinor: 0,
      expansionMinor: 0,
      contractionMinor: 214,
      churnMinor: 3000,
      reactivationMinor: 0,
      pausedMinor: 0,
      resumedMinor: 0,
      transferInMinor: 0,
      transferOutMinor: 0,
      netChangeMinor: -3214,
      endMrrMinor: 3000,
    },
    {
      month: '2026-03',
      startMrrMinor: 3000,
      newMinor: 3000,
      expansionMinor: 0,
      contractionMinor: 0,
      churnMinor: 0,
      reactivationMinor: 0,
      pausedMinor: 0,
      resumedMinor: 0,
      transferInMinor: 0,
      transferOutMinor: 0,
      netChangeMinor: 3000,
      endMrrMinor: 6000,
    },
  ];

  test('when the MRR is read, then it is per currency, with the movements of each month computed by hand', async () => {
    expect(await metrics('mrr')).toEqual({
      object: 'mrr_report',
      timezone: 'America/New_York',
      from: '2026-01',
      to: '2026-03',
      currencies: [
        { currency: 'EUR', mrrMinor: 6000, months: eurMrr },
        { currency: 'USD', mrrMinor: 10400, months: usdMrr },
      ],
    });
    // What each subscription contributes now adds up to the same MRR.
    const states = await SubscriptionMrrModel.find({ merchantId: merchant.id }).lean();
    const sum = (currency: string) => states.filter((s) => s.currency === currency).reduce((n, s) => n + s.mrrMinor, 0);
    expect({ USD: sum('USD'), EUR: sum('EUR') }).toEqual({ USD: 10400, EUR: 6000 });
  });

  test('when the MRR is read for one plan or one currency, then moves between plans show as transfers and the rest is left out', async () => {
    // Plan A (USD) by hand: January new 2600 (S1) + 5143 (S2) + 2600 (S4) + 2600 (S7) = 12943, churn 2600 → 10343.
    // February: S1 leaves with 2600 (out), S3 arrives with 4000 (in) then −1400 contraction, S4 −2600 paused,
    // S2 −5143 churn, S8 +2600 new, S9 +2600 reactivation: 10343 − 2600 + 4000 − 1400 − 2600 − 5143 + 2600 + 2600 = 7800.
    const planA = await metrics('mrr', `from=2026-01&to=2026-02&plan=${plans.A.id}`);
    expect(planA.currencies).toEqual([
      {
        currency: 'USD',
        mrrMinor: 10400, // now: S3 2600 + S4 2600 + S8 2600 + S9 2600 (S13 paused); S1's move to B and cancellation are plan B's
        months: [
          expect.objectContaining({ month: '2026-01', startMrrMinor: 0, newMinor: 12943, churnMinor: 2600, endMrrMinor: 10343 }),
          expect.objectContaining({
            month: '2026-02',
            startMrrMinor: 10343,
            transferInMinor: 4000,
            transferOutMinor: 2600,
            contractionMinor: 1400,
            expansionMinor: 0,
            endMrrMinor: 7800,
          }),
        ],
      },
    ]);
    const eur = await metrics('mrr', 'from=2026-02&to=2026-02&currency=EUR');
    expect(eur.currencies).toEqual([{ currency: 'EUR', mrrMinor: 6000, months: [eurMrr[1]] }]);
  });

  test('when subscribers are read, then now they are counted by status and each month by new and cancelled', async () => {
    // USD: January new S1 S2 S3 S4 S7 = 5, cancelled S7 → 4. February new S8 S9 (S9 a returning shopper), cancelled S2 → 5.
    // March new S12 (trialing) and S13 = 2, cancelled S1 → 6. Now: active S4 S8 S9, past due S3, trialing S12, paused S13.
    // EUR: January new S5 S6 → 2; February cancelled S5 → 1; March new S11 → 2. Now: active S6 S11.
    expect(await metrics('subscribers')).toEqual({
      object: 'subscriber_report',
      timezone: 'America/New_York',
      from: '2026-01',
      to: '2026-03',
      currencies: [
        {
          currency: 'EUR',
          current: { active: 2, trialing: 0, pastDue: 0, paused: 0 },
          months: [
            { month: '2026-01', startCount: 0, new: 2, reactivated: 0, cancelled: 0, transferIn: 0, transferOut: 0, endCount: 2 },
            { month: '2026-02', startCount: 2, new: 0, reactivated: 0, cancelled: 1, transferIn: 0, transferOut: 0, endCount: 1 },
            { month: '2026-03', startCount: 1, new: 1, reactivated: 0, cancelled: 0, transferIn: 0, transferOut: 0, endCount: 2 },
          ],
        },
        {
          currency: 'USD',
          current: { active: 3, trialing: 1, pastDue: 1, paused: 1 },
          months: [
            { month: '2026-01', startCount: 0, new: 5, reactivated: 0, cancelled: 1, transferIn: 0, transferOut: 0, endCount: 4 },
            { month: '2026-02', startCount: 4, new: 2, reactivated: 1, cancelled: 1, transferIn: 2, transferOut: 2, endCount: 5 },
            { month: '2026-03', startCount: 5, new: 2, reactivated: 0, cancelled: 1, transferIn: 0, transferOut: 0, endCount: 6 },
          ],
        },
      ],
    });
  });

  test('when subscribers are read, then the ones now come from the daily buckets: no subscription’s document is read', async () => {
    const read = await documentsReadWhile(() => metrics('subscribers'));
    expect(read.analytics_daily).toBeGreaterThan(0);
    expect(read.analytics_subscriptions).toBeUndefined();
  });

  test('when subscribers are read for one plan or one currency, then the ones now are counted by status in that plan or currency only', async () => {
    // Plan A now: active S4 (resumed) S8 S9, past due S3 (swapped in from B), paused S13; S1 left A for B and was cancelled, S12 is on T.
    const planA = await metrics('subscribers', `plan=${plans.A.id}`);
    expect(planA.currencies.map((c: { currency: string; current: unknown }) => [c.currency, c.current])).toEqual([
      ['USD', { active: 3, trialing: 0, pastDue: 1, paused: 1 }],
    ]);
    const planT = await metrics('subscribers', `plan=${plans.T.id}`);
    expect(planT.currencies.map((c: { current: unknown }) => c.current)).toEqual([{ active: 0, trialing: 1, pastDue: 0, paused: 0 }]);
    const eur = await metrics('subscribers', 'currency=EUR');
    expect(eur.currencies.map((c: { currency: string; current: unknown }) => [c.currency, c.current])).toEqual([
      ['EUR', { active: 2, trialing: 0, pastDue: 0, paused: 0 }],
    ]);
  });

  test('when churn is read, then rates are against the start of the month and a subscription begun and ended in a month is left out of them', async () => {
    // USD January: nobody at the start → no rates; S7 is cancelled and began in January: counted, left out of the rates.
    // USD February: 4 at the start, S2 cancelled (involuntary, when dunning ended) → 1 / 4 = 0.25.
    //   Gross MRR churn = (churn 5143 + contraction 1400) / 14343 = 6543 / 14343 = 0.45618 → 0.4562.
    //   Net MRR churn = (6543 − expansion 1400 − reactivation 2600) / 14343 = 2543 / 14343 = 0.17730 → 0.1773.
    // USD March: 5 at the start, S1 cancelled (voluntary) → 1 / 5 = 0.2; 4000 / 11800 = 0.33898 → 0.339 (gross and net).
    // EUR February: 2 at the start, S5 cancelled → 0.5; (3000 + 214) / 6214 = 0.51722 → 0.5172. March: nothing lost → 0.
    const zeroMonth = {
      churnVoluntaryMinor: 0,
      churnInvoluntaryMinor: 0,
      churnSameMonthMinor: 0,
      contractionMinor: 0,
      expansionMinor: 0,
      reactivationMinor: 0,
    };
    expect(await metrics('churn')).toEqual({
      object: 'churn_report',
      timezone: 'America/New_York',
      from: '2026-01',
      to: '2026-03',
      currencies: [
        {
          currency: 'EUR',
          months: [
            {
              ...zeroMonth,
              month: '2026-01',
              subscribersAtStart: 0,
              cancelled: 0,
              voluntary: 0,
              involuntary: 0,
              cancelledSameMonth: 0,
              subscriberChurnRate: null,
              mrrAtStartMinor: 0,
              churnMinor: 0,
              grossMrrChurnRate: null,
              netMrrChurnRate: null,
            },
            {
              ...zeroMonth,
              month: '2026-02',
              subscribersAtStart: 2,
              cancelled: 1,
              voluntary: 1,
              involuntary: 0,
              cancelledSameMonth: 0,
              subscriberChurnRate: 0.5,
              mrrAtStartMinor: 6214,
              churnMinor: 3000,
              churnVoluntaryMinor: 3000,
              contractionMinor: 214,
              grossMrrChurnRate: 0.5172,
              netMrrChurnRate: 0.5172,
            },
            {
              ...zeroMonth,
              month: '2026-03',
              subscribersAtStart: 1,
              cancelled: 0,
              voluntary: 0,
              involuntary: 0,
              cancelledSameMonth: 0,
              subscriberChurnRate: 0,
              mrrAtStartMinor: 3000,
              churnMinor: 0,
              grossMrrChurnRate: 0,
              netMrrChurnRate: 0,
            },
          ],
        },
        {
          currency: 'USD',
          months: [
            {
              ...zeroMonth,
              month: '2026-01',
              subscribersAtStart: 0,
              cancelled: 1,
              voluntary: 1,
              involuntary: 0,
              cancelledSameMonth: 1,
              subscriberChurnRate: null,
              mrrAtStartMinor: 0,
              churnMinor: 2600,
              churnVoluntaryMinor: 2600,
              churnSameMonthMinor: 2600,
              grossMrrChurnRate: null,
              netMrrChurnRate: null,
            },
            {
              ...zeroMonth,
              month: '2026-02',
              subscribersAtStart: 4,
              cancelled: 1,
              voluntary: 0,
              involuntary: 1,
              cancelledSameMonth: 0,
              subscriberChurnRate: 0.25,
              mrrAtStartMinor: 14343,
              churnMinor: 5143,
              churnInvoluntaryMinor: 5143,
              contractionMinor: 1400,
              expansionMinor: 1400,
              reactivationMinor: 2600,
              grossMrrChurnRate: 0.4562,
              netMrrChurnRate: 0.1773,
            },
            {
              ...zeroMonth,
              month: '2026-03',
              subscribersAtStart: 5,
              cancelled: 1,
              voluntary: 1,
              involuntary: 0,
              cancelledSameMonth: 0,
              subscriberChurnRate: 0.2,
              mrrAtStartMinor: 11800,
              churnMinor: 4000,
              churnVoluntaryMinor: 4000,
              grossMrrChurnRate: 0.339,
              netMrrChurnRate: 0.339,
            },
          ],
        },
      ],
    });
  });

  test('when a report is asked for as CSV, then it is one row per currency and month under a header of the JSON names', async () => {
    const res = await api().get('/api/v1/metrics/mrr?from=2026-02&to=2026-02&format=csv').set(merchant.auth).expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="mrr.csv"');
    expect(res.text.split('\r\n')).toEqual([
      'currency,month,startMrrMinor,newMinor,expansionMinor,contractionMinor,churnMinor,reactivationMinor,pausedMinor,resumedMinor,transferInMinor,transferOutMinor,netChangeMinor,endMrrMinor',
      'EUR,2026-02,6214,0,0,214,3000,0,0,0,0,0,-3214,3000',
      'USD,2026-02,14343,2600,1400,1400,5143,2600,2600,0,6600,6600,-2543,11800',
      '',
    ]);
    const churn = await api().get('/api/v1/metrics/churn?from=2026-01&to=2026-01&currency=USD&format=csv').set(merchant.auth).expect(200);
    expect(churn.text.split('\r\n')[1]).toBe('USD,2026-01,0,1,1,0,1,,0,2600,2600,0,2600,0,0,0,,');
  });

  test('when another store reads its metrics, then it sees none of these', async () => {
    const res = await api().get('/api/v1/metrics/mrr?from=2026-01&to=2026-03').set(other.auth).expect(200);
    expect(res.body).toMatchObject({ timezone: 'Europe/Paris', currencies: [] });
    expect((await api().get('/api/v1/metrics/subscribers').set(other.auth).expect(200)).body.currencies).toEqual([]);
  });

  test('when every fact is followed again, then nothing changes', async () => {
    const before = [await metrics('mrr'), await metrics('subscribers'), await metrics('churn')];
    const facts = (await factsAbout({ merchantId: merchant.id })).filter((f) => (ANALYTICS_FACTS as readonly string[]).includes(f.type));
    // 12 created, 4 cancelled, 2 swapped, 2 paused, 2 payment_failed, 1 cadence_changed, 1 resumed.
    expect(facts).toHaveLength(24);
    const deps = { clock: testApp.clock, logger: silentLogger, stripe: createStripeGateway(testStripe()), links: TEST_LINKS };
    for (const fact of facts) await projectSubscriptionMetrics.run(deps, fact);
    for (const fact of [...facts].reverse()) await applyFactToAnalytics(fact);
    expect([await metrics('mrr'), await metrics('subscribers'), await metrics('churn')]).toEqual(before);
  });

  test('when a fact was counted in its day but the worker died before it was recorded on the subscription, then the retry finishes it once', async () => {
    const before = await metrics('mrr');
    const [cancelled] = (await factsAbout({ subjectId: subs.S1!.id })).filter((f) => f.type === 'subscription.cancelled');
    // The subscription's state as it was before S1's cancellation: the buckets already have the fact.
    await SubscriptionMrrModel.updateOne(
      { _id: subs.S1!.id },
      { $set: { lastSeq: cancelled!.seq - 1, status: 'active', mrrMinor: 4000 }, $unset: { cancelledAt: 1, cancelledOn: 1 } },
    );
    await applyFactToAnalytics(cancelled!);
    expect(await metrics('mrr')).toEqual(before);
    expect(await SubscriptionMrrModel.findById(subs.S1!.id).lean()).toMatchObject({ status: 'cancelled', mrrMinor: 0, lastSeq: cancelled!.seq });
  });

  test('when the projections are rebuilt from the facts, then every figure is the same', async () => {
    const before = [
      await metrics('mrr'),
      await metrics('subscribers'),
      await metrics('churn'),
      await metrics('mrr', `plan=${plans.A.id}&from=2026-01&to=2026-03`),
    ];
    // The projections lost (or wrong): the rebuild starts from nothing but the facts.
    await MetricBucketModel.deleteMany({ merchantId: merchant.id });
    await SubscriptionMrrModel.updateMany({ merchantId: merchant.id }, { $set: { mrrMinor: 1 } });
    expect((await metrics('mrr')).currencies).toEqual([]);
    // 24 facts of the MRR projection, and S2's dunning_ended, which only the retention projection reads.
    expect(await rebuildAnalytics({ merchantId: merchant.id })).toEqual({ merchants: 1, facts: 25 });
    expect([
      await metrics('mrr'),
      await metrics('subscribers'),
      await metrics('churn'),
      await metrics('mrr', `plan=${plans.A.id}&from=2026-01&to=2026-03`),
    ]).toEqual(before);
    expect((await metrics('mrr')).currencies).toEqual([
      { currency: 'EUR', mrrMinor: 6000, months: eurMrr },
      { currency: 'USD', mrrMinor: 10400, months: usdMrr },
    ]);
  });

  test('when the rebuild folds in small batches (a page of 3 facts, written every 7), then it writes exactly the documents the listeners write', async () => {
    const before = [await metrics('mrr'), await metrics('subscribers'), await metrics('churn')];
    await projectThroughListeners(merchant.id);
    const followed = await projectionDocuments(merchant.id);
    await rebuildAnalytics({ merchantId: merchant.id, batch: { page: 3, flushEvery: 7 } });
    expect(await projectionDocuments(merchant.id)).toEqual(followed);
    expect([await metrics('mrr'), await metrics('subscribers'), await metrics('churn')]).toEqual(before);
  });

  test('when several workers follow the same new fact at once, then it is counted once', async () => {
    const [created] = await factsAbout({ subjectId: subs.S1!.id });
    await MetricBucketModel.deleteMany({ merchantId: merchant.id });
    await SubscriptionMrrModel.deleteMany({ merchantId: merchant.id });
    await Promise.all([1, 2, 3, 4].map(() => applyFactToAnalytics(created!)));
    // S1 alone: new 2600 on January 5th, once.
    expect((await metrics('mrr', 'from=2026-01&to=2026-01')).currencies).toEqual([
      { currency: 'USD', mrrMinor: 2600, months: [expect.objectContaining({ newMinor: 2600, endMrrMinor: 2600 })] },
    ]);
    expect(await SubscriptionMrrModel.countDocuments({ merchantId: merchant.id })).toBe(1);
  });
});
