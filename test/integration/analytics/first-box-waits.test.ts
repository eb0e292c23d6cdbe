import { FirstBoxModel, FirstBoxWaitsModel } from '../../../src/analytics/box-kpis.model';
import { boxServiceReport } from '../../../src/analytics/box-kpis.reports';
import { applyFactToBoxKpis, rebuildBoxKpis } from '../../../src/analytics/box-kpis.service';
import { FactModel } from '../../../src/events/fact.model';
import { FakeClock } from '../../../src/shared/time';
import { factHistory } from '../../factories/fact-history.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { documentsReadWhile } from '../../helpers/analytics-projections';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * The first-box waits (src/analytics/box-kpis.model.ts, `FirstBoxWaits`): one document per store and month of
 * sign-up, kept by difference from each subscription's first box, and all the box-service report reads for the
 * days to the first box. The store is in Paris; every fact is at noon UTC, the same day there.
 */
describe('box-service projection: first-box waits per month of sign-up', () => {
  useTestDatabase();

  const clock = new FakeClock('2026-06-20T12:00:00Z');
  const query = { format: 'json' as const, from: '2026-01', to: '2026-03' };

  /** A store's facts, made in the order they are written (and followed in that order unless a test says otherwise). */
  function store(merchantId: string) {
    const { made, fact, boxId } = factHistory(merchantId);
    return {
      made,
      created: (sub: string, day: string) => fact('subscription', sub, sub, 'subscription.created', day, { planId: 'plan_a', status: 'active' }),
      shipped: (sub: string, day: string) => fact('box', boxId(sub), sub, 'box.shipped', day, { cycleKey: day, shipOn: day, from: 'paid' }),
    };
  }

  /** The report's first-box figures per month. */
  async function firstBoxFigures(merchantId: string) {
    return (await boxServiceReport(clock, merchantId, query)).months.map(({ month, signedUp, firstBoxShipped, medianDaysToFirstBox, p90DaysToFirstBox }) => ({
      month,
      signedUp,
      firstBoxShipped,
      medianDaysToFirstBox,
      p90DaysToFirstBox,
    }));
  }

  /** The store's waits documents, without the facts listed in them. */
  async function waitsOf(merchantId: string) {
    return FirstBoxWaitsModel.find({ merchantId }, { factIds: 0, merchantId: 0 }).sort({ _id: 1 }).lean();
  }

  async function paris() {
    return (await createMerchant({ timezone: 'Europe/Paris', defaultCurrency: 'USD' }, clock)).id;
  }

  /**
   * A store of n subscriptions, each living one of five stories (so 5 and 50 have the same months and shipping
   * days): made Jan 5 and shipped Jan 10 (5 days), Jan 12 (7) or Jan 20 (15); made Feb 5 and shipped Feb 9 (4);
   * made Feb 5, never shipped.
   */
  async function storeOf(n: number): Promise<string> {
    const merchantId = await paris();
    const s = store(merchantId);
    for (let i = 0; i < n; i += 1) {
      const sub = `sub_${n}_${i}`;
      const story = i % 5;
      s.created(sub, story < 3 ? '2026-01-05' : '2026-02-05');
      if (story < 4) s.shipped(sub, ['2026-01-10', '2026-01-12', '2026-01-20', '2026-02-09'][story]!);
    }
    for (const f of s.made) await applyFactToBoxKpis(f);
    return merchantId;
  }

  test('when a store has 50 subscriptions instead of 5, then the report reads the same documents, one per month of sign-up, and no subscription’s', async () => {
    const small = await storeOf(5);
    const large = await storeOf(50);
    const readSmall = await documentsReadWhile(() => boxServiceReport(clock, small, query));
    const readLarge = await documentsReadWhile(() => boxServiceReport(clock, large, query));
    expect(readLarge).toEqual(readSmall);
    expect(readSmall.analytics_first_boxes).toBeUndefined();
    expect(readSmall.analytics_first_box_waits).toBe(2);
    // The same stories, ten times each: January 5 ×10, 7 ×10, 15 ×10 (the 27th of 30 is 15); February 4 ×10.
    expect(await firstBoxFigures(large)).toEqual([
      { month: '2026-01', signedUp: 30, firstBoxShipped: 30, medianDaysToFirstBox: 7, p90DaysToFirstBox: 15 },
      { month: '2026-02', signedUp: 20, firstBoxShipped: 10, medianDaysToFirstBox: 4, p90DaysToFirstBox: 4 },
      { month: '2026-03', signedUp: 0, firstBoxShipped: 0, medianDaysToFirstBox: null, p90DaysToFirstBox: null },
    ]);
  });

  test('when the sign-up comes after the shipment, and an earlier shipment after a later one, then the subscription moves to its month and its days, once, and a rebuild agrees', async () => {
    const merchantId = await paris();
    const s = store(merchantId);
    await applyFactToBoxKpis(s.created('sub_b', '2026-01-10'));
    await applyFactToBoxKpis(s.shipped('sub_b', '2026-01-17')); // 7 days
    // sub_a's second box is followed first: no sign-up known yet, so it is in no month.
    s.created('sub_a', '2026-01-28');
    const [signUp] = s.made.splice(-1);
    const second = s.shipped('sub_a', '2026-03-20');
    await applyFactToBoxKpis(second);
    const january = (figures: object) => [
      figures,
      expect.objectContaining({ month: '2026-02', signedUp: 0 }),
      expect.objectContaining({ month: '2026-03', signedUp: 0 }),
    ];
    expect(await firstBoxFigures(merchantId)).toEqual(
      january({ month: '2026-01', signedUp: 1, firstBoxShipped: 1, medianDaysToFirstBox: 7, p90DaysToFirstBox: 7 }),
    );

    // The sign-up, late: January gains a subscription that waited 51 days (Jan 28 → Mar 20).
    s.made.push(signUp!);
    await applyFactToBoxKpis(signUp!);
    expect(await firstBoxFigures(merchantId)).toEqual(
      january({ month: '2026-01', signedUp: 2, firstBoxShipped: 2, medianDaysToFirstBox: 29, p90DaysToFirstBox: 51 }),
    );

    // The first box, shipped Feb 3, learnt last: 6 days, not 51.
    const first = s.shipped('sub_a', '2026-02-03');
    await applyFactToBoxKpis(first);
    const moved = january({ month: '2026-01', signedUp: 2, firstBoxShipped: 2, medianDaysToFirstBox: 6.5, p90DaysToFirstBox: 7 });
    expect(await firstBoxFigures(merchantId)).toEqual(moved);
    const waits = await waitsOf(merchantId);
    expect(waits).toEqual([{ _id: `${merchantId}:2026-01`, month: '2026-01', signedUp: 2, days: { 7: 1, 51: 0, 6: 1 } }]);
    expect(await FirstBoxModel.findById('sub_a').lean()).toMatchObject({ signedUpMonth: '2026-01', daysToFirstShip: 6, rev: 3, pending: [] });

    // Every fact replayed, one at a time, then the last two twice at once: nothing changes.
    for (const f of s.made) await applyFactToBoxKpis(f);
    await Promise.all([applyFactToBoxKpis(first), applyFactToBoxKpis(first), applyFactToBoxKpis(signUp!), applyFactToBoxKpis(signUp!)]);
    expect(await firstBoxFigures(merchantId)).toEqual(moved);
    expect(await waitsOf(merchantId)).toEqual(waits);

    // Rebuilt from the facts (in their order, so no 51 days is ever counted): the same figures.
    await FactModel.insertMany(s.made);
    await rebuildBoxKpis(merchantId, { page: 2, flushEvery: 3 });
    expect(await firstBoxFigures(merchantId)).toEqual(moved);
    expect(await waitsOf(merchantId)).toEqual([{ _id: `${merchantId}:2026-01`, month: '2026-01', signedUp: 2, days: { 7: 1, 6: 1 } }]);
  });

  test('when a subscription’s sign-up and its two shipments are followed at once, then it counts once, at the days to its earliest shipment', async () => {
    const merchantId = await paris();
    const s = store(merchantId);
    const subs = Array.from({ length: 10 }, (_, i) => `sub_race${i}`);
    const facts = subs.flatMap((sub) => [s.shipped(sub, '2026-01-25'), s.created(sub, '2026-01-05'), s.shipped(sub, '2026-01-15')]);
    await Promise.all(facts.map((f) => applyFactToBoxKpis(f)));
    expect((await firstBoxFigures(merchantId))[0]).toEqual({
      month: '2026-01',
      signedUp: 10,
      firstBoxShipped: 10,
      medianDaysToFirstBox: 10,
      p90DaysToFirstBox: 10,
    });
    const [waits] = await waitsOf(merchantId);
    expect(Object.entries(waits!.days).filter(([, n]) => n !== 0)).toEqual([['10', 10]]);
    expect(await FirstBoxModel.countDocuments({ merchantId, 'pending.0': { $exists: true } })).toBe(0);
  });

  test('when a worker dies after the subscription’s update and before the waits, then the fact’s retry writes them, once, even after another fact of it', async () => {
    const merchantId = await paris();
    const s = store(merchantId);
    await applyFactToBoxKpis(s.shipped('sub_d', '2026-02-20'));
    const signUp = s.created('sub_d', '2026-02-01');
    const died = jest.spyOn(FirstBoxWaitsModel, 'updateOne').mockRejectedValueOnce(new Error('worker died'));
    await expect(applyFactToBoxKpis(signUp)).rejects.toThrow('worker died');
    died.mockRestore();
    const stranded = await FirstBoxModel.findById('sub_d').lean();
    expect(stranded).toMatchObject({ signedUpMonth: '2026-02', daysToFirstShip: 19 });
    expect(stranded!.pending.map((p) => p.factId)).toEqual([signUp._id]);
    expect((await firstBoxFigures(merchantId))[1]).toMatchObject({ signedUp: 0 });

    // An earlier shipment is followed before the retry: its own change (19 → 9 days) is written at once.
    await applyFactToBoxKpis(s.shipped('sub_d', '2026-02-10'));
    await applyFactToBoxKpis(signUp);
    await applyFactToBoxKpis(signUp);
    expect((await firstBoxFigures(merchantId))[1]).toEqual({
      month: '2026-02',
      signedUp: 1,
      firstBoxShipped: 1,
      medianDaysToFirstBox: 9,
      p90DaysToFirstBox: 9,
    });
    expect(await waitsOf(merchantId)).toEqual([{ _id: `${merchantId}:2026-02`, month: '2026-02', signedUp: 1, days: { 19: 0, 9: 1 } }]);
    expect((await FirstBoxModel.findById('sub_d').lean())!.pending).toEqual([]);
  });
});
