import request from 'supertest';
import type { Express } from 'express';
import { FactModel, factId, type Fact } from '../../../src/events/fact.model';
import type { FactType } from '../../../src/events/fact-types';
import { GiftAwardModel } from '../../../src/gifts/gift-award.model';
import { GiftCampaignModel } from '../../../src/gifts/gift-campaign.model';
import { giftAwardId } from '../../../src/gifts/gift-rules';
import { earnLoyaltyPoints } from '../../../src/loyalty/loyalty.listeners';
import { LoyaltyAccountModel, LoyaltyEntryModel } from '../../../src/loyalty/loyalty.model';
import { loyaltyAccountId } from '../../../src/loyalty/loyalty-standing.service';
import { postLedgerEntry } from '../../../src/loyalty/loyalty-ledger.service';
import { BoxRewardModel } from '../../../src/offers/offer.model';
import { BoxOrderModel, type BoxOrder, type OrderLine, type OrderStatus } from '../../../src/orders/box-order.model';
import { ReferralModel } from '../../../src/referrals/referral.model';
import { attributeReferral, referralCodeFor } from '../../../src/referrals/referral.service';
import { settleGrantsOfBuiltBox, settleGrantsOfEndedBox } from '../../../src/retention/box-grants.listeners';
import { newId } from '../../../src/shared/ids';
import { FakeClock } from '../../../src/shared/time';
import type { StripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildAddonInput, buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper, type SubscribedShopper } from '../../factories/subscription.factory';
import { factsAbout, followFacts } from '../../helpers/facts';
import { queuedMessages } from '../../helpers/messages';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/**
 * What follows a box's facts on the retention side, until the core records them itself: facts are put in
 * `events` as the relay would (or handed to a listener), about orders written as the box builder writes
 * them, and the real listener table is followed.
 */
const CYCLE = '2026-04-01';

interface World {
  clock: FakeClock;
  app: Express;
  merchant: TestMerchant;
  shopper: SubscribedShopper;
  tin: { id: string; name: string; sku: string };
}

async function setUp(): Promise<World> {
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const shopper = await subscribeShopper(app, merchant);
  const tin = (
    await request(app)
      .post('/api/v1/addons')
      .set(merchant.auth)
      .send(buildAddonInput({ name: 'Tasting tin', stock: null }))
      .expect(201)
  ).body;
  await request(app)
    .put('/api/v1/loyalty-program')
    .set(merchant.auth)
    .send({
      enabled: true,
      pointsPerUnit: 10,
      redemption: { points: 100, creditMinor: 1000 },
      autoApply: false,
      expiry: null,
      tierBasis: 'paid_boxes',
      tiers: [{ key: 'silver', name: 'Silver', threshold: 3, earnMultiplierPercent: 150 }],
    })
    .expect(200);
  return { clock, app, merchant, shopper, tin };
}

