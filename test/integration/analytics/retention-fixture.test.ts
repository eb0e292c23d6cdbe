import request from 'supertest';
import { rebuildAnalytics } from '../../../src/analytics/analytics-projection.service';
import { projectSubscriptionMetrics } from '../../../src/analytics/analytics.listeners';
import { RetentionBucketModel, RetentionSubscriptionModel } from '../../../src/analytics/retention.model';
import { projectRetentionMetrics } from '../../../src/analytics/retention.listeners';
import { FactModel, type Fact } from '../../../src/events/fact.model';
import { listeners } from '../../../src/listeners';
import { findPlan } from '../../../src/plans/plan.queries';
import { FakeClock } from '../../../src/shared/time';
import type { StripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { buildTestApp, type TestApp } from '../../helpers/test-app';
import { projectionDocuments, projectThroughListeners, readsWhile } from '../../helpers/analytics-projections';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/**
 * Half a year of a store, written by hand as the facts the product records (payloads as
 * subscribe.service.ts, order-payments.service.ts, subscription-changes.service.ts and
 * subscription-payments.service.ts write them), followed by the MRR and retention listeners in order; every
 * figure of /metrics/cohorts, /ltv, /cancellations and /dunning is worked out below, by hand.
 *
 * The store is in New York; every day and month is New York's. Plan A (USD) is 26.00 a month (MRR 2600),
 * plan E (EUR) 30.00 a month (MRR 3000). "Paid" is a `box.paid` fact with what was paid. Now is June 20.
 *
 *   S1 A  created Jan 5; paid Jan 5, Feb 5, Mar 5, Apr 5, May 5, Jun 5 (2600 each); shown the skip offer Jun 1 and
 *         took it (a skip taken as the offer: `subscription.skipped` with `saveOffer`)
 *   S2 A  created Jan 10; paid Jan 10; payment fails Feb 10 (attempt 1, dunning starts); recovered Feb 13 by payment
 *         after 1 failed attempt, paid Feb 13; paid Mar 10; shown the discount Mar 19, declined it; cancelled Mar 20,
 *         reason too_expensive
 *   S3 A  created Feb 28; paid Feb 28; fails Mar 28 (attempt 1, starts) and Mar 31 (attempt 2); recovered Apr 2 by
 *         Stripe's status (no attempt in the fact: the last failed attempt, 2, counts), paid Apr 2; paid Apr 28, May 28;
 *         skipped a box May 10 (an ordinary skip, not a save)
 *   S4 A  created Feb 15; paid Feb 15; shown and took the discount offer Mar 1; paid Mar 15 2080 (20% off),
 *         Apr 15, May 15, Jun 15 (2600) — never cancelled: still active 90 days after the save (May 30)
 *   S5 A  created Mar 2; paid Mar 2; shown and took the discount offer Mar 20; paid Apr 2; cancelled 2026-05-01T02:00Z =
 *         April 30 in New York, reason moving — cancelled before the 90th day after its save (June 18)
 *   S6 A  created Mar 8; paid Mar 8; fails Apr 8 (attempt 1, starts), Apr 11 (2), Apr 14 (3); dunning ended
 *         unpaid Apr 20, cancelled (reason payment_failed, involuntary)
 *   S7 E  created Jan 20; paid Jan 20, Feb 20 (3000); cancelled Mar 5, reason moving
 *   S8 A  created Mar 25 incomplete (a Checkout never paid), cancelled Mar 26 (reason other): never a subscriber,
 *         never paid: in no cohort and not a cancellation
 */
describe('analytics: cohorts, LTV, why they leave and dunning, a hand-written half year', () => {
  useTestDatabase();

  let testApp: TestApp;
  let merchant: TestMerchant;
  let other: TestMerchant;
  const planIds = { A: '', E: '' };
  const facts: Fact[] = [];
  const seqs = new Map<string, number>();
  const deps = () => ({ clock: testApp.clock, logger: silentLogger, stripe: {} as StripeGateway });
  const api = () => request(testApp.app);
  const read = async (path: string, query = 'from=2026-01&to=2026-06') =>
    (await api().get(`/api/v1/metrics/${path}?${query}`).set(merchant.auth).expect(200)).body;

  function fact(
    subjectType: 'subscription' | 'box',
    subjectId: string,
    subscriptionId: string,
    type: string,
    at: string,
    data: Record<string, unknown> = {},
  ): void {
    const seq = (seqs.get(subjectId) ?? 0) + 1;
    seqs.set(subjectId, seq);
    facts.push({
      _id: `${subjectId}:${String(seq).padStart(8, '0')}`,
      merchantId: merchant.id,
      type,
      subjectType,
      subjectId,
      seq,
      at: new Date(at),
      actor: { kind: 'system' },
      data,
      customerId: `cus_${subscriptionId}`,
      subscriptionId,
      relayedAt: new Date(at),
      done: [],
      state: 'succeeded',
      attempts: 1,
    } as unknown as Fact);
  }

  /** Both analytics listeners, in the order of src/listeners.ts. */
  async function follow(f: Fact): Promise<void> {
    if (f.subjectType === 'subscription' && listeners[f.type]?.includes(projectSubscriptionMetrics)) await projectSubscriptionMetrics.run(deps(), f);
    await projectRetentionMetrics.run(deps(), f);
  }

  beforeAll(async () => {
    testApp = buildTestApp({ clock: new FakeClock('2026-01-02T15:00:00Z') });
    merchant = await createMerchant({ timezone: 'America/New_York', defaultCurrency: 'USD' }, testApp.clock);
    other = await createMerchant({ timezone: 'Europe/Paris', defaultCurrency: 'EUR' }, testApp.clock);
    const plan = async (input: Parameters<typeof buildPlanInput>[0]) => {
      const id = (await api().post('/api/v1/plans').set(merchant.auth).send(buildPlanInput(input)).expect(201)).body.id as string;
      const found = await findPlan(merchant.id, id);
      return { planId: id, priceId: found!.cadences.find((c) => c.key === 'month-1')!.currentPriceId };
    };
    const A = { ...(await plan({ cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 2600 }] })), currency: 'USD' };
    const E = { ...(await plan({ currency: 'EUR', cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 3000 }] })), currency: 'EUR' };
    planIds.A = A.planId;
    planIds.E = E.planId;

    const sub = (name: string) => `sub_${name}`;
    const created = (name: string, p: typeof A, on: string, status = 'active') =>
      fact('subscription', sub(name), sub(name), 'subscription.created', `${on}T15:00:00Z`, { ...p, cadence: 'month-1', priceMinor: 2600, status });
    let boxes = 0;
    const paid = (name: string, on: string, amountPaidMinor: number, currency = 'USD') =>
      fact('box', `ord_${name}_${(boxes += 1)}`, sub(name), 'box.paid', `${on}T15:00:00Z`, { cycleKey: on.slice(0, 7), amountPaidMinor, currency });
    const on = (name: string, type: string, day: string, data: Record<string, unknown> = {}) =>
      fact('subscription', sub(name), sub(name), `subscription.${type}`, day.includes('T') ? day : `${day}T15:00:00Z`, data);

    created('S1', A, '2026-01-05');
    for (const day of ['2026-01-05', '2026-02-05', '2026-03-05', '2026-04-05', '2026-05-05', '2026-06-05']) paid('S1', day, 2600);
    on('S1', 'save_offer_shown', '2026-06-01T14:00:00Z', { type: 'skip_next', reason: 'too_much_product' });
    on('S1', 'skipped', '2026-06-01', { cycleKey: '2026-07-05', saveOffer: 'skip_next' });

    created('S2', A, '2026-01-10');
    paid('S2', '2026-01-10', 2600);
    on('S2', 'payment_failed', '2026-02-10', { stripeInvoiceId: 'in_s2', attempt: 1, startsDunning: true });
    on('S2', 'recovered', '2026-02-13', { by: 'payment', stripeInvoiceId: 'in_s2', cycleKey: '2026-02', amountPaidMinor: 2600, attempts: 1 });
    paid('S2', '2026-02-13', 2600);
    paid('S2', '2026-03-10', 2600);
    on('S2', 'save_offer_shown', '2026-03-19', { type: 'discount', reason: 'too_expensive' });
    on('S2', 'cancelled', '2026-03-20', { reason: 'too_expensive', mode: 'now', from: 'active' });

    created('S3', A, '2026-02-28');
    paid('S3', '2026-02-28', 2600);
    on('S3', 'payment_failed', '2026-03-28', { stripeInvoiceId: 'in_s3', attempt: 1, startsDunning: true });
    on('S3', 'payment_failed', '2026-03-31', { stripeInvoiceId: 'in_s3', attempt: 2, startsDunning: false });
    on('S3', 'recovered', '2026-04-02', { by: 'stripe_status', stripeInvoiceId: 'in_s3', stripeStatus: 'active' });
    paid('S3', '2026-04-02', 2600);
    paid('S3', '2026-04-28', 2600);
    on('S3', 'skipped', '2026-05-10', { cycleKey: '2026-06-28' });
    paid('S3', '2026-05-28', 2600);

    created('S4', A, '2026-02-15');
    paid('S4', '2026-02-15', 2600);
    on('S4', 'save_offer_shown', '2026-03-01T14:00:00Z', { type: 'discount', reason: 'too_expensive' });
    on('S4', 'save_offer_accepted', '2026-03-01', { type: 'discount', percentOff: 20, cycleKey: '2026-03' });
    paid('S4', '2026-03-15', 2080);
    for (const day of ['2026-04-15', '2026-05-15', '2026-06-15']) paid('S4', day, 2600);

    created('S5', A, '2026-03-02');
    paid('S5', '2026-03-02', 2600);
    on('S5', 'save_offer_shown', '2026-03-20T14:00:00Z', { type: 'discount', reason: 'too_expensive' });
    on('S5', 'save_offer_accepted', '2026-03-20', { type: 'discount', percentOff: 20, cycleKey: '2026-04' });
    paid('S5', '2026-04-02', 2600);
    on('S5', 'cancelled', '2026-05-01T02:00:00Z', { reason: 'moving', mode: 'now', from: 'active' });

    created('S6', A, '2026-03-08');
    paid('S6', '2026-03-08', 2600);
    on('S6', 'payment_failed', '2026-04-08', { stripeInvoiceId: 'in_s6', attempt: 1, startsDunning: true });
    on('S6', 'payment_failed', '2026-04-11', { stripeInvoiceId: 'in_s6', attempt: 2, startsDunning: false });
    on('S6', 'payment_failed', '2026-04-14', { stripeInvoiceId: 'in_s6', attempt: 3, startsDunning: false });
    on('S6', 'dunning_ended', '2026-04-20', { outcome: 'cancel', stripeStatus: 'unpaid', stripeInvoiceId: 'in_s6' });
    on('S6', 'cancelled', '2026-04-20T15:00:01Z', { reason: 'payment_failed', mode: 'now', involuntary: true, from: 'past_due' });

    created('S7', E, '2026-01-20');
    paid('S7', '2026-01-20', 3000, 'EUR');
    paid('S7', '2026-02-20', 3000, 'EUR');
    on('S7', 'cancelled', '2026-03-05', { reason: 'moving', mode: 'now', from: 'active' });

    created('S8', A, '2026-03-25', 'incomplete');
    on('S8', 'cancelled', '2026-03-26', { reason: 'other', mode: 'now', from: 'incomplete' });

    facts.sort((a, b) => a.at.getTime() - b.at.getTime());
    await FactModel.insertMany(facts);
    for (const f of facts) await follow(f);
    testApp.clock.set('2026-06-20T15:00:00Z');
  }, 60_000);

  // Cohorts by hand (the month of the first paid box; active = not cancelled by the month's end).
  //   USD 2026-01: S1, S2 (size 2). Jan: 2 active, 2 paying, 5200 · Feb: 2, 2, 5200 (S2's Feb box paid on recovery)
  //     · Mar: S2 cancelled in March → 1 active (0.5), 2 paying (S2 paid Mar 10), 5200 · Apr–Jun: 1, 1, 2600 each.
  //     To date: S1 6 × 2600 = 15600 + S2 3 × 2600 = 7800 → 23400; realised LTV 23400 / 2 = 11700.
  //   USD 2026-02: S3, S4. Feb: 2, 2, 5200 · Mar: 2 active, 1 paying (S3 failed), 2080 (S4 with 20% off)
  //     · Apr: 2, 2, S3 2 × 2600 + S4 2600 = 7800 · May: 2, 2, 5200 · Jun: 2, 1 (S4 only), 2600.
  //     To date: S3 2600 + 5200 + 2600 = 10400, S4 2600 + 2080 + 3 × 2600 = 12480 → 22880; 11440.
  //   USD 2026-03: S5, S6 (S8 never paid). Mar: 2, 2, 5200 · Apr: both cancelled in April → 0 active, 1 paying (S5), 2600
  //     · May, Jun: 0, 0, 0. To date 7800; 3900.
  //   EUR 2026-01: S7. Jan: 1, 1, 3000 · Feb: 1, 1, 3000 · Mar–Jun: 0, 0, 0. To date 6000; 6000.
  const grid = (cohort: string, rows: Array<[number, number, number]>, size: number) =>
    rows.map(([active, paying, revenueMinor], offset) => {
      const [y, m] = cohort.split('-').map(Number) as [number, number];
      const month = `${y}-${String(m + offset).padStart(2, '0')}`;
      return { month, offset, active, activeRate: Math.round((active / size) * 10_000) / 10_000, paying, revenueMinor };
    });
  const usdCohorts = [
    {
      cohort: '2026-01',
      size: 2,
      revenueToDateMinor: 23400,
      realisedLtvMinor: 11700,
      months: grid(
        '2026-01',
        [
          [2, 2, 5200],
          [2, 2, 5200],
          [1, 2, 5200],
          [1, 1, 2600],
          [1, 1, 2600],
          [1, 1, 2600],
        ],
        2,
      ),
    },
    {
      cohort: '2026-02',
      size: 2,
      revenueToDateMinor: 22880,
      realisedLtvMinor: 11440,
      months: grid(
        '2026-02',
        [
          [2, 2, 5200],
          [2, 1, 2080],
          [2, 2, 7800],
          [2, 2, 5200],
          [2, 1, 2600],
        ],
        2,
      ),
    },
    {
      cohort: '2026-03',
      size: 2,
      revenueToDateMinor: 7800,
      realisedLtvMinor: 3900,
      months: grid(
        '2026-03',
        [
          [2, 2, 5200],
          [0, 1, 2600],
          [0, 0, 0],
          [0, 0, 0],
        ],
        2,
      ),
    },
  ];
  const eurCohorts = [
    {
      cohort: '2026-01',
      size: 1,
      revenueToDateMinor: 6000,
      realisedLtvMinor: 6000,
      months: grid(
        '2026-01',
        [
          [1, 1, 3000],
          [1, 1, 3000],
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
        ],
        1,
      ),
    },
  ];

  test('when the cohorts are read, then each currency has its grid of subscribers and revenue by the month of the first paid box', async () => {
    expect(usdCohorts[0]!.months[2]).toEqual({ month: '2026-03', offset: 2, active: 1, activeRate: 0.5, paying: 2, revenueMinor: 5200 });
    expect(await read('cohorts')).toEqual({
      object: 'cohort_report',
      timezone: 'America/New_York',
      from: '2026-01',
      to: '2026-06',
      currencies: [
        { currency: 'EUR', cohorts: eurCohorts },
        { currency: 'USD', cohorts: usdCohorts },
      ],
    });
    // A narrower range keeps the cohorts begun in it, with their months to its end.
    expect((await read('cohorts', 'from=2026-02&to=2026-03&currency=USD')).currencies).toEqual([
      {
        currency: 'USD',
        cohorts: [
          { ...usdCohorts[1], months: usdCohorts[1]!.months.slice(0, 2) },
          { ...usdCohorts[2], months: usdCohorts[2]!.months.slice(0, 1) },
        ],
      },
    ]);
  });

  // LTV by hand. Subscribers (USD) at each month's end: Jan 2 (S1 S2), Feb 4 (+S3 S4), Mar 5 (+S5 S6 −S2; S8 never one),
  // Apr 3 (−S5 on April 30 in New York, −S6), May 3, Jun 3; MRR 2600 each: 5200, 10400, 13000, 7800, 7800, 7800 → ARPA 2600.
  // Trailing churn over 3 months, Σ cancelled ÷ Σ subscribers at the start:
  //   Jan: Nov 0 + Dec 0 + Jan 0 at the start → null                         → predicted null
  //   Feb: 0 + 0 + 2 = 2, nobody cancelled → 0                               → null (churn 0: no end in sight)
  //   Mar: 0 + 2 + 4 = 6, cancelled 1 (S2) → 0.1667                          → 2600 × 6 / 1 = 15600
  //   Apr: 2 + 4 + 5 = 11, cancelled 1 + 2 (S5, S6) = 3 → 0.2727            → 2600 × 11 / 3 = 9533.33 → 9533
  //   May: 4 + 5 + 3 = 12, cancelled 3 → 0.25                                → 2600 × 12 / 3 = 10400
  //   Jun: 5 + 3 + 3 = 11, cancelled 2 → 0.1818                              → 2600 × 11 / 2 = 14300
  // EUR: S7 alone: subscribers at the end Jan 1, Feb 1, then 0 (no ARPA, no prediction); at the start 0, 1, 1, 0, 0, 0;
  //   windows: Jan 0 → null; Feb 1, 0 cancelled → 0; Mar 2, 1 → 0.5; Apr 2, 1 → 0.5; May 1, 1 → 1; Jun 0 → null.
  test('when LTV is read, then the prediction is ARPA over the trailing 3 months’ churn, null when churn is 0, and each cohort has its realised LTV', async () => {
    const usd = (month: string, subscribers: number, cancelled: number, atStart: number, churn: number | null, predicted: number | null) => ({
      month,
      mrrMinor: 2600 * subscribers,
      subscribers,
      arpaMinor: 2600,
      trailingCancelled: cancelled,
      trailingSubscribersAtStart: atStart,
      trailingChurnRate: churn,
      predictedLtvMinor: predicted,
    });
    const eur = (month: string, subscribers: number, cancelled: number, atStart: number, churn: number | null) => ({
      month,
      mrrMinor: 3000 * subscribers,
      subscribers,
      arpaMinor: subscribers > 0 ? 3000 : null,
      trailingCancelled: cancelled,
      trailingSubscribersAtStart: atStart,
      trailingChurnRate: churn,
      predictedLtvMinor: null,
    });
    const report = await read('ltv');
    expect(report).toMatchObject({ object: 'ltv_report', windowMonths: 3, timezone: 'America/New_York', from: '2026-01', to: '2026-06' });
    expect(report.method).toMatch(/ARPA .* ÷ .*3 months/);
    expect(report.currencies).toEqual([
      {
        currency: 'EUR',
        months: [
          eur('2026-01', 1, 0, 0, null),
          eur('2026-02', 1, 0, 1, 0),
          eur('2026-03', 0, 1, 2, 0.5),
          eur('2026-04', 0, 1, 2, 0.5),
          eur('2026-05', 0, 1, 1, 1),
          eur('2026-06', 0, 0, 0, null),
        ],
        cohorts: [{ cohort: '2026-01', size: 1, revenueToDateMinor: 6000, realisedLtvMinor: 6000 }],
      },
      {
        currency: 'USD',
        months: [
          usd('2026-01', 2, 0, 0, null, null),
          usd('2026-02', 4, 0, 2, 0, null),
          usd('2026-03', 5, 1, 6, 0.1667, 15600),
          usd('2026-04', 3, 3, 11, 0.2727, 9533),
          usd('2026-05', 3, 3, 12, 0.25, 10400),
          usd('2026-06', 3, 2, 11, 0.1818, 14300),
        ],
        cohorts: usdCohorts.map(({ cohort, size, revenueToDateMinor, realisedLtvMinor }) => ({ cohort, size, revenueToDateMinor, realisedLtvMinor })),
      },
    ]);
  });

  // Why they leave, by hand (USD): March — S2 too_expensive (S8's abandoned Checkout is not counted); offers shown to
  // S2, S4 and S5 (3), accepted by S4 (Mar 1) and S5 (Mar 20) (2), both 90 days old by June 20 (May 30, June 18): S4 never cancelled → still active;
  // S5 cancelled April 30 → not. April — S5 moving (voluntary, on April 30 in New York), S6 payment_failed
  // (involuntary). May — S3's skip is not a save. June — S1 shown the skip and took it, June 1: not 90 days old yet
  // (August 30). EUR: March — S7 moving.
  const noLeaving = {
    cancelled: 0,
    voluntary: 0,
    involuntary: 0,
    reasons: {},
    saveOffersShown: 0,
    saveOffersAccepted: 0,
    saved: 0,
    savedMatured: 0,
    savedStillActiveAfter90Days: 0,
  };
  const usdCancellations = [
    { ...noLeaving, month: '2026-01' },
    { ...noLeaving, month: '2026-02' },
    {
      ...noLeaving,
      month: '2026-03',
      cancelled: 1,
      voluntary: 1,
      reasons: { too_expensive: 1 },
      saveOffersShown: 3,
      saveOffersAccepted: 2,
      saved: 2,
      savedMatured: 2,
      savedStillActiveAfter90Days: 1,
    },
    { ...noLeaving, month: '2026-04', cancelled: 2, voluntary: 1, involuntary: 1, reasons: { moving: 1, payment_failed: 1 } },
    { ...noLeaving, month: '2026-05' },
    { ...noLeaving, month: '2026-06', saveOffersShown: 1, saveOffersAccepted: 1, saved: 1 },
  ];
  const eurCancellations = ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06'].map((month) =>
    month === '2026-03' ? { ...noLeaving, month, cancelled: 1, voluntary: 1, reasons: { moving: 1 } } : { ...noLeaving, month },
  );

  test('when LTV is read, then the daily MRR buckets are read once for every figure it needs, and no subscription’s MRR or retention record', async () => {
    const reads = await readsWhile(() => read('ltv'));
    // MRR, subscribers and churn (and the churn window before the range) from one read of the buckets; cohorts from theirs.
    expect(reads).toMatchObject({ analytics_daily: 1, analytics_retention_cohorts: 1 });
    expect(reads.analytics_subscriptions).toBeUndefined();
    expect(reads.analytics_retention_subscriptions).toBeUndefined();
  });

  test('when the cancellations are read, then each month has its reasons, save offers shown and accepted, and saved subscribers still active 90 days on', async () => {
    expect(await read('cancellations')).toEqual({
      object: 'cancellation_report',
      timezone: 'America/New_York',
      from: '2026-01',
      to: '2026-06',
      currencies: [
        { currency: 'EUR', months: eurCancellations },
        { currency: 'USD', months: usdCancellations },
      ],
    });
  });

  // Dunning by hand (USD), each counted in the month it happened:
  //   Feb: S2 starts (1 failed attempt), recovered Feb 13 after 1 failed attempt → 1 / 1 = 1; of the ended, 1 / 1 = 1
  //   Mar: S3 starts (attempts 1 and 2), not recovered yet → 0 / 1 = 0; none ended → null
  //   Apr: S6 starts (attempts 1, 2, 3) and ends unpaid; S3 recovered (after 2 attempts) → recovered ÷ started = 1 / 1 = 1,
  //        of the ended 1 / (1 + 1) = 0.5
  //   EUR had no dunning: not listed.
  const noDunning = { started: 0, failedAttempts: 0, recovered: 0, endedUnpaid: 0, recoveryRate: null, resolvedRecoveryRate: null, recoveredByAttempt: {} };
  const usdDunning = [
    { ...noDunning, month: '2026-01' },
    { month: '2026-02', started: 1, failedAttempts: 1, recovered: 1, endedUnpaid: 0, recoveryRate: 1, resolvedRecoveryRate: 1, recoveredByAttempt: { '1': 1 } },
    { month: '2026-03', started: 1, failedAttempts: 2, recovered: 0, endedUnpaid: 0, recoveryRate: 0, resolvedRecoveryRate: null, recoveredByAttempt: {} },
    {
      month: '2026-04',
      started: 1,
      failedAttempts: 3,
      recovered: 1,
      endedUnpaid: 1,
      recoveryRate: 1,
      resolvedRecoveryRate: 0.5,
      recoveredByAttempt: { '2': 1 },
    },
    { ...noDunning, month: '2026-05' },
    { ...noDunning, month: '2026-06' },
  ];

  test('when dunning is read, then recoveries count in the month they happen, by the number of failed attempts', async () => {
    expect(await read('dunning')).toEqual({
      object: 'dunning_report',
      timezone: 'America/New_York',
      from: '2026-01',
      to: '2026-06',
      currencies: [{ currency: 'USD', months: usdDunning }],
    });
  });

  test('when a report is read for one plan, then it has that plan’s subscribers only (each plan here sells in one currency)', async () => {
    const forPlan = (plan: string) => `from=2026-01&to=2026-06&plan=${plan}`;
    expect((await read('cohorts', forPlan(planIds.E))).currencies).toEqual([{ currency: 'EUR', cohorts: eurCohorts }]);
    expect((await read('cohorts', forPlan(planIds.A))).currencies).toEqual([{ currency: 'USD', cohorts: usdCohorts }]);
    expect((await read('dunning', forPlan(planIds.A))).currencies).toEqual([{ currency: 'USD', months: usdDunning }]);
    expect((await read('dunning', forPlan(planIds.E))).currencies).toEqual([]);
    const ltv = await read('ltv', forPlan(planIds.E));
    expect(ltv.currencies.map((c: { currency: string }) => c.currency)).toEqual(['EUR']);
    const leaving = await read('cancellations', forPlan(planIds.A));
    expect(leaving.currencies.map((c: { currency: string }) => c.currency)).toEqual(['USD']);
  });

  test('when a report is asked for as CSV, then nested counts become one column per key', async () => {
    const res = await api().get('/api/v1/metrics/cancellations?from=2026-03&to=2026-04&currency=USD&format=csv').set(merchant.auth).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toBe('attachment; filename="cancellations.csv"');
    expect(res.text).toBe(
      [
        'currency,month,cancelled,voluntary,involuntary,reasons.too_expensive,saveOffersShown,saveOffersAccepted,saved,savedMatured,savedStillActiveAfter90Days,reasons.moving,reasons.payment_failed',
        'USD,2026-03,1,1,0,1,3,2,2,2,1,0,0',
        'USD,2026-04,2,1,1,0,0,0,0,0,0,1,1',
        '',
      ].join('\r\n'),
    );
    const dunning = await api().get('/api/v1/metrics/dunning?from=2026-04&to=2026-04&format=csv').set(merchant.auth).expect(200);
    expect(dunning.text).toBe(
      'currency,month,started,failedAttempts,recovered,endedUnpaid,recoveryRate,resolvedRecoveryRate,recoveredByAttempt.2\r\nUSD,2026-04,1,3,1,1,1,0.5,1\r\n',
    );
    const cohorts = await api().get('/api/v1/metrics/cohorts?from=2026-03&to=2026-04&currency=USD&format=csv').set(merchant.auth).expect(200);
    expect(cohorts.text).toBe(
      'currency,cohort,size,revenueToDateMinor,realisedLtvMinor,month,offset,active,activeRate,paying,revenueMinor\r\n' +
        'USD,2026-03,2,7800,3900,2026-03,0,2,1,2,5200\r\nUSD,2026-03,2,7800,3900,2026-04,1,0,0,1,2600\r\n',
    );
  });

  test('when another store reads its metrics, then it sees none of these', async () => {
    for (const path of ['cohorts', 'cancellations', 'dunning']) {
      const res = await api().get(`/api/v1/metrics/${path}?from=2026-01&to=2026-06`).set(other.auth).expect(200);
      expect(res.body.currencies).toEqual([]);
    }
  });

  test('when every fact is followed again, twice at once, then nothing changes', async () => {
    const before = await Promise.all(['cohorts', 'ltv', 'cancellations', 'dunning'].map((p) => read(p)));
    for (const f of facts) await Promise.all([projectRetentionMetrics.run(deps(), f), projectRetentionMetrics.run(deps(), f)]);
    expect(await Promise.all(['cohorts', 'ltv', 'cancellations', 'dunning'].map((p) => read(p)))).toEqual(before);
  });

  test('when a worker died between the day’s counts and the subscription’s document, then the retry counts nothing twice', async () => {
    const before = await Promise.all(['cancellations', 'dunning'].map((p) => read(p)));
    // Every subscription fact that counts something looks unapplied on its subscription, as after such a crash.
    const counted = facts.filter((f) => f.subjectType === 'subscription' && !['subscription.created'].includes(f.type));
    for (const f of counted) await RetentionSubscriptionModel.updateOne({ _id: f.subjectId }, { $pull: { factIds: f._id } });
    for (const f of counted) await projectRetentionMetrics.run(deps(), f);
    expect(await Promise.all(['cancellations', 'dunning'].map((p) => read(p)))).toEqual(before);
  });

  test('when the rebuild folds in small batches (a page of 3 facts, written every 7), then it writes exactly the documents the listeners write', async () => {
    const before = await Promise.all(['cohorts', 'ltv', 'cancellations', 'dunning'].map((p) => read(p)));
    await projectThroughListeners(merchant.id);
    const followed = await projectionDocuments(merchant.id);
    // The cohort and save buckets are among them (the cohorts and saves are read from nothing else): a month of each
    // cohort's activity (USD Jan's 6, Feb's 5, Mar's 2; EUR Jan's 3), and, left empty, each cohort's first month with
    // no plan (its first box was followed before its subscription's creation, at the same instant, and moved).
    const counted = (b: unknown) => ['subscribers', 'paying', 'revenueMinor', 'boxes', 'cancelled'].some((k) => (b as Record<string, number>)[k] !== 0);
    expect(followed.retentionCohorts!.filter(counted)).toHaveLength(6 + 5 + 2 + 3);
    expect(followed.retentionCohorts!.filter((b) => !counted(b))).toHaveLength(4);
    expect(followed.retentionSaves).toHaveLength(2);
    await rebuildAnalytics({ merchantId: merchant.id, batch: { page: 3, flushEvery: 7 } });
    expect(await projectionDocuments(merchant.id)).toEqual(followed);
    expect(await Promise.all(['cohorts', 'ltv', 'cancellations', 'dunning'].map((p) => read(p)))).toEqual(before);
  });

  test('when the projections are rebuilt from the facts, then every figure is the same', async () => {
    const before = await Promise.all(['cohorts', 'ltv', 'cancellations', 'dunning'].map((p) => read(p)));
    await RetentionBucketModel.updateMany({ merchantId: merchant.id }, { $inc: { 'cancellations.total': 7 } }); // spoilt: the rebuild must drop it
    await RetentionSubscriptionModel.deleteOne({ _id: 'sub_S1' });
    const result = await rebuildAnalytics({ merchantId: merchant.id });
    expect(result).toEqual({ merchants: 1, facts: facts.length });
    expect(await Promise.all(['cohorts', 'ltv', 'cancellations', 'dunning'].map((p) => read(p)))).toEqual(before);
    expect(before[0].currencies).toHaveLength(2);
  });
});
