import request from 'supertest';
import { rebuildAnalytics } from '../../../src/analytics/analytics-projection.service';
import { projectBoxKpis } from '../../../src/analytics/box-kpis.listeners';
import { BoxKpiBucketModel, BoxKpiOrderModel, FirstBoxModel, FirstBoxWaitsModel } from '../../../src/analytics/box-kpis.model';
import { BOX_KPI_FACTS } from '../../../src/analytics/box-kpis.service';
import { FactModel, factId, type Fact } from '../../../src/events/fact.model';
import type { FactType, SubjectType } from '../../../src/events/fact-types';
import { listeners } from '../../../src/listeners';
import { postLedgerEntry } from '../../../src/loyalty/loyalty-ledger.service';
import { boxSummary } from '../../../src/orders/box-assembly.service';
import { FakeClock } from '../../../src/shared/time';
import type { StripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { documentsReadWhile, projectionDocuments, projectThroughListeners } from '../../helpers/analytics-projections';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/**
 * Two months of a tea-box store in New York, written by hand as the facts its boxes, subscriptions and gifts
 * record (every day below is New York's; 04:30Z is still the day before there). Every figure the box-service
 * metrics answer is worked out here, by hand.
 *
 * Subscriptions made:  S1 Jan 3 · S2 Jan 5 · S3 Jan 10 · S4 2026-01-31T04:00Z = Jan 30 · S5 Feb 2 (never ships)
 *
 * Boxes (promised ship date → shipped, local):
 *   O1 S1  ships Jan 10 → shipped Jan 10           on time     built Jan 7: TEA-GREEN ×1, MUG ×1, as chosen
 *          delivered Jan 13, rated 5 (Jan 14), rated again 4 (Jan 15): its rating is 4
 *   O2 S2  ships Jan 12 → 2026-01-13T04:30Z = Jan 12   on time built Jan 9: TEA-GREEN ×1 chosen, TEA-BLACK sent
 *          (a substitution); MUG ×1 left out (out of stock). Delivered Jan 16, rated 2 on Feb 2 (counts in January)
 *   O3 S3  ships Jan 17 → shipped Jan 20           late by 3   built Jan 14: TEA-GREEN ×2 as chosen; delivered Jan 23, never rated
 *   O4 S4  ships Feb 3: nothing of the plan in stock at the cut-off (Jan 31): cancelled, TEA-GREEN ×1 out of stock
 *   O5 S4  ships Feb 10, made at payment: TEA-GREEN ×1 back-ordered (Feb 5) → shipped Feb 12, late by 2;
 *          delivered Feb 14, rated 3 (Feb 15)
 *   O6 S1  ships Feb 10 → shipped Feb 10           on time     built Feb 7: TEA-GREEN ×1 and the gift GIFT-SOCKS ×1;
 *          delivered 2026-03-01T03:00Z = Feb 28, never rated
 *
 * Per month                    January                         February
 *   shipped / on time / late   3 / 2 (O1, O2) / 1 (O3)         2 / 1 (O6) / 1 (O5)
 *   on-time rate               2/3 = 0.6667                    1/2 = 0.5
 *   average days late          3                               2
 *   delivered / rated          3 (O1 O2 O3) / 2 (O1 O2)        2 (O5 O6) / 1 (O5)
 *   response rate              2/3 = 0.6667                    1/2 = 0.5
 *   average rating             (4 + 2) / 2 = 3                 3 / 1 = 3
 *   signed up / first shipped  4 / 4                           1 (S5) / 0
 *   days to first box          S1 Jan 3→Jan 10 = 7, S2 Jan 5→Jan 12 = 7, S3 Jan 10→Jan 20 = 10, S4 Jan 30→Feb 12 = 13
 *                              sorted 7 7 10 13: median (7 + 10)/2 = 8.5; p90 the ⌈0.9 × 4⌉ = 4th = 13      — / —
 *
 * Per SKU over January–February (units asked for at the cut-off; O5 was made at payment: back-ordered apart)
 *   GIFT-SOCKS  asked 1 (O6): filled 1                                   fill 1
 *   MUG         asked 2 (O1, O2): filled 1, out of stock 1 (O2)          fill 0.5, out of stock 0.5
 *   TEA-GREEN   asked 1 (O1) + 1 (O2) + 2 (O3) + 1 (O4) + 1 (O6) = 6:
 *               filled 1 + 2 + 1 = 4, substituted 1 (O2), out of stock 1 (O4)
 *               fill 4/6 = 0.6667, substitution 1/6 = 0.1667, out of stock 1/6 = 0.1667; back-ordered 1 (O5)
 *   (TEA-BLACK, sent instead, was not asked for: not listed)
 *
 * Gift campaigns:  A (USD, 3.50 a gift): G1 granted Jan 25, delivered 2026-03-01T03:00Z = Feb 28; G2 granted Jan 25,
 *                  returned Feb 8 (out of stock); G3 granted Feb 1
 *                  → granted 3, delivered 1, returned 1; cost 3 × 350 − 350 = 700
 *                  B (EUR, 5.00 a gift): G4 granted Feb 3, returned Feb 4 (box cancelled) → granted 1, returned 1, cost 0
 *
 * Loyalty (USD, 100 points = 10.00): Ana earns 250 points, Ben 120; Ana redeems 200 points (+2000 credit), and a
 * box takes 1500 of her credit → outstanding 250 + 120 − 200 = 170 points and 2000 − 1500 = 500 credit.
 */
describe('box-service KPIs: two hand-written months of a store', () => {
  useTestDatabase();

  const clock = new FakeClock('2026-03-05T15:00:00Z');
  const { app } = buildTestApp({ clock });
  const deps = { clock, logger: silentLogger, stripe: {} as StripeGateway };
  let merchant: TestMerchant;
  const history: Fact[] = [];
  const seqs = new Map<string, number>();

  const SUBJECT: Record<string, SubjectType> = { subscription: 'subscription', box: 'box', gift: 'gift_award' };

  /** Records a fact as the relay would, and follows it with the listener. */
  async function happened(type: FactType, subjectId: string, at: string, data: Record<string, unknown>, subscriptionId?: string, m: TestMerchant = merchant) {
    const seq = (seqs.get(subjectId) ?? 0) + 1;
    seqs.set(subjectId, seq);
    const fact = (
      await FactModel.create({
        _id: factId(subjectId, seq),
        merchantId: m.id,
        type,
        subjectType: SUBJECT[type.split('.')[0]!]!,
        subjectId,
        seq,
        at: new Date(at),
        actor: { kind: 'system' },
        data,
        ...(subscriptionId ? { subscriptionId } : {}),
        relayedAt: new Date(at),
        done: [],
        state: 'succeeded',
        attempts: 0,
      })
    ).toObject() as Fact;
    history.push(fact);
    await projectBoxKpis.run(deps, fact);
  }

  const line = (sku: string, quantity: number, extra: Record<string, unknown> = {}) => ({
    kind: 'plan',
    description: sku,
    sku,
    quantity,
    amountMinor: 2600,
    ...extra,
  });
  const reserved = (shipOn: string, lines: unknown[], omitted: unknown[] = []) => ({
    cycleKey: shipOn,
    shipOn,
    amountDueMinor: 2600,
    currency: 'USD',
    lines,
    omitted,
  });
  const moved = (shipOn: string) => ({ cycleKey: shipOn, shipOn, from: 'paid' });

  const get = async (path: string, m: TestMerchant = merchant) => (await request(app).get(`/api/v1/metrics/${path}`).set(m.auth).expect(200)).body;
  const allReports = async () => ({
    service: await get('box-service?from=2026-01&to=2026-02'),
    skus: await get('box-service/skus?from=2026-01&to=2026-02'),
    gifts: await get('box-service/gifts?from=2026-01&to=2026-02'),
    loyalty: await get('box-service/loyalty-liability'),
  });

  beforeAll(async () => {
    merchant = await createMerchant({ timezone: 'America/New_York', defaultCurrency: 'USD' }, clock);
    const other = await createMerchant({ timezone: 'Europe/Paris', defaultCurrency: 'EUR' }, clock);

    await happened('subscription.created', 'sub_s1', '2026-01-03T15:00:00Z', { planId: 'plan_t' });
    await happened('subscription.created', 'sub_s2', '2026-01-05T15:00:00Z', { planId: 'plan_t' });
    await happened('subscription.created', 'sub_s3', '2026-01-10T15:00:00Z', { planId: 'plan_t' });
    await happened('subscription.created', 'sub_s4', '2026-01-31T04:00:00Z', { planId: 'plan_t' });

    // O1: as chosen, on time, rated 5 then 4
    await happened(
      'box.reserved',
      'ord_o1',
      '2026-01-07T15:00:00Z',
      reserved('2026-01-10', [line('TEA-GREEN', 1), line('MUG', 1, { kind: 'addon' })]),
      'sub_s1',
    );
    await happened('box.shipped', 'ord_o1', '2026-01-10T20:00:00Z', moved('2026-01-10'), 'sub_s1');
    await happened('box.delivered', 'ord_o1', '2026-01-13T18:00:00Z', moved('2026-01-10'), 'sub_s1');
    await happened('box.rated', 'ord_o1', '2026-01-14T18:00:00Z', { cycleKey: '2026-01-10', score: 5, hasComment: false, rerated: false }, 'sub_s1');
    await happened('box.rated', 'ord_o1', '2026-01-15T18:00:00Z', { cycleKey: '2026-01-10', score: 4, hasComment: true, rerated: true }, 'sub_s1');

    // O2: TEA-BLACK sent for TEA-GREEN, the mug left out; shipped late at night UTC, still the promised day in New York
    await happened(
      'box.reserved',
      'ord_o2',
      '2026-01-09T15:00:00Z',
      reserved('2026-01-12', [line('TEA-BLACK', 1, { chosenSku: 'TEA-GREEN' })], [{ description: 'Mug', sku: 'MUG', quantity: 1 }]),
      'sub_s2',
    );
    await happened('box.adjusted', 'ord_o2', '2026-01-09T15:00:00Z', { cycleKey: '2026-01-12', substituted: [], omitted: [] }, 'sub_s2');
    await happened('box.shipped', 'ord_o2', '2026-01-13T04:30:00Z', moved('2026-01-12'), 'sub_s2');
    await happened('box.delivered', 'ord_o2', '2026-01-16T18:00:00Z', moved('2026-01-12'), 'sub_s2');

    // O3: late by 3 days, never rated
    await happened('box.reserved', 'ord_o3', '2026-01-14T15:00:00Z', reserved('2026-01-17', [line('TEA-GREEN', 2)]), 'sub_s3');
    await happened('box.shipped', 'ord_o3', '2026-01-20T15:00:00Z', moved('2026-01-17'), 'sub_s3');
    await happened('box.delivered', 'ord_o3', '2026-01-23T15:00:00Z', moved('2026-01-17'), 'sub_s3');

    // Gifts granted before February's boxes
    await happened('gift.granted', 'gaw_g1', '2026-01-25T15:00:00Z', { campaignId: 'gcm_a', cycleKey: '2026-02-10', unitCostMinor: 350, currency: 'USD' });
    await happened('gift.granted', 'gaw_g2', '2026-01-25T15:00:00Z', { campaignId: 'gcm_a', cycleKey: '2026-02-12', unitCostMinor: 350, currency: 'USD' });

    // O4: nothing of the plan in stock at the cut-off: the box is cancelled
    await happened(
      'box.cancelled',
      'ord_o4',
      '2026-01-31T15:00:00Z',
      { cycleKey: '2026-02-03', shipOn: '2026-02-03', reason: 'out_of_stock', from: 'reserved', sku: 'TEA-GREEN', quantity: 1 },
      'sub_s4',
    );

    // February
    await happened('gift.granted', 'gaw_g3', '2026-02-01T15:00:00Z', { campaignId: 'gcm_a', cycleKey: '2026-03-10', unitCostMinor: 350, currency: 'USD' });
    await happened('subscription.created', 'sub_s5', '2026-02-02T15:00:00Z', { planId: 'plan_t' });
    await happened('box.rated', 'ord_o2', '2026-02-02T18:00:00Z', { cycleKey: '2026-01-12', score: 2, hasComment: false, rerated: false }, 'sub_s2');
    await happened('gift.granted', 'gaw_g4', '2026-02-03T15:00:00Z', { campaignId: 'gcm_b', cycleKey: '2026-02-20', unitCostMinor: 500, currency: 'EUR' });
    await happened('gift.returned', 'gaw_g4', '2026-02-04T15:00:00Z', { campaignId: 'gcm_b', reason: 'order_cancelled', unitCostMinor: 500, currency: 'EUR' });

    // O5: made at payment, back-ordered, late by 2 days, rated 3
    await happened(
      'box.back_ordered',
      'ord_o5',
      '2026-02-05T15:00:00Z',
      { cycleKey: '2026-02-10', shipOn: '2026-02-10', short: [{ description: 'Green', sku: 'TEA-GREEN', quantity: 1 }] },
      'sub_s4',
    );
    await happened(
      'box.reserved',
      'ord_o6',
      '2026-02-07T15:00:00Z',
      reserved('2026-02-10', [line('TEA-GREEN', 1), line('GIFT-SOCKS', 1, { kind: 'addon', grantedBy: 'gift', amountMinor: 0 })]),
      'sub_s1',
    );
    await happened('gift.returned', 'gaw_g2', '2026-02-08T15:00:00Z', { campaignId: 'gcm_a', reason: 'out_of_stock', unitCostMinor: 350, currency: 'USD' });
    await happened('box.shipped', 'ord_o6', '2026-02-10T15:00:00Z', moved('2026-02-10'), 'sub_s1');
    await happened('box.shipped', 'ord_o5', '2026-02-12T15:00:00Z', moved('2026-02-10'), 'sub_s4');
    await happened('box.delivered', 'ord_o5', '2026-02-14T15:00:00Z', moved('2026-02-10'), 'sub_s4');
    await happened('box.rated', 'ord_o5', '2026-02-15T15:00:00Z', { cycleKey: '2026-02-10', score: 3, hasComment: false, rerated: false }, 'sub_s4');
    await happened('box.delivered', 'ord_o6', '2026-03-01T03:00:00Z', moved('2026-02-10'), 'sub_s1');
    await happened('gift.delivered', 'gaw_g1', '2026-03-01T03:00:00Z', {
      campaignId: 'gcm_a',
      orderId: 'ord_o6',
      shipOn: '2026-02-10',
      boxStatus: 'delivered',
    });

    // Another store's box, shipped the same day: never in this store's figures.
    await happened('box.shipped', 'ord_other', '2026-01-10T15:00:00Z', moved('2026-01-01'), 'sub_other', other);

    // Loyalty: points earned on paid boxes, a redemption, credit taken by a box.
    await request(app)
      .put('/api/v1/loyalty-program')
      .set(merchant.auth)
      .send({
        enabled: true,
        pointsPerUnit: 10,
        redemption: { points: 100, creditMinor: 1000 },
        autoApply: false,
        expiry: { afterMonths: 12, noticeDays: 14 },
        tierBasis: 'paid_boxes',
        tiers: [{ key: 'silver', name: 'Silver', threshold: 2, earnMultiplierPercent: 150 }],
      })
      .expect(200);
    const customer = async (name: string) =>
      (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput({ name })).expect(201)).body.id as string;
    const ana = await customer('Ana Points');
    const ben = await customer('Ben Points');
    const earn = (customerId: string, source: string, points: number) =>
      postLedgerEntry(clock, { merchantId: merchant.id, customerId, source, kind: 'earn', points, currency: 'USD', description: 'A paid box' });
    await earn(ana, 'invoice:in_a1', 250);
    await earn(ben, 'invoice:in_b1', 120);
    await request(app).post(`/api/v1/customers/${ana}/loyalty/redemptions`).set(merchant.auth).send({ points: 200 }).expect(201);
    await postLedgerEntry(clock, {
      merchantId: merchant.id,
      customerId: ana,
      source: 'apply:ord_o7',
      kind: 'apply',
      creditMinor: -1500,
      currency: 'USD',
      description: 'Credit on a box',
    });
  });

  const EXPECTED_MONTHS = [
    {
      month: '2026-01',
      shipped: 3,
      shippedOnTime: 2,
      shippedLate: 1,
      onTimeRate: 0.6667,
      averageDaysLate: 3,
      delivered: 3,
      rated: 2,
      ratingResponseRate: 0.6667,
      averageRating: 3,
      signedUp: 4,
      firstBoxShipped: 4,
      medianDaysToFirstBox: 8.5,
      p90DaysToFirstBox: 13,
    },
    {
      month: '2026-02',
      shipped: 2,
      shippedOnTime: 1,
      shippedLate: 1,
      onTimeRate: 0.5,
      averageDaysLate: 2,
      delivered: 2,
      rated: 1,
      ratingResponseRate: 0.5,
      averageRating: 3,
      signedUp: 1,
      firstBoxShipped: 0,
      medianDaysToFirstBox: null,
      p90DaysToFirstBox: null,
    },
  ];

  const EXPECTED_SKUS = [
    {
      sku: 'GIFT-SOCKS',
      requestedUnits: 1,
      filledUnits: 1,
      substitutedUnits: 0,
      outOfStockUnits: 0,
      fillRate: 1,
      substitutionRate: 0,
      outOfStockRate: 0,
      backOrderedUnits: 0,
    },
    {
      sku: 'MUG',
      requestedUnits: 2,
      filledUnits: 1,
      substitutedUnits: 0,
      outOfStockUnits: 1,
      fillRate: 0.5,
      substitutionRate: 0,
      outOfStockRate: 0.5,
      backOrderedUnits: 0,
    },
    {
      sku: 'TEA-GREEN',
      requestedUnits: 6,
      filledUnits: 4,
      substitutedUnits: 1,
      outOfStockUnits: 1,
      fillRate: 0.6667,
      substitutionRate: 0.1667,
      outOfStockRate: 0.1667,
      backOrderedUnits: 1,
    },
  ];

  const EXPECTED_GIFTS = [
    { campaignId: 'gcm_a', currency: 'USD', granted: 3, delivered: 1, returned: 1, grantedCostMinor: 1050, returnedCostMinor: 350, costMinor: 700 },
    { campaignId: 'gcm_b', currency: 'EUR', granted: 1, delivered: 0, returned: 1, grantedCostMinor: 500, returnedCostMinor: 500, costMinor: 0 },
  ];

  test('when the store’s two months are read, then shipping on time, ratings and days to the first box are the figures worked out by hand', async () => {
    const report = await get('box-service?from=2026-01&to=2026-02');
    expect(report).toEqual({ object: 'box_service_report', timezone: 'America/New_York', from: '2026-01', to: '2026-02', months: EXPECTED_MONTHS });
  });

  test('when the days to the first box are read, then the report reads one document per month of the range, and no subscription’s', async () => {
    const read = await documentsReadWhile(() => get('box-service?from=2026-01&to=2026-02'));
    expect(read.analytics_first_boxes).toBeUndefined();
    expect(read.analytics_first_box_waits).toBe(2);
    // January's waits, as the listener keeps them: S1 7 days, S2 7, S3 10, S4 13 (Jan 30 → Feb 12).
    const january = await FirstBoxWaitsModel.findById(`${merchant.id}:2026-01`).lean();
    expect(january).toMatchObject({ month: '2026-01', signedUp: 4, days: { 7: 2, 10: 1, 13: 1 } });
  });

  test('when the SKUs are read, then fill, substitution and out-of-stock rates are the figures worked out by hand', async () => {
    expect((await get('box-service/skus?from=2026-01&to=2026-02')).skus).toEqual(EXPECTED_SKUS);
    // January alone: O6 (GIFT-SOCKS, TEA-GREEN ×1) and O5's back-order are February's.
    const january = (await get('box-service/skus?from=2026-01&to=2026-01')).skus;
    expect(january.map((s: { sku: string; requestedUnits: number; backOrderedUnits: number }) => [s.sku, s.requestedUnits, s.backOrderedUnits])).toEqual([
      ['MUG', 2, 0],
      ['TEA-GREEN', 5, 0],
    ]);
  });

  test('when gift campaigns are read, then each has its count and cost in its own currency, and a currency filter keeps only its campaigns', async () => {
    expect((await get('box-service/gifts?from=2026-01&to=2026-02')).campaigns).toEqual(EXPECTED_GIFTS);
    expect((await get('box-service/gifts?from=2026-01&to=2026-02&currency=EUR')).campaigns).toEqual([EXPECTED_GIFTS[1]]);
  });

  test('when the loyalty liability is read, then it is the points and credit the shoppers hold now', async () => {
    expect(await get('box-service/loyalty-liability')).toEqual({
      object: 'loyalty_liability_report',
      currencies: [{ currency: 'USD', points: 170, creditMinor: 500 }],
    });
  });

  test('when every fact is delivered again, then no figure changes', async () => {
    const before = await allReports();
    for (const fact of history) await projectBoxKpis.run(deps, fact);
    expect(await allReports()).toEqual(before);
    expect((await allReports()).service.months).toEqual(EXPECTED_MONTHS);
  });

  test('when the projections are rebuilt from the facts, then every figure is the same', async () => {
    await BoxKpiBucketModel.updateMany({ merchantId: merchant.id }, { $set: { 'n.shipped': 99 } }); // damage, to see the rebuild mend it
    await rebuildAnalytics({ merchantId: merchant.id });
    const after = await allReports();
    expect(after.service.months).toEqual(EXPECTED_MONTHS);
    expect(after.skus.skus).toEqual(EXPECTED_SKUS);
    expect(after.gifts.campaigns).toEqual(EXPECTED_GIFTS);
    expect(await BoxKpiOrderModel.countDocuments({ merchantId: merchant.id })).toBe(6);
    expect(await FirstBoxModel.countDocuments({ merchantId: merchant.id })).toBe(5);
    expect(await FirstBoxWaitsModel.countDocuments({ merchantId: merchant.id })).toBe(2);
  });

  test('when the rebuild folds in small batches (a page of 3 facts, written every 7), then it writes exactly the documents the listeners write', async () => {
    const before = await allReports();
    await projectThroughListeners(merchant.id);
    const followed = await projectionDocuments(merchant.id);
    await rebuildAnalytics({ merchantId: merchant.id, batch: { page: 3, flushEvery: 7 } });
    expect(await projectionDocuments(merchant.id)).toEqual(followed);
    expect(await allReports()).toEqual(before);
  });

  test('when a report is asked for as CSV, then it is one row per month with the JSON field names as the header', async () => {
    const res = await request(app).get('/api/v1/metrics/box-service?from=2026-01&to=2026-02&format=csv').set(merchant.auth).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toBe('attachment; filename="box-service.csv"');
    expect(res.text.split('\r\n')).toEqual([
      'month,shipped,shippedOnTime,shippedLate,onTimeRate,averageDaysLate,delivered,rated,ratingResponseRate,averageRating,signedUp,firstBoxShipped,medianDaysToFirstBox,p90DaysToFirstBox',
      '2026-01,3,2,1,0.6667,3,3,2,0.6667,3,4,4,8.5,13',
      '2026-02,2,1,1,0.5,2,2,1,0.5,3,1,0,,',
      '',
    ]);
    const skus = await request(app).get('/api/v1/metrics/box-service/skus?from=2026-01&to=2026-02&format=csv').set(merchant.auth).expect(200);
    expect(skus.text.split('\r\n')[3]).toBe('TEA-GREEN,6,4,1,1,0.6667,0.1667,0.1667,1');
  });
});

