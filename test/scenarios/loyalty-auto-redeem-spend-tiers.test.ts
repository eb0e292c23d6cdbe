import request from 'supertest';
import { LoyaltyAccountModel, LoyaltyEntryModel } from '../../src/loyalty/loyalty.model';
import { maintainLoyaltyAccounts } from '../../src/loyalty/loyalty.service';
import { BoxOrderModel } from '../../src/orders/box-order.model';
import { followFacts } from '../helpers/facts';
import { queuedMessages } from '../helpers/messages';
import { linesOf, retentionScenario } from '../helpers/retention-scenario';
import { useTestDatabase } from '../helpers/test-env';

/**
 * The loyalty programme over months on a fake clock: points earned on each paid box (signed `invoice.paid`
 * through the real endpoint), redeemed automatically at each cut-off by the real job, and tiers held by
 * spend over a rolling 12 months, evaluated by the daily loyalty job.
 */
const DAY = 86_400_000;
const plus = (instant: string | Date, ms: number) => new Date(new Date(instant).getTime() + ms);
const month = (priceMinor: number) => ({ cadences: [{ interval: 'month' as const, intervalCount: 1, priceMinor }] });
const ledgerOf = async (merchantId: string, customerId: string) =>
  (await LoyaltyEntryModel.find({ merchantId, customerId }).sort({ seq: 1 }).lean()).map((entry) => ({
    source: entry.source,
    kind: entry.kind,
    points: entry.points,
    creditMinor: entry.creditMinor,
    balancePoints: entry.balancePoints,
    balanceCreditMinor: entry.balanceCreditMinor,
  }));

