import { rebuildAnalytics } from '../../../src/analytics/analytics-projection.service';
import { applyFactToRetention } from '../../../src/analytics/retention-projection.service';
import { cancellationReport, cohortReport, ltvReport } from '../../../src/analytics/retention-metrics.service';
import { CohortBucketModel, RetentionSubscriptionModel } from '../../../src/analytics/retention.model';
import { FactModel } from '../../../src/events/fact.model';
import { FakeClock } from '../../../src/shared/time';
import { factHistory } from '../../factories/fact-history.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { documentsReadWhile } from '../../helpers/analytics-projections';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * The cohort and save buckets of the retention projection (src/analytics/retention.model.ts): what the cohorts,
 * LTV and cancellation reports read instead of a document per subscription. The store is in Paris; every fact
 * is at noon UTC, the same day there.
 */
describe('retention projection: cohort and save buckets', () => {
  useTestDatabase();

  const clock = new FakeClock('2026-06-20T12:00:00Z');
  const json = { format: 'json' as const, from: '2026-01', to: '2026-06' };

  /** A store's facts, made and followed in the order they are written (a late fact is followed late). */
  function store(merchantId: string) {
    const { made, fact, boxId } = factHistory(merchantId);
    return {
      made,
      created: (sub: string, day: string, planId = 'plan_a') =>
        fact('subscription', sub, sub, 'subscription.created', day, { planId, currency: 'USD', status: 'active' }),
      paid: (sub: string, day: string, amountPaidMinor: number) =>
        fact('box', boxId(sub), sub, 'box.paid', day, { cycleKey: day.slice(0, 7), amountPaidMinor, currency: 'USD' }),
      cancelled: (sub: string, day: string) => fact('subscription', sub, sub, 'subscription.cancelled', day, { reason: 'moving', mode: 'now', from: 'active' }),
      saved: (sub: string, day: string) =>
        fact('subscription', sub, sub, 'subscription.save_offer_accepted', day, { type: 'discount', percentOff: 20, cycleKey: day.slice(0, 7) }),
    };
  }

  /** The reports' figures without the labels, to compare stores of different sizes. */
  async function reports(merchantId: string) {
    return Promise.all([cohortReport(clock, merchantId, json), ltvReport(clock, merchantId, json), cancellationReport(clock, merchantId, json)]);
  }

  /**
   * A store of n subscriptions, each living one of five stories (so 5 and 50 have the same months, plans and
   * days): created Jan 10; paid in one of Jan–Mar and the month after; story 1 cancelled in April; story 2 saved
   * Feb 1; story 3 saved Feb 1 and cancelled Mar 1.
   */
  async function storeOf(n: number): Promise<string> {
    const merchant = await createMerchant({ timezone: 'Europe/Paris', defaultCurrency: 'USD' }, clock);
    const s = store(merchant.id);
    for (let i = 0; i < n; i += 1) {
      const sub = `sub_${n}_${i}`;
      const story = i % 5;
      const first = `2026-0${1 + (story % 3)}`;
      s.created(sub, '2026-01-10');
      s.paid(sub, `${first}-12`, 2600);
      s.paid(sub, `2026-0${2 + (story % 3)}-12`, 2600);
      if (story === 1) s.cancelled(sub, '2026-04-03');
      if (story === 2 || story === 3) s.saved(sub, '2026-02-01');
      if (story === 3) s.cancelled(sub, '2026-03-01');
    }
    for (const f of s.made) await applyFactToRetention(f);
    return merchant.id;
  }

  test('when a store has 50 subscriptions instead of 5, then the cohorts, LTV and cancellations read the same documents, and no subscription’s', async () => {
    const small = await storeOf(5);
    const large = await storeOf(50);
    const readSmall = await documentsReadWhile(() => reports(small));
    const readLarge = await documentsReadWhile(() => reports(large));
    expect(readLarge).toEqual(readSmall);
    expect(readSmall.analytics_retention_subscriptions).toBeUndefined();
    // The cohorts' months (January's: Jan, Feb, Mar; February's: Feb, Mar, Apr; March's: Mar, Apr), read by the
    // cohorts and by LTV, and one month of saves: whatever the number of subscribers.
    expect(readSmall).toMatchObject({ analytics_retention_cohorts: 2 * 8, analytics_retention_saves: 1 });
    // The same stories, ten times each.
    const [cohorts, , leaving] = await reports(large);
    expect(cohorts.currencies[0]!.cohorts.map((c) => [c.cohort, c.size, c.revenueToDateMinor])).toEqual([
      ['2026-01', 20, 20 * 5200],
      ['2026-02', 20, 20 * 5200],
      ['2026-03', 10, 10 * 5200],
    ]);
    expect(leaving.currencies[0]!.months[1]).toMatchObject({ month: '2026-02', saved: 20, savedMatured: 20, savedStillActiveAfter90Days: 10 });
  });

  test('when a box paid in an earlier month arrives late, then the subscription’s whole contribution moves to the earlier cohort, once', async () => {
    const merchant = await createMerchant({ timezone: 'Europe/Paris', defaultCurrency: 'USD' }, clock);
    const s = store(merchant.id);
    s.created('sub_m', '2026-01-05');
    s.paid('sub_m', '2026-03-10', 3000);
    s.paid('sub_m', '2026-04-10', 3000);
    s.cancelled('sub_m', '2026-05-20');
    for (const f of s.made) await applyFactToRetention(f);
    const month = (m: string, offset: number, active: number, paying: number, revenueMinor: number) => ({
      month: m,
      offset,
      active,
      activeRate: active,
      paying,
      revenueMinor,
    });
    expect((await cohortReport(clock, merchant.id, json)).currencies).toEqual([
      {
        currency: 'USD',
        cohorts: [
          {
            cohort: '2026-03',
            size: 1,
            revenueToDateMinor: 6000,
            realisedLtvMinor: 6000,
            months: [month('2026-03', 0, 1, 1, 3000), month('2026-04', 1, 1, 1, 3000), month('2026-05', 2, 0, 0, 0), month('2026-06', 3, 0, 0, 0)],
          },
        ],
      },
    ]);

    // February's box, followed last (its webhook was retried for days).
    const late = s.paid('sub_m', '2026-02-10', 2500);
    await applyFactToRetention(late);
    const moved = {
      cohort: '2026-02',
      size: 1,
      revenueToDateMinor: 8500,
      realisedLtvMinor: 8500,
      months: [
        month('2026-02', 0, 1, 1, 2500),
        month('2026-03', 1, 1, 1, 3000),
        month('2026-04', 2, 1, 1, 3000),
        month('2026-05', 3, 0, 0, 0),
        month('2026-06', 4, 0, 0, 0),
      ],
    };
    const after = await reports(merchant.id);
    expect(after[0].currencies).toEqual([{ currency: 'USD', cohorts: [moved] }]);
    expect(after[1].currencies[0]!.cohorts).toEqual([{ cohort: '2026-02', size: 1, revenueToDateMinor: 8500, realisedLtvMinor: 8500 }]);
    // March's cohort buckets are left with nothing; February's hold it all.
    const buckets = await CohortBucketModel.find({ merchantId: merchant.id }, { factIds: 0, _id: 0, merchantId: 0, currency: 0, planId: 0 }).lean();
    const held = buckets.filter((b) => b.subscribers || b.paying || b.revenueMinor || b.boxes || b.cancelled);
    expect(held.sort((a, b) => a.month.localeCompare(b.month))).toEqual([
      { cohort: '2026-02', month: '2026-02', subscribers: 1, paying: 1, revenueMinor: 2500, boxes: 1, cancelled: 0 },
      { cohort: '2026-02', month: '2026-03', subscribers: 0, paying: 1, revenueMinor: 3000, boxes: 1, cancelled: 0 },
      { cohort: '2026-02', month: '2026-04', subscribers: 0, paying: 1, revenueMinor: 3000, boxes: 1, cancelled: 0 },
      { cohort: '2026-02', month: '2026-05', subscribers: 0, paying: 0, revenueMinor: 0, boxes: 0, cancelled: 1 },
    ]);

    // The late fact replayed, twice at once: nothing changes.
    await Promise.all([applyFactToRetention(late), applyFactToRetention(late)]);
    expect(await reports(merchant.id)).toEqual(after);

    // Rebuilt from the facts (where February's box comes first): the same cohorts (LTV's months now have the MRR
    // the rebuild adds, which this test's listener did not follow).
    await FactModel.insertMany(s.made);
    await rebuildAnalytics({ merchantId: merchant.id, batch: { page: 2, flushEvery: 3 } });
    const rebuilt = await reports(merchant.id);
    expect([rebuilt[0], rebuilt[1].currencies[0]!.cohorts, rebuilt[2]]).toEqual([after[0], after[1].currencies[0]!.cohorts, after[2]]);
  });

  test('when two boxes of each subscription and its cancellation are followed at once, then each counts once in its cohort', async () => {
    const merchant = await createMerchant({ timezone: 'Europe/Paris', defaultCurrency: 'USD' }, clock);
    const s = store(merchant.id);
    const ids = Array.from({ length: 10 }, (_, i) => `sub_race${i}`);
    for (const id of ids) await applyFactToRetention(s.created(id, '2026-01-05'));
    // Boxes are followed by their own subjects: a later box can be followed before an earlier one, or with it.
    await Promise.all(
      ids.flatMap((id) => [s.paid(id, '2026-03-10', 3000), s.paid(id, '2026-02-10', 2500), s.cancelled(id, '2026-04-02')]).map((f) => applyFactToRetention(f)),
    );
    const [cohorts] = await reports(merchant.id);
    expect(cohorts.currencies[0]!.cohorts.map(({ cohort, size, revenueToDateMinor, months }) => ({ cohort, size, revenueToDateMinor, months }))).toEqual([
      {
        cohort: '2026-02',
        size: 10,
        revenueToDateMinor: 55_000,
        months: [
          { month: '2026-02', offset: 0, active: 10, activeRate: 1, paying: 10, revenueMinor: 25_000 },
          { month: '2026-03', offset: 1, active: 10, activeRate: 1, paying: 10, revenueMinor: 30_000 },
          { month: '2026-04', offset: 2, active: 0, activeRate: 0, paying: 0, revenueMinor: 0 },
          { month: '2026-05', offset: 3, active: 0, activeRate: 0, paying: 0, revenueMinor: 0 },
          { month: '2026-06', offset: 4, active: 0, activeRate: 0, paying: 0, revenueMinor: 0 },
        ],
      },
    ]);
    expect(await RetentionSubscriptionModel.countDocuments({ merchantId: merchant.id, 'pending.0': { $exists: true } })).toBe(0);
  });

  test('when a worker dies after the subscription’s update and before its cohort buckets, then the fact’s retry writes them, once', async () => {
    const merchant = await createMerchant({ timezone: 'Europe/Paris', defaultCurrency: 'USD' }, clock);
    const s = store(merchant.id);
    await applyFactToRetention(s.created('sub_d', '2026-01-05'));
    const box = s.paid('sub_d', '2026-02-10', 2500);
    const died = jest.spyOn(CohortBucketModel, 'updateOne').mockRejectedValueOnce(new Error('worker died'));
    await expect(applyFactToRetention(box)).rejects.toThrow('worker died');
    died.mockRestore();
    const stranded = await RetentionSubscriptionModel.findById('sub_d').lean();
    expect(stranded!.pending.map((p) => p.factId)).toEqual([box._id]);
    await applyFactToRetention(box);
    await applyFactToRetention(box);
    const [cohorts] = await reports(merchant.id);
    expect(cohorts.currencies[0]!.cohorts.map(({ cohort, size, revenueToDateMinor }) => ({ cohort, size, revenueToDateMinor }))).toEqual([
      { cohort: '2026-02', size: 1, revenueToDateMinor: 2500 },
    ]);
    expect((await RetentionSubscriptionModel.findById('sub_d').lean())!.pending).toEqual([]);
  });

  test('when saved subscribers are cancelled before, on and after the 90th day, then only the one cancelled after it was still active, whenever the report is read', async () => {
    const merchant = await createMerchant({ timezone: 'Europe/Paris', defaultCurrency: 'USD' }, clock);
    const s = store(merchant.id);
    for (const sub of ['sub_before', 'sub_on', 'sub_after']) {
      await applyFactToRetention(s.created(sub, '2026-01-05'));
      await applyFactToRetention(s.saved(sub, '2026-01-10')); // the 90th day after is April 10
    }
    const january = async (on: string) => {
      const report = await cancellationReport(new FakeClock(`${on}T12:00:00Z`), merchant.id, { format: 'json', from: '2026-01', to: '2026-01' });
      const { saved, savedMatured, savedStillActiveAfter90Days } = report.currencies[0]!.months[0]!;
      return { saved, savedMatured, savedStillActiveAfter90Days };
    };
    expect(await january('2026-03-01')).toEqual({ saved: 3, savedMatured: 0, savedStillActiveAfter90Days: 0 });
    await applyFactToRetention(s.cancelled('sub_before', '2026-03-31'));
    await applyFactToRetention(s.cancelled('sub_on', '2026-04-10'));
    expect(await january('2026-04-09')).toEqual({ saved: 3, savedMatured: 0, savedStillActiveAfter90Days: 0 });
    expect(await january('2026-04-10')).toEqual({ saved: 3, savedMatured: 3, savedStillActiveAfter90Days: 1 });
    await applyFactToRetention(s.cancelled('sub_after', '2026-04-11'));
    expect(await january('2026-06-20')).toEqual({ saved: 3, savedMatured: 3, savedStillActiveAfter90Days: 1 });
  });
});
