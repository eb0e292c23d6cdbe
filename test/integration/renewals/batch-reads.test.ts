import request from 'supertest';
import { giftLinesFor } from '../../../src/gifts/gift.service';
import { GiftAwardModel } from '../../../src/gifts/gift-award.model';
import { giftAwardId } from '../../../src/gifts/gift-rules';
import { LoyaltyAccountModel } from '../../../src/loyalty/loyalty.model';
import { loyaltyAccountId, standingOf } from '../../../src/loyalty/loyalty-standing.service';
import { claimBoxRewards } from '../../../src/offers/offer.service';
import { BoxRewardModel } from '../../../src/offers/offer.model';
import { boxOrderId } from '../../../src/orders/order.service';
import type { Cycle } from '../../../src/shared/calendar';
import { newId } from '../../../src/shared/ids';
import { batchMemo } from '../../../src/shared/run-memo';
import { FakeClock } from '../../../src/shared/time';
import type { Subscription } from '../../../src/subscriptions/subscription.model';
import { buildAddonInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * The reads of one document per box that `prepareDueBoxes` makes once for its whole batch (src/shared/run-memo.ts,
 * `batchShare`): each box gets its own part, and nothing of another subscription, shopper or cycle.
 */
const CYCLE = '2026-04-01';

function subscriptionOf(merchantId: string, customerId: string): Subscription {
  return {
    _id: newId('sub'),
    merchantId,
    customerId,
    box: { planId: 'pln_x' },
  } as unknown as Subscription;
}

describe('the cut-off: reads made once for a batch of boxes', () => {
  useTestDatabase();

  test('when a batch reads the free items waiting, then each box claims only its own, keeps what a retry of it holds, and takes one claimed by another worker for the same box', async () => {
    const merchant = await createMerchant({}, new FakeClock('2026-03-01T12:00:00Z'));
    const [first, second] = [subscriptionOf(merchant.id, newId('cus')), subscriptionOf(merchant.id, newId('cus'))];
    const orderOf = (subscription: Subscription) => boxOrderId(subscription._id, CYCLE);
    const reward = async (subscription: Subscription, fields: { status: 'pending' | 'in_box'; orderId?: string }) => {
      const id = newId('rwd');
      await BoxRewardModel.create({
        _id: id,
        merchantId: merchant.id,
        customerId: subscription.customerId,
        subscriptionId: subscription._id,
        source: `make-good:${id}`,
        reason: 'Sorry',
        makeGoodId: id,
        addonId: 'add_x',
        quantity: 1,
        createdAt: new Date('2026-03-01T12:00:00Z'),
        ...fields,
      });
      return id;
    };
    const waiting = await reward(first, { status: 'pending' });
    const takenMeanwhile = await reward(first, { status: 'pending' });
    const takenElsewhere = await reward(first, { status: 'pending' });
    const ofThisBox = await reward(second, { status: 'in_box', orderId: orderOf(second) });
    await reward(second, { status: 'in_box', orderId: boxOrderId(second._id, '2026-03-01') });
    const batch = { memo: batchMemo([first, second]), cycleKey: CYCLE, orderIdOf: (id: string) => boxOrderId(id, CYCLE) };

    const claimedBySecond = await claimBoxRewards(second, orderOf(second), batch); // the batch's read is made here
    await BoxRewardModel.updateOne({ _id: takenMeanwhile }, { $set: { status: 'in_box', orderId: orderOf(first) } });
    await BoxRewardModel.updateOne({ _id: takenElsewhere }, { $set: { status: 'in_box', orderId: 'ord_other' } });
    const claimedByFirst = await claimBoxRewards(first, orderOf(first), batch);

    expect(claimedBySecond.map((r) => r._id)).toEqual([ofThisBox]);
    expect(claimedByFirst.map((r) => r._id).sort()).toEqual([waiting, takenMeanwhile].sort());
    expect(await BoxRewardModel.findById(waiting).lean()).toMatchObject({ status: 'in_box', orderId: orderOf(first) });
    expect(await BoxRewardModel.findById(takenElsewhere).lean()).toMatchObject({ status: 'in_box', orderId: 'ord_other' });
  });

  test("when a batch reads the cycle's gifts and the shoppers' tiers, then each box gets its own: a shopper's two subscriptions share the tier, another shopper holds none, another cycle's gift is not this box's", async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const tin = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Tasting tin', stock: null }))
        .expect(201)
    ).body as {
      id: string;
      sku: string;
    };
    const shopper = newId('cus');
    const [gifted, sameShopper, other] = [
      subscriptionOf(merchant.id, shopper),
      subscriptionOf(merchant.id, shopper),
      subscriptionOf(merchant.id, newId('cus')),
    ];
    const award = async (subscription: Subscription, cycleKey: string) =>
      GiftAwardModel.create({
        _id: giftAwardId(subscription._id, cycleKey),
        merchantId: merchant.id,
        campaignId: newId('gcp'),
        subscriptionId: subscription._id,
        customerId: subscription.customerId,
        cycleKey,
        addonId: tin.id,
        description: 'Tasting tin',
        sku: tin.sku,
        status: 'granted',
        createdAt: clock.now(),
      });
    await award(gifted, CYCLE);
    await award(sameShopper, '2026-05-01');
    await LoyaltyAccountModel.create({
      _id: loyaltyAccountId(merchant.id, shopper),
      merchantId: merchant.id,
      customerId: shopper,
      tierKey: 'silver',
      createdAt: clock.now(),
    });
    const memo = batchMemo([gifted, sameShopper, other]);
    const cycle = { cycleKey: CYCLE } as Cycle; // all a gift is found by

    const gifts = await Promise.all([gifted, sameShopper, other].map((subscription) => giftLinesFor(subscription, cycle, memo)));
    const tiers = await Promise.all([gifted, sameShopper, other].map(async (subscription) => (await standingOf(subscription, CYCLE, memo)).tierKey));

    expect(gifts.map((lines) => lines.map((line) => line.key))).toEqual([[`gift:${giftAwardId(gifted._id, CYCLE)}`], [], []]);
    expect(tiers).toEqual(['silver', 'silver', undefined]);
  });
});