describe('scenario: loyalty', () => {
  useTestDatabase();

  test('when auto-apply is on, then each cut-off redeems just the blocks the box needs, takes the credit up to the box, carries the rest over, and gives it back for a box not sent, once each', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call, app, merchant } = world;
    // 10 points per dollar paid; 100 points = $5.00 of credit.
    await call(
      'put',
      '/loyalty-program',
      { enabled: true, pointsPerUnit: 10, redemption: { points: 100, creditMinor: 500 }, autoApply: true, expiry: null, tierBasis: 'paid_boxes', tiers: [] },
      200,
    );
    const plan = await world.createPlan(month(2600));
    const ana = await world.subscribe(plan);
    await world.payFirstBox(ana, 2600); // 260 points

    // Box 2: 26.00 to pay, 260 points: 2 whole blocks (200 points) become 10.00, all taken.
    const box2 = await world.renew(ana);
    const loyaltyLine = (orderId: string, amountMinor: number) => ({
      kind: 'credit',
      description: 'Loyalty credit',
      amountMinor,
      grantedBy: { source: 'loyalty', id: `apply:${orderId}`, reason: 'Points redeemed for credit' },
    });
    expect(linesOf(box2)).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 2600 }, loyaltyLine(box2._id, -1000)]);
    expect(box2).toMatchObject({ amountDueMinor: 1600, amountPaidMinor: 1600 }); // earns 160 points

    // The merchant grants 2,000 points. Box 3: 6 blocks (600 points) make 30.00: 26.00 taken, 4.00 carried.
    await request(app)
      .post(`/api/v1/customers/${ana.customerId}/loyalty/adjustments`)
      .set(merchant.auth)
      .set('Idempotency-Key', 'review-bonus')
      .send({ points: 2000, reason: 'Wrote a review' })
      .expect(201);
    await request(app)
      .post(`/api/v1/customers/${ana.customerId}/loyalty/adjustments`)
      .set(merchant.auth)
      .set('Idempotency-Key', 'review-bonus')
      .send({ points: 2000, reason: 'Wrote a review' })
      .expect(201);
    const box3 = await world.renew(ana);
    expect(linesOf(box3)).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 2600 }, loyaltyLine(box3._id, -2600)]);
    expect(box3).toMatchObject({ amountDueMinor: 0, amountPaidMinor: 0 }); // nothing paid, no points earned
    // Box 4: 4.00 carried, 22.00 short: 5 blocks (25.00); 3.00 carried on.
    const box4 = await world.renew(ana);
    expect(linesOf(box4)).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 2600 }, loyaltyLine(box4._id, -2600)]);
    // Box 5 is built (2.00 carried after it), then the subscription ends before it is sent: the credit comes back.
    const box5 = await world.buildNextBox(ana);
    expect(linesOf(box5)).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 2600 }, loyaltyLine(box5._id, -2600)]);
    await call('post', `/subscriptions/${ana.id}/cancel`, { mode: 'now', reason: 'too_expensive' }, 200);
    await world.driver.runCutoffs();
    expect(await BoxOrderModel.findById(box5._id).lean()).toMatchObject({ status: 'cancelled' });

    const expected = [
      { source: `invoice:in_first_${ana.id}`, kind: 'earn', points: 260, creditMinor: 0, balancePoints: 260, balanceCreditMinor: 0 },
      { source: `auto-redeem:${box2._id}`, kind: 'redeem', points: -200, creditMinor: 1000, balancePoints: 60, balanceCreditMinor: 1000 },
      { source: `apply:${box2._id}`, kind: 'apply', points: 0, creditMinor: -1000, balancePoints: 60, balanceCreditMinor: 0 },
      { source: `invoice:in_${box2._id}`, kind: 'earn', points: 160, creditMinor: 0, balancePoints: 220, balanceCreditMinor: 0 },
      { source: `adjust:${ana.customerId}:review-bonus`, kind: 'adjust', points: 2000, creditMinor: 0, balancePoints: 2220, balanceCreditMinor: 0 },
      { source: `auto-redeem:${box3._id}`, kind: 'redeem', points: -600, creditMinor: 3000, balancePoints: 1620, balanceCreditMinor: 3000 },
      { source: `apply:${box3._id}`, kind: 'apply', points: 0, creditMinor: -2600, balancePoints: 1620, balanceCreditMinor: 400 },
      { source: `auto-redeem:${box4._id}`, kind: 'redeem', points: -500, creditMinor: 2500, balancePoints: 1120, balanceCreditMinor: 2900 },
      { source: `apply:${box4._id}`, kind: 'apply', points: 0, creditMinor: -2600, balancePoints: 1120, balanceCreditMinor: 300 },
      { source: `auto-redeem:${box5._id}`, kind: 'redeem', points: -500, creditMinor: 2500, balancePoints: 620, balanceCreditMinor: 2800 },
      { source: `apply:${box5._id}`, kind: 'apply', points: 0, creditMinor: -2600, balancePoints: 620, balanceCreditMinor: 200 },
      { source: `restore:${box5._id}`, kind: 'restore', points: 0, creditMinor: 2600, balancePoints: 620, balanceCreditMinor: 2800 },
    ];
    expect(await ledgerOf(merchant.id, ana.customerId)).toEqual(expected);
    expect((await call('get', `/customers/${ana.customerId}/loyalty`, undefined, 200)) as unknown).toMatchObject({
      points: 620,
      credit: { amountMinor: 2800, currency: 'USD' },
    });
    // Stripe was asked once per box for the amount off, keyed by the box.
    const creditItems = world.recording.invoiceItems.filter((item) => item.key.endsWith(':credit:loyalty:create'));
    expect(creditItems.map((item) => [item.key, (item.input as { amountMinor: number }).amountMinor])).toEqual(
      [box2, box3, box4, box5].map((box, index) => [`invoice-item:${box._id}:credit:loyalty:create`, [-1000, -2600, -2600, -2600][index]]),
    );

    // Replays: the jobs again, every payment again: the ledger does not move.
    await world.driver.runCutoffs();
    await world.payFirstBox(ana, 2600);
    for (const box of [box2, box3, box4]) expect(await world.driver.pay(ana.stripeSubscriptionId, box.paidAt!, box.amountPaidMinor, `in_${box._id}`)).toBe(200);
    expect(await ledgerOf(merchant.id, ana.customerId)).toEqual(expected);
  }, 120_000);

  test('when tiers are held by spend, then only money paid in the programme currency over the last 12 months counts, each move is told once with its reason in money, and the tier multiplies the points', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call, clock, jobDeps, merchant } = world;
    await call(
      'put',
      '/loyalty-program',
      {
        enabled: true,
        pointsPerUnit: 1,
        redemption: { points: 100, creditMinor: 100 },
        autoApply: false,
        expiry: null,
        tierBasis: 'spend',
        tiers: [
          { key: 'silver', name: 'Silver', threshold: 10_000, earnMultiplierPercent: 150 },
          { key: 'gold', name: 'Gold', threshold: 25_000, earnMultiplierPercent: 200 },
        ],
      },
      200,
    );
    const usd = await world.createPlan(month(2600));
    const jpy = await world.createPlan({ currency: 'JPY', ...month(12_000) });
    const ana = await world.subscribe(usd, {}, { name: `Ana O'Neil & <Co>` });
    await world.payFirstBox(ana, 2600);
    // Ken pays $26.00 and ¥12,000: 2600 + 12000 "minor units" are not $146.00, and not a tier.
    const ken = await world.subscribe(usd);
    const kenYen = await world.subscribe(jpy, {}, { id: ken.customerId });
    await world.payFirstBox(ken, 2600);
    await world.payFirstBox(kenYen, 12_000);
    for (const leaving of [ken, kenYen]) await call('post', `/subscriptions/${leaving.id}/cancel`, { mode: 'now', reason: 'too_expensive' }, 200);

    // Every day the loyalty job runs (twice: a second worker changes nothing), and the facts it records are
    // followed (the shopper told); every month Ana's box is paid.
    const runDailyUntil = async (until: Date) => {
      for (let at = clock.now(); at < until; at = plus(at, DAY)) {
        clock.set(at);
        await maintainLoyaltyAccounts(jobDeps);
        await maintainLoyaltyAccounts(jobDeps);
        await followFacts(clock);
      }
    };
    const boxes = [];
    while (boxes.length < 10) {
      const next = await world.nextCharge(ana);
      await runDailyUntil(new Date(next.cutoffAt));
      const built = await world.buildNextBox(ana);
      await runDailyUntil(new Date(next.chargeAt));
      boxes.push((await world.payBoxes([ana], [built]))[0]!);
    }
    // Paid boxes 2026-01-15 … 2026-11-15; then a pause of six boxes.
    expect(boxes.at(-1)!.cycleKey).toBe('2026-11-15');
    await call('post', `/subscriptions/${ana.id}/pause`, { cycles: 6 }, 200);
    await runDailyUntil(new Date('2027-02-20T15:30:00Z'));

    const account = await LoyaltyAccountModel.findOne({ merchantId: merchant.id, customerId: ana.customerId }).lean();
    expect(
      account!.tierHistory.map((change) => ({ from: change.from, to: change.to, on: change.at.toISOString().slice(0, 10), reason: change.reason })),
    ).toEqual([
      { from: null, to: 'silver', on: '2026-04-15', reason: 'Reached Silver: $104.00 spent in the last 12 months' },
      { from: 'silver', to: 'gold', on: '2026-10-15', reason: 'Reached Gold: $260.00 spent in the last 12 months' },
      // The box of 2026-01-15 leaves the window on 2027-01-15 ($260.00: still gold); that of 02-15 on 2027-02-15.
      { from: 'gold', to: 'silver', on: '2027-02-15', reason: 'Fell below Gold: $234.00 spent in the last 12 months' },
    ]);
    expect(await LoyaltyAccountModel.findOne({ merchantId: merchant.id, customerId: ken.customerId }, { tierKey: 1, tierHistory: 1 }).lean()).toMatchObject({
      tierHistory: [],
    });

    // Told once per move, in plain words (her name as written).
    const notes = await queuedMessages({ customerId: ana.customerId, template: 'loyalty.tier_changed' });
    expect(notes.map((note) => note.text)).toEqual([
      expect.stringContaining("Hello Ana O'Neil & <Co>,"),
      expect.stringContaining('you are now a Gold member'),
      expect.stringContaining('Why: Fell below Gold: $234.00 spent in the last 12 months.'),
    ]);
    expect(notes[0]!.text).toContain('you are now a Silver member');

    // Points: 26 a box at the base rate, ×1.5 while silver, ×2 while gold, earned at the tier held when paid.
    const earned = (await LoyaltyEntryModel.find({ merchantId: merchant.id, customerId: ana.customerId, kind: 'earn' }).sort({ seq: 1 }).lean()).map(
      (entry) => [entry.description.slice(0, 18), entry.points],
    );
    expect(earned.map(([, points]) => points)).toEqual([26, 26, 26, 26, 39, 39, 39, 39, 39, 39, 52]);
    expect(earned[4]![0]).toBe('Box of 2026-05-15 ');
    expect(earned[10]![0]).toBe('Box of 2026-11-15 ');
    expect(await LoyaltyEntryModel.countDocuments({ merchantId: merchant.id, customerId: ken.customerId })).toBe(1); // dollars only: 26 points
  }, 240_000);
});