/** The box of the cycle as the builder writes it: the plan, and what the retention engine granted. */
async function writeBox(world: World, status: OrderStatus, lines: OrderLine[], extra: Partial<BoxOrder> = {}): Promise<BoxOrder> {
  const orderId = extra._id ?? newId('ord');
  const now = world.clock.now();
  await BoxOrderModel.create({
    _id: orderId,
    merchantId: world.merchant.id,
    subscriptionId: world.shopper.subscription.id,
    customerId: world.shopper.customerId,
    planId: world.shopper.planId,
    cycleKey: CYCLE,
    shipOn: CYCLE,
    status,
    lines: [
      {
        kind: 'plan',
        key: 'plan',
        description: 'Coffee box',
        sku: 'WB',
        quantity: 1,
        unitAmountMinor: 2600,
        amountMinor: 2600,
        holdId: `${orderId}:plan`,
        stock: 'reserved',
      },
      ...lines,
    ],
    omittedLines: [],
    amountDueMinor: 2600,
    amountPaidMinor: status === 'reserved' ? 0 : 2600,
    currency: 'USD',
    shippingAddress: { line1: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' },
    amountRefundedMinor: 0,
    creditNotes: [],
    history: [{ status, at: now }],
    createdAt: now,
    ...(status === 'reserved' ? {} : { paidAt: now, stripeInvoiceId: `in_${orderId}` }),
    ...extra,
  });
  return (await BoxOrderModel.findById(orderId).lean())!;
}

/** A surprise granted for the cycle by an active campaign (the campaign's budget taken), as the gifts job leaves it. */
async function grantGift(world: World, status: 'granted' | 'in_box', orderId?: string): Promise<{ campaignId: string; awardId: string }> {
  const campaign = (
    await request(world.app)
      .post('/api/v1/gift-campaigns')
      .set(world.merchant.auth)
      .send({ name: 'Spring thank-you', giftAddonIds: [world.tin.id], unitCostMinor: 300, stockBudget: 5, costBudgetMinor: 1500, startsOn: '2026-03-01' })
      .expect(201)
  ).body;
  const awardId = giftAwardId(world.shopper.subscription.id, CYCLE);
  const grant = {
    key: awardId,
    subscriptionId: world.shopper.subscription.id,
    customerId: world.shopper.customerId,
    cycleKey: CYCLE,
    addonId: world.tin.id,
    at: world.clock.now(),
  };
  await GiftCampaignModel.updateOne(
    { _id: campaign.id },
    { $set: { status: 'active' }, $inc: { 'remaining.count': -1, 'remaining.costMinor': -300 }, $push: { grants: grant } },
  );
  await GiftAwardModel.create({
    _id: awardId,
    merchantId: world.merchant.id,
    campaignId: campaign.id,
    subscriptionId: world.shopper.subscription.id,
    customerId: world.shopper.customerId,
    cycleKey: CYCLE,
    addonId: world.tin.id,
    description: world.tin.name,
    sku: world.tin.sku,
    status,
    ...(orderId ? { orderId } : {}),
    createdAt: world.clock.now(),
  });
  return { campaignId: campaign.id, awardId };
}

function giftLine(world: World, gift: { campaignId: string; awardId: string }): OrderLine {
  return {
    kind: 'gift',
    key: `gift:${gift.awardId}`,
    description: world.tin.name,
    sku: world.tin.sku,
    quantity: 1,
    unitAmountMinor: 0,
    amountMinor: 0,
    addonId: world.tin.id,
    stock: 'reserved',
    grantedBy: { source: 'gift', id: gift.campaignId, reason: 'A surprise gift: Spring thank-you' },
  };
}

/** A free item waiting for a box (a birthday reward), already in this order. */
async function rewardInBox(world: World, orderId: string): Promise<string> {
  const rewardId = newId('rwd');
  await BoxRewardModel.create({
    _id: rewardId,
    merchantId: world.merchant.id,
    customerId: world.shopper.customerId,
    subscriptionId: world.shopper.subscription.id,
    source: `birthday:${world.shopper.customerId}:2026`,
    reason: 'Birthday treat: happy birthday',
    offerId: 'ofr_x',
    addonId: world.tin.id,
    quantity: 1,
    status: 'in_box',
    orderId,
    createdAt: world.clock.now(),
  });
  return rewardId;
}

function rewardLine(world: World, rewardId: string, stock: OrderLine['stock'] = 'reserved'): OrderLine {
  return {
    kind: 'reward',
    key: `reward:${rewardId}`,
    description: `${world.tin.name} (free)`,
    sku: world.tin.sku,
    quantity: 1,
    unitAmountMinor: 0,
    amountMinor: 0,
    addonId: world.tin.id,
    stock,
    grantedBy: { source: 'reward', id: 'ofr_x', reason: 'Birthday treat: happy birthday' },
  };
}

const creditLine = (amountMinor: number): OrderLine => ({
  kind: 'credit',
  key: 'credit:loyalty',
  description: 'Loyalty credit',
  quantity: 1,
  unitAmountMinor: amountMinor,
  amountMinor,
  grantedBy: { source: 'loyalty', id: 'apply:x', reason: 'Points redeemed for credit' },
});

const seqs = new Map<string, number>();
/** A fact about the box, in `events` as the relay puts it there (the next place in the order's sequence). */
async function boxFact(order: BoxOrder, type: FactType, at: Date, data: Record<string, unknown> = {}): Promise<Fact> {
  const seq = (seqs.get(order._id) ?? 0) + 1;
  seqs.set(order._id, seq);
  const fact: Fact = {
    _id: factId(order._id, seq),
    merchantId: order.merchantId,
    type,
    subjectType: 'box',
    subjectId: order._id,
    seq,
    at,
    actor: { kind: 'stripe' },
    data,
    customerId: order.customerId,
    subscriptionId: order.subscriptionId,
    relayedAt: at,
    done: [],
    state: 'pending',
    attempts: 0,
  };
  await FactModel.create(fact);
  return fact;
}

const deps = (clock: FakeClock) => ({ clock, logger: silentLogger, stripe: {} as StripeGateway });

describe('after the facts of a box: what the retention engine granted follows it', () => {
  useTestDatabase();

  test('when a box is cancelled, then its gift goes back to the campaign, its free item waits for the next box and its credit returns to the ledger, once however often it is followed', async () => {
    const world = await setUp();
    // 7.00 of credit on the ledger, taken by the box.
    await postLedgerEntry(world.clock, {
      merchantId: world.merchant.id,
      customerId: world.shopper.customerId,
      source: 'adjust:seed',
      kind: 'adjust',
      creditMinor: 700,
      currency: 'USD',
      description: 'seed',
    });
    await postLedgerEntry(world.clock, {
      merchantId: world.merchant.id,
      customerId: world.shopper.customerId,
      source: 'apply:box',
      kind: 'apply',
      creditMinor: -700,
      currency: 'USD',
      description: 'taken',
    });
    const orderId = newId('ord');
    const gift = await grantGift(world, 'in_box', orderId);
    const rewardId = await rewardInBox(world, orderId);
    const order = await writeBox(world, 'cancelled', [giftLine(world, gift), rewardLine(world, rewardId), creditLine(-700)], {
      _id: orderId,
      cancellationReason: 'subscription_cancelled',
    });

    await boxFact(order, 'box.cancelled', world.clock.now(), { reason: 'subscription_cancelled' });
    await followFacts(world.clock);
    // The listener run again (a retry after a crash) changes nothing more.
    await settleGrantsOfEndedBox.run(deps(world.clock), (await FactModel.findById(factId(order._id, 1)).lean())!);

    expect(await GiftAwardModel.findById(gift.awardId).lean()).toMatchObject({ status: 'returned', returnReason: 'order_cancelled', orderId });
    expect((await GiftCampaignModel.findById(gift.campaignId).lean())!.remaining).toEqual({ count: 5, costMinor: 1500 });
    expect((await factsAbout({ subjectId: gift.awardId })).map((f) => [f.type, f.actor.kind, f.data.reason])).toEqual([
      ['gift.returned', 'system', 'order_cancelled'],
    ]);
    expect(await BoxRewardModel.findById(rewardId).lean()).toMatchObject({ status: 'pending' });
    expect((await BoxRewardModel.findById(rewardId).lean())!.orderId).toBeUndefined();
    const restored = await LoyaltyEntryModel.find({ merchantId: world.merchant.id, kind: 'restore' }).lean();
    expect(restored).toEqual([expect.objectContaining({ source: `restore:${orderId}`, creditMinor: 700, balanceCreditMinor: 700, orderId })]);
    expect((await FactModel.findById(factId(order._id, 1)).lean())!).toMatchObject({
      state: 'succeeded',
      done: [
        'retention.settle-grants-of-ended-box',
        'messages.box-skipped-out-of-stock',
        'orders.mark-fulfilment-forecast-stale',
        'analytics.project-box-kpis',
      ],
    });
  });

  test('when a box is refunded before it left, then its gift goes back; after it left, the gift counts as delivered and nobody is thanked', async () => {
    const world = await setUp();
    const gift = await grantGift(world, 'in_box');
    const order = await writeBox(world, 'refunded', [giftLine(world, gift)], {
      history: [
        { status: 'paid', at: world.clock.now() },
        { status: 'shipped', at: world.clock.now() },
        { status: 'refunded', at: world.clock.now() },
      ],
    });
    await boxFact(order, 'box.refunded', world.clock.now());
    await followFacts(world.clock);
    expect(await GiftAwardModel.findById(gift.awardId).lean()).toMatchObject({ status: 'delivered', orderId: order._id });
    expect((await factsAbout({ subjectId: gift.awardId })).map((f) => [f.type, f.data.boxStatus])).toEqual([['gift.delivered', 'refunded']]);
    expect(await queuedMessages({ merchantId: world.merchant.id, template: 'gift.thank_you' })).toEqual([]);

    const other = await setUp();
    const unsent = await grantGift(other, 'in_box');
    const refunded = await writeBox(other, 'refunded', [giftLine(other, unsent)]);
    await boxFact(refunded, 'box.refunded', other.clock.now());
    await followFacts(other.clock);
    expect(await GiftAwardModel.findById(unsent.awardId).lean()).toMatchObject({ status: 'returned', returnReason: 'order_refunded' });
  });

  test('when a box is delivered, then its gift is delivered and the shopper thanked once, by name, for that gift', async () => {
    const world = await setUp();
    const gift = await grantGift(world, 'in_box');
    const order = await writeBox(world, 'delivered', [giftLine(world, gift)], {
      shipment: { carrier: 'USPS', trackingNumber: '94', shippedAt: world.clock.now() },
    });
    await boxFact(order, 'box.delivered', world.clock.now());
    await Promise.all([followFacts(world.clock), followFacts(world.clock)]);
    await followFacts(world.clock);

    expect(await GiftAwardModel.findById(gift.awardId).lean()).toMatchObject({ status: 'delivered', deliveredAt: world.clock.now() });
    expect((await factsAbout({ subjectId: gift.awardId })).map((f) => [f.type, f.state])).toEqual([['gift.delivered', 'succeeded']]);
    const thanks = await queuedMessages({ merchantId: world.merchant.id, template: 'gift.thank_you' });
    expect(thanks).toEqual([expect.objectContaining({ customerId: world.shopper.customerId, subscriptionId: world.shopper.subscription.id })]);
    expect(thanks[0]!.text).toContain('Hello Ana Shopper,');
    expect(thanks[0]!.text).toContain(`${world.tin.name}, on us`);
  });

  test('when a box is built at its cut-off, then what it holds is in the box and what was left out goes back (a gift out of stock to its campaign, a free item released to the next box)', async () => {
    const world = await setUp();
    const gift = await grantGift(world, 'granted');
    const kept = newId('rwd');
    const released = newId('rwd');
    const orderId = newId('ord');
    for (const id of [kept, released]) {
      await BoxRewardModel.create({
        _id: id,
        merchantId: world.merchant.id,
        customerId: world.shopper.customerId,
        subscriptionId: world.shopper.subscription.id,
        source: `anniversary:${id}`,
        reason: 'One year with us',
        offerId: 'ofr_x',
        addonId: world.tin.id,
        quantity: 1,
        status: 'pending',
        createdAt: world.clock.now(),
      });
    }
    const order = await writeBox(world, 'reserved', [rewardLine(world, kept), rewardLine(world, released, 'released')], {
      _id: orderId,
      omittedLines: [{ description: world.tin.name, sku: world.tin.sku, quantity: 1, reason: 'out_of_stock' }],
    });
    const fact = await boxFact(order, 'box.reserved', world.clock.now());
    await followFacts(world.clock);
    await settleGrantsOfBuiltBox.run(deps(world.clock), fact);

    expect(await GiftAwardModel.findById(gift.awardId).lean()).toMatchObject({ status: 'returned', returnReason: 'out_of_stock' });
    expect((await GiftCampaignModel.findById(gift.campaignId).lean())!.remaining.count).toBe(5);
    expect(await BoxRewardModel.findById(kept).lean()).toMatchObject({ status: 'in_box', orderId });
    expect((await BoxRewardModel.findById(released).lean())!.status).toBe('pending');
  });

  test("when a box is paid, then the shopper earns its points at the tier held when it was paid, and a referred friend's first paid box rewards the referrer, once each", async () => {
    const world = await setUp();
    const { app, merchant, clock } = world;
    await request(app)
      .put('/api/v1/referral-program')
      .set(merchant.auth)
      .send({ enabled: true, welcomeOffer: { type: 'percent', percentOff: 20 }, referrerReward: { type: 'points', points: 500 } })
      .expect(200);
    const referrer = (
      await request(app)
        .post('/api/v1/customers')
        .set(merchant.auth)
        .send(buildCustomerInput({ name: 'Rita Referrer', shippingAddress: { line1: '9 Elm St', city: 'Portland', postalCode: '97201', country: 'US' } }))
        .expect(201)
    ).body;
    const { referralId } = await attributeReferral(
      { clock },
      {
        merchantId: merchant.id,
        code: await referralCodeFor(clock, merchant.id, referrer.id),
        friendCustomerId: world.shopper.customerId,
        friendSubscriptionId: world.shopper.subscription.id,
      },
    );
    // Silver from now on (×1.5): the box was paid an hour before.
    const paidAt = clock.now();
    clock.advance(3_600_000);
    await LoyaltyAccountModel.create({
      _id: loyaltyAccountId(merchant.id, world.shopper.customerId),
      merchantId: merchant.id,
      customerId: world.shopper.customerId,
      tierKey: 'silver',
      tierSince: clock.now(),
      tierHistory: [{ from: null, to: 'silver', at: clock.now(), reason: 'Reached Silver' }],
      createdAt: clock.now(),
    });
    const order = await writeBox(world, 'paid', [], { paidAt, stripeInvoiceId: 'in_box_2' });
    await boxFact(order, 'box.paid', paidAt, { cycleKey: CYCLE, stripeInvoiceId: 'in_box_2', amountPaidMinor: 2600, currency: 'USD' });

    clock.advance(60_000);
    await followFacts(clock);
    await earnLoyaltyPoints.run(deps(clock), (await FactModel.findById(factId(order._id, 1)).lean())!);
    await followFacts(clock);

    const entries = await LoyaltyEntryModel.find({ merchantId: merchant.id }).sort({ at: 1, seq: 1 }).lean();
    expect(entries.map((e) => [e.customerId, e.kind, e.source, e.points])).toEqual([
      [world.shopper.customerId, 'earn', 'invoice:in_box_2', 260],
      [referrer.id, 'referral', `referral:${referralId}`, 500],
    ]);
    expect(await ReferralModel.findById(referralId).lean()).toMatchObject({ status: 'rewarded' });
    expect((await factsAbout({ subjectId: referralId })).map((f) => [f.type, f.state])).toEqual([
      ['referral.attributed', 'succeeded'],
      ['referral.rewarded', 'succeeded'],
    ]);
    const messages = await queuedMessages({ merchantId: merchant.id, template: 'referral.rewarded' });
    expect(messages.map((m) => [m.customerId, m.template])).toEqual([[referrer.id, 'referral.rewarded']]);
    expect(messages[0]!.text).toContain('Hello Rita Referrer,');
    // The referrer is told nothing else; the shopper whose box it was gets its receipt.
    expect(await queuedMessages({ merchantId: merchant.id, customerId: referrer.id })).toHaveLength(1);

    // Paid later, while silver: ×1.5. A refunded box earns nothing.
    const later = await writeBox(world, 'paid', [], { cycleKey: '2026-05-01', paidAt: clock.now(), stripeInvoiceId: 'in_box_3' });
    await boxFact(later, 'box.paid', clock.now());
    const refunded = await writeBox(world, 'refunded', [], { cycleKey: '2026-06-01', paidAt: clock.now(), stripeInvoiceId: 'in_box_4' });
    await boxFact(refunded, 'box.paid', clock.now());
    await followFacts(clock);
    expect((await LoyaltyEntryModel.find({ merchantId: merchant.id, kind: 'earn' }).sort({ seq: 1 }).lean()).map((e) => [e.source, e.points])).toEqual([
      ['invoice:in_box_2', 260],
      ['invoice:in_box_3', 390],
    ]);
  });
});