describe('box-service KPIs: the wiring and the facts they read', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-03-01T03:00:00Z');
  const { app } = buildTestApp({ clock });

  test('when any fact the KPIs read is recorded, then the listener table follows it with the box-KPI projector, after the other rows', () => {
    for (const type of BOX_KPI_FACTS) expect(listeners[type]?.at(-1)?.name).toBe('analytics.project-box-kpis');
  });

  test('when a box is built with a substitution and a line left out, then box.reserved says which SKU was chosen and what was left out', () => {
    const summary = boxSummary(
      {
        cycleKey: '2026-02-10',
        shipOn: '2026-02-10',
        currency: 'USD',
        lines: [
          {
            kind: 'plan',
            description: 'Black tea',
            sku: 'TEA-BLACK',
            quantity: 1,
            unitAmountMinor: 2600,
            amountMinor: 2600,
            substitutedFor: { sku: 'TEA-GREEN', description: 'Green tea', rule: 'second_choice' },
          },
        ],
        omittedLines: [
          { description: 'Mug', sku: 'MUG', quantity: 1, reason: 'out_of_stock' },
          { description: 'Spoon', sku: 'SPOON', quantity: 1, reason: 'not_billed' },
        ],
      } as never,
      2600,
    );
    expect(summary.lines).toEqual([{ kind: 'plan', description: 'Black tea', sku: 'TEA-BLACK', quantity: 1, amountMinor: 2600, chosenSku: 'TEA-GREEN' }]);
    expect(summary.omitted).toEqual([{ description: 'Mug', sku: 'MUG', quantity: 1 }]);
  });

  test('when the OpenAPI document is fetched, then the four box-service operations are in it, with their CSV answer and strict queries', async () => {
    const document = (await request(app).get('/api/v1/openapi.json').expect(200)).body;
    for (const [path, params] of [
      ['/api/v1/metrics/box-service', ['from', 'to', 'format']],
      ['/api/v1/metrics/box-service/skus', ['from', 'to', 'format']],
      ['/api/v1/metrics/box-service/gifts', ['from', 'to', 'currency', 'format']],
      ['/api/v1/metrics/box-service/loyalty-liability', ['currency', 'format']],
    ] as const) {
      const operation = document.paths[path].get;
      expect([path, Object.keys(operation.responses['200'].content)]).toEqual([path, ['application/json', 'text/csv']]);
      expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual(params);
    }
  });

  test('when several workers apply the same facts at once, or one died before recording the box’s state, then each fact counts once', async () => {
    const merchant = await createMerchant({ timezone: 'UTC' }, clock);
    const deps = { clock, logger: silentLogger, stripe: {} as StripeGateway };
    const fact = (type: FactType, subjectId: string, seq: number, at: string, data: Record<string, unknown>, subscriptionId?: string) =>
      ({
        _id: factId(subjectId, seq),
        merchantId: merchant.id,
        type,
        subjectType: type.startsWith('gift.') ? 'gift_award' : type.startsWith('box.') ? 'box' : 'subscription',
        subjectId,
        seq,
        at: new Date(at),
        actor: { kind: 'system' },
        data,
        ...(subscriptionId ? { subscriptionId } : {}),
      }) as unknown as Fact;
    const facts = [
      fact('subscription.created', 'sub_c', 1, '2026-02-01T10:00:00Z', {}),
      fact('box.shipped', 'ord_c', 1, '2026-02-05T10:00:00Z', { shipOn: '2026-02-04' }, 'sub_c'),
      fact('box.delivered', 'ord_c', 2, '2026-02-07T10:00:00Z', { shipOn: '2026-02-04' }, 'sub_c'),
      fact('box.rated', 'ord_c', 3, '2026-02-08T10:00:00Z', { score: 5 }, 'sub_c'),
      fact('gift.granted', 'gaw_c', 1, '2026-02-01T10:00:00Z', { campaignId: 'gcm_c', unitCostMinor: 250, currency: 'USD' }),
    ];
    for (const f of facts) await Promise.all([1, 2, 3, 4].map(() => projectBoxKpis.run(deps, f)));
    // A worker wrote the rating's bucket, then died before the box's state: the retry adds nothing twice.
    await BoxKpiOrderModel.updateOne({ _id: 'ord_c' }, { $set: { lastSeq: 2 }, $unset: { score: 1 } });
    await projectBoxKpis.run(deps, facts[3]!);
    const get = async (path: string) => (await request(app).get(`/api/v1/metrics/${path}?from=2026-02&to=2026-02`).set(merchant.auth).expect(200)).body;
    expect((await get('box-service')).months).toEqual([
      expect.objectContaining({
        shipped: 1,
        shippedLate: 1,
        averageDaysLate: 1,
        delivered: 1,
        rated: 1,
        averageRating: 5,
        signedUp: 1,
        medianDaysToFirstBox: 4,
      }),
    ]);
    expect((await get('box-service/gifts')).campaigns).toEqual([expect.objectContaining({ granted: 1, grantedCostMinor: 250, costMinor: 250 })]);
    expect(await BoxKpiOrderModel.findById('ord_c').lean()).toMatchObject({ lastSeq: 3, score: 5 });
  });

  test.each([
    ['box-service', 'an unknown field', 'bogus=1', 'query.bogus'],
    ['box-service', 'a currency (not a filter of this report)', 'currency=USD', 'query.currency'],
    ['box-service/skus', 'a day instead of a month', 'to=2026-01-31', 'query.to'],
    ['box-service/skus', 'a range that ends before it starts', 'from=2026-03&to=2026-01', 'query.from'],
    ['box-service/gifts', 'a currency in lower case', 'currency=usd', 'query.currency'],
    ['box-service/gifts', 'a range longer than 36 months', 'from=2020-01&to=2026-01', 'query.from'],
    ['box-service/loyalty-liability', 'a range (it is now)', 'from=2026-01', 'query.from'],
    ['box-service/loyalty-liability', 'an unknown format', 'format=xml', 'query.format'],
  ])('when %s is asked with %s, then it answers 400 invalid_request naming the field', async (path, _what, query, field) => {
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const res = await request(app).get(`/api/v1/metrics/${path}?${query}`).set(merchant.auth).expect(400);
    expect(res.body.type).toBe('/problems/invalid_request');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });

  test('when a store with no facts reads the box service with no range, then it is the 12 months to this month in its time zone, all empty', async () => {
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const report = (await request(app).get('/api/v1/metrics/box-service').set(merchant.auth).expect(200)).body;
    expect([report.from, report.to, report.months.length]).toEqual(['2025-03', '2026-02', 12]);
    expect(report.months[11]).toMatchObject({ shipped: 0, onTimeRate: null, averageRating: null, medianDaysToFirstBox: null });
    await request(app).get('/api/v1/metrics/box-service').expect(401);
  });
});
