import { LoyaltyEntryModel } from '../../src/loyalty/loyalty.model';
import { grantYearlyRewards } from '../../src/offers/offer.service';
import { BoxRewardModel } from '../../src/offers/offer.model';
import { BoxOrderModel } from '../../src/orders/box-order.model';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import { linesOf, retentionScenario } from '../helpers/retention-scenario';
import { useTestDatabase } from '../helpers/test-env';

/**
 * Comeback and anniversary offers on a fake clock: shoppers leave and come back, subscriptions turn one,
 * the yearly-rewards job runs every day, boxes are built at their cut-off by the real job and paid by
 * signed `invoice.paid` events through the real endpoint.
 */
const DAY = 86_400_000;
const plus = (instant: string | Date, ms: number) => new Date(new Date(instant).getTime() + ms);
const month = (priceMinor: number) => ({ cadences: [{ interval: 'month' as const, intervalCount: 1, priceMinor }] });

describe('scenario: comeback and anniversary offers', () => {
  useTestDatabase();

  test('when shoppers come back after cancelling, then each first box gets the comeback offer worth most to them, in their currency, within its window, once', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call, clock, stripeCalls } = world;
    const usd = await world.createPlan(month(2600));
    const jpy = await world.createPlan({ currency: 'JPY', ...month(3000) });
    const quarter = await call('post', '/offers', { kind: 'comeback', name: 'Come back: 20% off', withinDays: 90, percentOff: 20 }, 201);
    clock.set(plus(clock.now(), 60_000)); // the older offer is not the better one for every shopper
    const monthOff = await call('post', '/offers', { kind: 'comeback', name: 'Back within a month: 15.00 off', withinDays: 30, amountOffMinor: 1500 }, 201);
    expect(monthOff).toMatchObject({ kind: 'comeback', currency: 'USD', comeback: { withinDays: 30, percentOff: null, amountOffMinor: 1500 } });

    const [ana, ben, cara, dan] = [await world.subscribe(usd), await world.subscribe(usd), await world.subscribe(usd), await world.subscribe(usd)];
    const eri = await world.subscribe(jpy);
    for (const first of [ana, ben, cara, dan]) expect((await world.payFirstBox(first, 2600)).lines.map((line) => line.kind)).toEqual(['plan']);
    await world.payFirstBox(eri, 3000);
    clock.set(plus(clock.now(), 5 * DAY)); // 2026-01-20: four of them leave
    for (const leaving of [ana, ben, cara, eri]) await call('post', `/subscriptions/${leaving.id}/cancel`, { mode: 'now', reason: 'too_expensive' }, 200);

    // Ten days later. Ana: 20% of 26.00 is 5.20, the month offer 15.00: the month offer. Eri, in yen: the
    // 15.00 is dollars and is not given as ¥1500; 20% of ¥3000 is. Dan never left: nothing.
    clock.set(plus(clock.now(), 10 * DAY));
    const anaAgain = await world.subscribe(usd, {}, { id: ana.customerId });
    const eriAgain = await world.subscribe(jpy, {}, { id: eri.customerId });
    const danSecond = await world.subscribe(usd, {}, { id: dan.customerId });
    const offerOf = async (id: string) => (await SubscriptionModel.findById(id).lean())!.firstBoxOffer ?? null;
    expect(await offerOf(anaAgain.id)).toEqual({ source: 'comeback', id: monthOff.id, description: 'Back within a month: 15.00 off', amountOffMinor: 1500 });
    expect(await offerOf(eriAgain.id)).toEqual({ source: 'comeback', id: quarter.id, description: 'Come back: 20% off', percentOff: 20 });
    expect(await offerOf(danSecond.id)).toBeNull();
    // Each first box is discounted once, on Stripe by a coupon keyed by the subscription and the offer's source.
    const coupons = stripeCalls.filter((c) => c.method === 'POST' && c.path === '/v1/coupons').map((c) => c.idempotencyKey);
    expect(coupons).toEqual([`subscription:${anaAgain.id}:first-box-coupon:comeback`, `subscription:${eriAgain.id}:first-box-coupon:comeback`]);
    expect(linesOf(await world.payFirstBox(anaAgain, 1100))).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 2600 },
      { kind: 'discount', description: 'Back within a month: 15.00 off', amountMinor: -1500 },
    ]);
    expect(linesOf(await world.payFirstBox(eriAgain, 2400))).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 3000 },
      { kind: 'discount', description: 'Come back: 20% off', amountMinor: -600 },
    ]);
    // The next box is full price again.
    expect(linesOf(await world.renew(anaAgain))).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 2600 }]);

    // Ben, 45 days after leaving: only the 90-day offer is still open. Cara, after 100 days: none.
    clock.set(plus('2026-01-20T15:30:00Z', 45 * DAY));
    const benAgain = await world.subscribe(usd, {}, { id: ben.customerId });
    expect(await offerOf(benAgain.id)).toEqual({ source: 'comeback', id: quarter.id, description: 'Come back: 20% off', percentOff: 20 });
    expect(linesOf(await world.payFirstBox(benAgain, 2080))).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 2600 },
      { kind: 'discount', description: 'Come back: 20% off', amountMinor: -520 },
    ]);
    clock.set(plus('2026-01-20T15:30:00Z', 100 * DAY));
    const caraAgain = await world.subscribe(usd, {}, { id: cara.customerId });
    expect(await offerOf(caraAgain.id)).toBeNull();
    expect(linesOf(await world.payFirstBox(caraAgain, 2600))).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 2600 }]);
    expect(stripeCalls.filter((c) => c.method === 'POST' && c.path === '/v1/coupons')).toHaveLength(3);
  }, 120_000);

  test('when subscriptions turn one, then the anniversary offers they are eligible for give their reward once, on the day or within a week, and a free add-on rides in the next box built', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call, clock, jobDeps } = world;
    const basic = await world.createPlan(month(2600));
    const premium = await world.createPlan(month(4000));
    const tin = await world.createAddon({ name: 'Tasting tin', priceMinor: 900 });
    await call(
      'put',
      '/loyalty-program',
      { enabled: true, pointsPerUnit: 0, redemption: { points: 100, creditMinor: 1000 }, autoApply: false, expiry: null, tierBasis: 'paid_boxes', tiers: [] },
      200,
    );
    const gift = await call('post', '/offers', { kind: 'anniversary', name: 'Anniversary tin', reward: { type: 'free_addon', addonId: tin.id } }, 201);
    await call(
      'post',
      '/offers',
      { kind: 'anniversary', name: 'Premium anniversary', eligibility: { planIds: [premium.id] }, reward: { type: 'credit', creditMinor: 1000 } },
      201,
    );
    const ana = await world.subscribe(premium);
    const bob = await world.subscribe(basic);
    await world.payFirstBox(ana, 4000);
    await world.payFirstBox(bob, 2600);

    // A year of boxes, the yearly-rewards job every day (twice: a second worker grants nothing more).
    const boxes: Array<{ ana: Awaited<ReturnType<typeof world.renew>>; bob: Awaited<ReturnType<typeof world.renew>> }> = [];
    const runDailyUntil = async (until: Date) => {
      for (let at = clock.now(); at < until; at = plus(at, DAY)) {
        clock.set(at);
        await grantYearlyRewards(jobDeps);
        await grantYearlyRewards(jobDeps);
      }
    };
    while (boxes.length < 13) {
      const next = await world.nextCharge(ana);
      await runDailyUntil(new Date(next.cutoffAt));
      const built = await world.buildNextBoxes([ana, bob]);
      await runDailyUntil(new Date(next.chargeAt));
      const [anaBox, bobBox] = await world.payBoxes([ana, bob], built);
      boxes.push({ ana: anaBox!, bob: bobBox! });
      if (boxes.length === 11) expect(await BoxRewardModel.countDocuments({ merchantId: world.merchant.id })).toBe(0); // not in the first year
    }

    // The anniversary is 2027-01-15; that box was built on its cut-off (01-12), so the tin rides in the next.
    expect(boxes.map((box) => box.ana.cycleKey).slice(-3)).toEqual(['2026-12-15', '2027-01-15', '2027-02-15']);
    const tinLine = (_subscriptionId: string) => ({
      kind: 'reward',
      description: 'Tasting tin (free)',
      amountMinor: 0,
      grantedBy: { source: 'reward', id: gift.id, reason: 'Anniversary tin: 1 year with us' },
    });
    for (const box of boxes.slice(0, 12)) expect(box.ana.lines.concat(box.bob.lines).filter((line) => line.grantedBy)).toEqual([]);
    expect(linesOf(boxes[12]!.ana)).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 4000 },
      tinLine(ana.id),
      {
        kind: 'credit',
        description: 'Loyalty credit',
        amountMinor: -1000,
        grantedBy: { source: 'loyalty', id: `apply:${boxes[12]!.ana._id}`, reason: 'Points redeemed for credit' },
      },
    ]);
    expect(boxes[12]!.ana.amountPaidMinor).toBe(3000);
    expect(linesOf(boxes[12]!.bob)).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 2600 }, tinLine(bob.id)]); // basic: no credit

    // Exactly these entries and rewards, once each.
    const ledger = await LoyaltyEntryModel.find({ merchantId: world.merchant.id }).sort({ customerId: 1, seq: 1 }).lean();
    expect(
      ledger.map((entry) => ({
        customerId: entry.customerId,
        source: entry.source,
        kind: entry.kind,
        creditMinor: entry.creditMinor,
        balanceCreditMinor: entry.balanceCreditMinor,
        description: entry.description,
      })),
    ).toEqual([
      {
        customerId: ana.customerId,
        source: `anniversary:${ana.id}:2027`,
        kind: 'anniversary',
        creditMinor: 1000,
        balanceCreditMinor: 1000,
        description: 'Premium anniversary: 1 year with us',
      },
      {
        customerId: ana.customerId,
        source: `apply:${boxes[12]!.ana._id}`,
        kind: 'apply',
        creditMinor: -1000,
        balanceCreditMinor: 0,
        description: 'Credit applied to the box of 2027-02-15',
      },
    ]);
    expect(ledger[0]!.at.toISOString().slice(0, 10)).toBe('2027-01-15');
    const rewards = await BoxRewardModel.find({ merchantId: world.merchant.id }).sort({ subscriptionId: 1 }).lean();
    expect(rewards.map((reward) => ({ source: reward.source, status: reward.status, orderId: reward.orderId, offerId: reward.offerId }))).toEqual(
      [
        { source: `anniversary:${ana.id}:2027`, status: 'in_box', orderId: boxes[12]!.ana._id, offerId: gift.id },
        { source: `anniversary:${bob.id}:2027`, status: 'in_box', orderId: boxes[12]!.bob._id, offerId: gift.id },
      ].sort((a, b) => a.source.localeCompare(b.source)),
    );

    // The job for the rest of the week, the cut-off job and the payments again: nothing more.
    const before = await BoxOrderModel.find({ merchantId: world.merchant.id }).sort({ _id: 1 }).lean();
    await runDailyUntil(plus(clock.now(), 8 * DAY)); // (from the payment of 2027-02-15's box)
    await world.driver.runCutoffs();
    for (const [sub, order] of [
      [ana, boxes[12]!.ana],
      [bob, boxes[12]!.bob],
    ] as const)
      await world.driver.pay(sub.stripeSubscriptionId, order.paidAt!, order.amountDueMinor, `in_${order._id}`);
    expect(await LoyaltyEntryModel.countDocuments({ merchantId: world.merchant.id })).toBe(2);
    expect(await BoxRewardModel.countDocuments({ merchantId: world.merchant.id })).toBe(2);
    expect(
      await BoxOrderModel.find({ merchantId: world.merchant.id, cycleKey: { $lte: '2027-02-15' } })
        .sort({ _id: 1 })
        .lean(),
    ).toEqual(before.filter((order) => order.cycleKey <= '2027-02-15'));
  }, 240_000);

  test('when the yearly-rewards job could not run on the anniversary, then it grants it within the week after, once, and not later', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call, clock, jobDeps } = world;
    const plan = await world.createPlan(month(2600));
    await call(
      'put',
      '/loyalty-program',
      { enabled: true, pointsPerUnit: 0, redemption: { points: 100, creditMinor: 1000 }, autoApply: false, expiry: null, tierBasis: 'paid_boxes', tiers: [] },
      200,
    );
    await call('post', '/offers', { kind: 'anniversary', name: 'One year', reward: { type: 'points', points: 250 } }, 201);
    const ana = await world.subscribe(plan);
    clock.set('2026-01-25T15:30:00Z');
    const bob = await world.subscribe(plan);

    // The job was down from 2027-01-10 until 2027-01-22 (local): Ana's day was 7 days before (granted),
    // Bob's 2027-01-25 is still to come (granted on the day); a run on 2027-02-02 is 8 days late for nobody.
    clock.set('2027-01-22T17:00:00Z');
    expect(await grantYearlyRewards(jobDeps)).toBe(1);
    clock.set('2027-01-25T17:00:00Z');
    expect(await grantYearlyRewards(jobDeps)).toBe(1);
    expect(await grantYearlyRewards(jobDeps)).toBe(0);
    const entries = await LoyaltyEntryModel.find({ merchantId: world.merchant.id }).sort({ at: 1 }).lean();
    expect(entries.map((entry) => [entry.source, entry.kind, entry.points, entry.description])).toEqual([
      [`anniversary:${ana.id}:2027`, 'anniversary', 250, 'One year: 1 year with us'],
      [`anniversary:${bob.id}:2027`, 'anniversary', 250, 'One year: 1 year with us'],
    ]);

    const late = await retentionScenario('2026-01-15T15:30:00Z');
    const latePlan = await late.createPlan(month(2600));
    await late.call(
      'put',
      '/loyalty-program',
      { enabled: true, pointsPerUnit: 0, redemption: { points: 100, creditMinor: 1000 }, autoApply: false, expiry: null, tierBasis: 'paid_boxes', tiers: [] },
      200,
    );
    await late.call('post', '/offers', { kind: 'anniversary', name: 'One year', reward: { type: 'points', points: 250 } }, 201);
    await late.subscribe(latePlan);
    late.clock.set('2027-01-23T17:00:00Z'); // 8 days after 2027-01-15
    expect(await grantYearlyRewards(late.jobDeps)).toBe(0);
  }, 60_000);
});
