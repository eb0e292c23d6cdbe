import request from 'supertest';
import { attachSurpriseGifts, giftLinesFor, settleGiftsOfOrder } from '../../../src/gifts/gift.service';
import { GiftAwardModel } from '../../../src/gifts/gift-award.model';
import { GiftCampaignModel } from '../../../src/gifts/gift-campaign.model';
import { giftAwardId } from '../../../src/gifts/gift-rules';
import { BoxOrderModel, type BoxOrder, type OrderLine, type OrderStatus } from '../../../src/orders/box-order.model';
import { cycleByKey, nextCycle } from '../../../src/shared/calendar';
import { derivedId, newId } from '../../../src/shared/ids';
import { SubscriptionModel, type Subscription } from '../../../src/subscriptions/subscription.model';
import { buildAddonInput, buildCustomerInput } from '../../factories/catalog.factory';
import { queuedMessages } from '../../helpers/messages';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { factsAbout, followFacts } from '../../helpers/facts';
import { useTestDatabase } from '../../helpers/test-env';
import { BEFORE_APRIL_CUTOFF, createCampaign, giftStore, type GiftStore } from '../../factories/gift-store.factory';

/**
 * Surprise-gift campaigns: the job gives each campaign's gift to the boxes it picks before their cut-off,
 * within both budgets whatever the number of workers; the dry run predicts it; the box's order settles the
 * gift (in the box, given back, delivered and thanked). Subscriptions beyond the first are copies of an API
 * subscription with their own ids and shoppers, written straight to the database to keep this file fast.
 */

const HOUR_MS = 3_600_000;
type Setup = GiftStore;
const setUp = giftStore;

/** The API subscription and `count - 1` copies of it, each with its own id and shopper; sorted by id. */
async function subscriptions(setup: Setup, count: number): Promise<Subscription[]> {
  const original = (await SubscriptionModel.findById(setup.shopper.subscription.id).lean())!;
  // Each copy's shopper exists (messages go to their address).
  const customerIds: string[] = [];
  for (let i = 1; i < count; i += 1) {
    customerIds.push((await request(setup.app).post('/api/v1/customers').set(setup.merchant.auth).send(buildCustomerInput()).expect(201)).body.id as string);
  }
  const copies = customerIds.map((customerId) => ({
    ...original,
    _id: newId('sub'),
    customerId,
    stripe: { customerId: `cus_${newId('x')}` },
  }));
  if (copies.length > 0) await SubscriptionModel.insertMany(copies);
  return [original, ...copies].sort((a, b) => (a._id < b._id ? -1 : 1));
}

const awardsOf = (campaignId: string) => GiftAwardModel.find({ campaignId }).sort({ subscriptionId: 1, cycleKey: 1 }).lean();
const campaignDoc = (campaignId: string) => GiftCampaignModel.findById(campaignId).lean();

/** The box of a cycle as the build at the cut-off makes it: the plan line and the gift lines (a stand-in for the order code). */
async function buildBox(subscription: Subscription, cycleKey: string, status: OrderStatus, options: { giftOutOfStock?: boolean } = {}): Promise<BoxOrder> {
  const cycle = cycleByKey(subscription.schedule, cycleKey)!;
  const orderId = derivedId('ord', `${subscription._id}:${cycleKey}`);
  const gifts = await giftLinesFor(subscription, cycle);
  const lines: OrderLine[] = [
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
  ];
  const omittedLines: BoxOrder['omittedLines'] = [];
  for (const { key, ...gift } of gifts) {
    if (options.giftOutOfStock) omittedLines.push({ description: gift.description, sku: gift.sku!, quantity: 1, reason: 'out_of_stock' });
    else lines.push({ ...gift, key, amountMinor: 0, holdId: `${orderId}:${key}`, stock: 'reserved' });
  }
  const now = new Date();
  const order: BoxOrder = {
    _id: orderId,
    merchantId: subscription.merchantId,
    subscriptionId: subscription._id,
    customerId: subscription.customerId,
    planId: subscription.box.planId,
    cycleKey,
    shipOn: cycleKey,
    status,
    lines,
    omittedLines,
    amountDueMinor: 2600,
    amountPaidMinor: status === 'reserved' ? 0 : 2600,
    currency: 'USD',
    shippingAddress: { line1: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' },
    amountRefundedMinor: 0,
    creditNotes: [],
    history: [{ status, at: now }],
    createdAt: now,
    ...(status === 'reserved' ? {} : { paidAt: cycle.chargeAt }),
  };
  await BoxOrderModel.create(order);
  return (await BoxOrderModel.findById(orderId).lean())!;
}

async function moveBox(order: BoxOrder, status: OrderStatus): Promise<BoxOrder> {
  await BoxOrderModel.updateOne({ _id: order._id }, { $set: { status }, $push: { history: { status, at: new Date() } } });
  return (await BoxOrderModel.findById(order._id).lean())!;
}

describe('surprise-gift campaigns', () => {
  useTestDatabase();

  test('when 3 workers attach gifts at once for 40 eligible subscribers and a stock of 10, then exactly 10 are given, once each, and a replay changes nothing', async () => {
    const setup = await setUp();
    const subs = await subscriptions(setup, 40);
    const campaign = await createCampaign(setup, { stockBudget: 10, unitCostMinor: 300, costBudgetMinor: 100_000 });
    setup.clock.set(BEFORE_APRIL_CUTOFF);

    const runs = await Promise.all([1, 2, 3].map(() => attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id })));

    expect(runs.reduce((sum, run) => sum + run.granted, 0)).toBe(10);
    const awards = await awardsOf(campaign.id);
    expect(awards).toHaveLength(10);
    expect(new Set(awards.map((award) => award.subscriptionId)).size).toBe(10);
    // Earliest cut-off first, then by subscription id: with one cut-off, the first 10 subscriptions.
    expect(awards.map((award) => award.subscriptionId)).toEqual(subs.slice(0, 10).map((s) => s._id));
    expect(awards.every((award) => award.status === 'granted' && award.cycleKey === '2026-04-01' && award.addonId === setup.addon.id)).toBe(true);
    const stored = (await campaignDoc(campaign.id))!;
    expect(stored.remaining).toEqual({ count: 0, costMinor: 100_000 - 10 * 300 });
    expect(stored.grants.map((grant) => grant.key).sort()).toEqual(awards.map((award) => award._id).sort());

    const replay = await Promise.all([
      attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id }),
      attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id }),
    ]);
    expect(replay.map((run) => [run.granted, run.returned])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(await awardsOf(campaign.id)).toEqual(awards);
    expect(await campaignDoc(campaign.id)).toEqual(stored);
    const view = (await request(setup.app).get(`/api/v1/gift-campaigns/${campaign.id}`).set(setup.merchant.auth).expect(200)).body;
    expect(view).toMatchObject({ granted: 10, remaining: { count: 0, cost: { amountMinor: 97_000, currency: 'USD' } } });
  });

  test('when the cost budget is smaller than stock × unit cost, then it caps the gifts and never goes below zero', async () => {
    const setup = await setUp();
    await subscriptions(setup, 8);
    const campaign = await createCampaign(setup, { stockBudget: 10, unitCostMinor: 500, costBudgetMinor: 1_800 });
    setup.clock.set(BEFORE_APRIL_CUTOFF);

    await Promise.all([1, 2, 3].map(() => attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id })));

    expect(await GiftAwardModel.countDocuments({ campaignId: campaign.id })).toBe(3);
    expect((await campaignDoc(campaign.id))!.remaining).toEqual({ count: 7, costMinor: 300 });
  });

  test('when the gap is 2 cycles, then a subscriber gifted at cycle N gets nothing at N+1 and N+2 and may again at N+3', async () => {
    const setup = await setUp();
    const subs = await subscriptions(setup, 3);
    const campaign = await createCampaign(setup, { stockBudget: 50, minGapCycles: 2 });
    const giftedAt: Record<string, string[]> = {};

    for (const cycleKey of ['2026-04-01', '2026-05-01', '2026-06-01', '2026-07-01']) {
      const cycle = cycleByKey(subs[0]!.schedule, cycleKey)!;
      setup.clock.set(new Date(cycle.cutoffAt.getTime() - HOUR_MS));
      await attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id });
      setup.clock.set(new Date(cycle.cutoffAt.getTime() + HOUR_MS));
      for (const subscription of subs) {
        const order = await buildBox(subscription, cycleKey, 'paid');
        await settleGiftsOfOrder(setup.deps, order);
        if (order.lines.some((line) => line.kind === 'gift')) giftedAt[subscription._id] = [...(giftedAt[subscription._id] ?? []), cycleKey];
      }
    }

    for (const subscription of subs) expect(giftedAt[subscription._id]).toEqual(['2026-04-01', '2026-07-01']);
    const awards = await awardsOf(campaign.id);
    expect(awards.map((award) => [award.cycleKey, award.status])).toEqual(
      subs.flatMap(() => [
        ['2026-04-01', 'in_box'],
        ['2026-07-01', 'in_box'],
      ]),
    );
    expect((await campaignDoc(campaign.id))!.remaining.count).toBe(50 - 6);
  });

  test('when a draft is dry-run, then it lists exactly whom the job then picks (seeded share, stock) and writes nothing', async () => {
    const setup = await setUp();
    await subscriptions(setup, 24);
    const draft = await createCampaign(setup, { stockBudget: 4, selection: { mode: 'random_share', percent: 50, seed: 'spring-2026' } }, false);
    setup.clock.set(BEFORE_APRIL_CUTOFF);
    const before = await campaignDoc(draft.id);

    const dryRun = (await request(setup.app).post(`/api/v1/gift-campaigns/${draft.id}/dry-run`).set(setup.merchant.auth).send({}).expect(200)).body;

    expect(dryRun).toMatchObject({
      object: 'gift_campaign_dry_run',
      campaignId: draft.id,
      from: '2026-03-28T12:00:00.000Z',
      until: '2026-03-30T12:00:00.000Z',
    });
    // About half of the 24 boxes are drawn (which ones depends on their ids), more than the stock.
    expect(dryRun.eligible).toBeGreaterThanOrEqual(4);
    expect(dryRun.eligible).toBeLessThan(24);
    expect(dryRun.picks).toHaveLength(4);
    expect(dryRun.picks[0]).toEqual({
      subscriptionId: expect.any(String),
      customerId: expect.any(String),
      cycleKey: '2026-04-01',
      cutoffAt: '2026-03-29T11:00:00.000Z',
      addonId: setup.addon.id,
      description: setup.addon.name,
    });
    expect(dryRun.remainingAfter).toEqual({ count: 0, cost: { amountMinor: 100_000 - 4 * 300, currency: 'USD' } });
    expect(await GiftAwardModel.countDocuments({ merchantId: setup.merchant.id })).toBe(0);
    expect(await campaignDoc(draft.id)).toEqual(before);

    // Looking further ahead shows the May boxes too (the April picks used the stock, so a bigger one).
    const ahead = await createCampaign(setup, { stockBudget: 100, selection: { mode: 'random_share', percent: 50, seed: 'spring-2026' } }, false);
    const further = (await request(setup.app).post(`/api/v1/gift-campaigns/${ahead.id}/dry-run`).set(setup.merchant.auth).send({ horizonDays: 35 }).expect(200))
      .body;
    expect(new Set(further.picks.map((pick: { cycleKey: string }) => pick.cycleKey))).toEqual(new Set(['2026-04-01', '2026-05-01']));

    await request(setup.app).post(`/api/v1/gift-campaigns/${draft.id}/activate`).set(setup.merchant.auth).expect(200);
    await attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id, campaignId: draft.id });
    const awards = (await request(setup.app).get(`/api/v1/gift-campaigns/${draft.id}/awards`).set(setup.merchant.auth).expect(200)).body;
    const picked = (list: Array<{ subscriptionId: string; customerId: string; cycleKey: string }>) =>
      list.map((item) => `${item.subscriptionId}|${item.customerId}|${item.cycleKey}`).sort();
    expect(picked(awards.data)).toEqual(picked(dryRun.picks));
    expect(awards.data.every((award: { status: string }) => award.status === 'granted')).toBe(true);
  });

  test('when eligibility asks for tenure, top spenders or a plan, then only those subscribers would be picked', async () => {
    const setup = await setUp();
    const subs = await subscriptions(setup, 8);
    // The first five have one paid box each (March), spending 5000, 4000, ... 1000.
    for (const [i, subscription] of subs.slice(0, 5).entries()) {
      const order = await buildBox(subscription, '2026-03-01', 'paid');
      await BoxOrderModel.updateOne({ _id: order._id }, { $set: { amountPaidMinor: 5000 - i * 1000, paidAt: new Date('2026-03-01T12:00:00Z') } });
    }
    setup.clock.set(BEFORE_APRIL_CUTOFF);
    const dryRun = async (eligibility: Record<string, unknown>) => {
      const campaign = await createCampaign(setup, { eligibility }, false);
      const body = (await request(setup.app).post(`/api/v1/gift-campaigns/${campaign.id}/dry-run`).set(setup.merchant.auth).send({}).expect(200)).body;
      return body.picks.map((pick: { subscriptionId: string }) => pick.subscriptionId);
    };

    expect(await dryRun({ minPaidBoxes: 1 })).toEqual(subs.slice(0, 5).map((s) => s._id));
    expect(await dryRun({ topSpendPercent: 40 })).toEqual(subs.slice(0, 2).map((s) => s._id)); // ceil(5 × 40%) = 2 highest
    expect(await dryRun({ planIds: [setup.shopper.planId] })).toHaveLength(8);
    const otherPlan = (await subscribeShopper(setup.app, setup.merchant)).planId;
    expect(await dryRun({ planIds: [otherPlan], minPaidBoxes: 0 })).toEqual([]); // its only subscriber's first renewal is a month away
  });

  test('when a gift is granted, then the box gets a free gift line; a cancelled box gives the grant back once, a delivered one thanks the shopper once', async () => {
    const setup = await setUp();
    const subs = await subscriptions(setup, 3);
    const campaign = await createCampaign(setup, { name: 'Spring thank-you', stockBudget: 3, unitCostMinor: 400, costBudgetMinor: 1_200 });
    setup.clock.set(BEFORE_APRIL_CUTOFF);
    await attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id });
    const [first, second, third] = subs as [Subscription, Subscription, Subscription];
    const april = nextCycle(first.schedule, setup.clock.now());

    const lines = await giftLinesFor(first, april);
    expect(lines).toEqual([
      {
        kind: 'gift',
        key: `gift:${giftAwardId(first._id, '2026-04-01')}`,
        description: setup.addon.name,
        sku: setup.addon.sku,
        quantity: 1,
        unitAmountMinor: 0,
        addonId: setup.addon.id,
        grantedBy: { source: 'gift', id: campaign.id, reason: 'A surprise gift: Spring thank-you' },
      },
    ]);
    expect(await giftLinesFor(first, cycleByKey(first.schedule, '2026-05-01')!)).toEqual([]);

    setup.clock.set('2026-03-29T11:00:00Z');
    // Cancelled: the grant goes back to both budgets, once however often it is settled.
    const cancelled = await buildBox(first, '2026-04-01', 'paid');
    await settleGiftsOfOrder(setup.deps, cancelled);
    expect(await GiftAwardModel.findById(giftAwardId(first._id, '2026-04-01')).lean()).toMatchObject({ status: 'in_box', orderId: cancelled._id });
    const cancelledNow = await moveBox(cancelled, 'cancelled');
    await settleGiftsOfOrder(setup.deps, cancelledNow);
    await settleGiftsOfOrder(setup.deps, cancelledNow);
    expect(await GiftAwardModel.findById(giftAwardId(first._id, '2026-04-01')).lean()).toMatchObject({ status: 'returned', returnReason: 'order_cancelled' });
    expect((await campaignDoc(campaign.id))!.remaining).toEqual({ count: 1, costMinor: 400 });

    // Out of stock at the cut-off: left out of the box, so the grant goes back too.
    const omitted = await buildBox(third, '2026-04-01', 'reserved', { giftOutOfStock: true });
    await settleGiftsOfOrder(setup.deps, omitted);
    expect(await GiftAwardModel.findById(giftAwardId(third._id, '2026-04-01')).lean()).toMatchObject({ status: 'returned', returnReason: 'out_of_stock' });
    expect((await campaignDoc(campaign.id))!.remaining).toEqual({ count: 2, costMinor: 800 });

    // Delivered: the award says so and the shopper is thanked once.
    const delivered = await buildBox(second, '2026-04-01', 'paid');
    await settleGiftsOfOrder(setup.deps, delivered);
    const deliveredNow = await moveBox(await moveBox(delivered, 'shipped'), 'delivered');
    await Promise.all([settleGiftsOfOrder(setup.deps, deliveredNow), settleGiftsOfOrder(setup.deps, deliveredNow)]);
    await attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id }); // the sweep changes nothing more
    expect(await GiftAwardModel.findById(giftAwardId(second._id, '2026-04-01')).lean()).toMatchObject({
      status: 'delivered',
      orderId: delivered._id,
      deliveredAt: expect.any(Date),
    });
    // Each award's story, once: granted by the job, then given back (with why) or delivered.
    const story = async (subscription: Subscription) =>
      (await factsAbout({ subjectId: giftAwardId(subscription._id, '2026-04-01') })).map((f) => [
        f.type,
        f.actor.kind,
        f.customerId,
        f.subscriptionId,
        f.data.reason ?? f.data.boxStatus ?? null,
      ]);
    expect(await story(first)).toEqual([
      ['gift.granted', 'job', first.customerId, first._id, null],
      ['gift.returned', 'system', first.customerId, first._id, 'order_cancelled'],
    ]);
    expect(await story(third)).toEqual([
      ['gift.granted', 'job', third.customerId, third._id, null],
      ['gift.returned', 'system', third.customerId, third._id, 'out_of_stock'],
    ]);
    expect(await story(second)).toEqual([
      ['gift.granted', 'job', second.customerId, second._id, null],
      ['gift.delivered', 'system', second.customerId, second._id, 'delivered'],
    ]);
    // A grant and its return carry the campaign's unit cost, for the gift-cost analytics.
    expect((await factsAbout({ subjectId: giftAwardId(first._id, '2026-04-01') })).map((f) => [f.type, f.data.unitCostMinor, f.data.currency])).toEqual([
      ['gift.granted', 400, 'USD'],
      ['gift.returned', 400, 'USD'],
    ]);
    // The thank-you follows the fact: once, however often the listeners run.
    expect(await queuedMessages({ merchantId: setup.merchant.id, template: 'gift.thank_you' })).toEqual([]);
    await Promise.all([followFacts(setup.clock), followFacts(setup.clock)]);
    await followFacts(setup.clock);
    const thanks = await queuedMessages({ merchantId: setup.merchant.id, template: 'gift.thank_you' });
    expect(thanks).toHaveLength(1);
    expect(thanks[0]).toMatchObject({ customerId: second.customerId, subscriptionId: second._id, subject: 'A little something, to say thank you' });
    expect(thanks[0]!.text).toContain(`${setup.addon.name}, on us`);
    expect((await campaignDoc(campaign.id))!.remaining).toEqual({ count: 2, costMinor: 800 });

    // The awards list says who got what.
    const listed = (await request(setup.app).get(`/api/v1/gift-campaigns/${campaign.id}/awards`).set(setup.merchant.auth).expect(200)).body.data;
    expect(listed.map((award: { subscriptionId: string; status: string }) => [award.subscriptionId, award.status]).sort()).toEqual(
      [
        [first._id, 'returned'],
        [second._id, 'delivered'],
        [third._id, 'returned'],
      ].sort(),
    );
  });

  test('when a granted box is never built (the cycle was skipped), then the sweep gives the gift back after the cut-off', async () => {
    const setup = await setUp();
    const [subscription] = await subscriptions(setup, 1);
    const campaign = await createCampaign(setup, { stockBudget: 2 });
    setup.clock.set(BEFORE_APRIL_CUTOFF);
    await attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id });
    await SubscriptionModel.updateOne({ _id: subscription!._id }, { $addToSet: { skippedCycleKeys: '2026-04-01' } });

    await attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id }); // before the cut-off: the skip may be undone
    expect(await GiftAwardModel.findById(giftAwardId(subscription!._id, '2026-04-01')).lean()).toMatchObject({ status: 'granted' });
    setup.clock.set('2026-03-29T12:00:00Z');
    await attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id });

    expect(await GiftAwardModel.findById(giftAwardId(subscription!._id, '2026-04-01')).lean()).toMatchObject({
      status: 'returned',
      returnReason: 'box_not_built',
    });
    expect((await campaignDoc(campaign.id))!.remaining.count).toBe(2);
  });

  test('when a run stopped between the grant and its award, then the next run writes the award (and a box built meanwhile gives it back)', async () => {
    const setup = await setUp();
    const [kept, built] = await subscriptions(setup, 2);
    const campaign = await createCampaign(setup, { stockBudget: 5 });
    setup.clock.set(BEFORE_APRIL_CUTOFF);
    const grant = (sub: Subscription) => ({
      key: giftAwardId(sub._id, '2026-04-01'),
      subscriptionId: sub._id,
      customerId: sub.customerId,
      cycleKey: '2026-04-01',
      addonId: setup.addon.id,
      at: setup.clock.now(),
    });
    // A worker took two grants and stopped; one of the boxes was built (without the gift) meanwhile.
    await GiftCampaignModel.updateOne(
      { _id: campaign.id },
      { $inc: { 'remaining.count': -2, 'remaining.costMinor': -600 }, $push: { grants: { $each: [grant(kept!), grant(built!)] } } },
    );
    await buildBox(built!, '2026-04-01', 'reserved');

    await attachSurpriseGifts(setup.deps, { merchantId: setup.merchant.id });

    const awards = await awardsOf(campaign.id);
    expect(awards.map((award) => [award.subscriptionId, award.status]).sort()).toEqual(
      [
        [kept!._id, 'granted'],
        [built!._id, 'returned'],
      ].sort(),
    );
    expect((await campaignDoc(campaign.id))!.remaining).toEqual({ count: 4, costMinor: 100_000 - 300 });
  });

  test("when the API gets unknown fields, bad budgets or add-ons that are not the merchant's, then it answers 400; another merchant gets 404", async () => {
    const setup = await setUp();
    const other = await createMerchant({}, setup.clock);
    const otherAddon = (await request(setup.app).post('/api/v1/addons').set(other.auth).send(buildAddonInput()).expect(201)).body;
    const valid = { name: 'Gift', giftAddonIds: [setup.addon.id], unitCostMinor: 300, stockBudget: 10, costBudgetMinor: 3_000, startsOn: '2026-03-01' };
    const bad = [
      { ...valid, surprise: true },
      { ...valid, stockBudget: 10_001 },
      { ...valid, unitCostMinor: 1.5 },
      { ...valid, endsOn: '2026-02-01' },
      { ...valid, eligibility: { topSpendPercent: 0 } },
      { ...valid, eligibility: { vip: true } },
      { ...valid, selection: { mode: 'random_share', percent: 150 } },
      { ...valid, giftAddonIds: [otherAddon.id] },
      { ...valid, giftAddonIds: [] },
    ];
    for (const body of bad) {
      const res = await request(setup.app).post('/api/v1/gift-campaigns').set(setup.merchant.auth).send(body).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.type).toBe('/problems/invalid_request');
    }
    expect(await GiftCampaignModel.countDocuments({ merchantId: setup.merchant.id })).toBe(0);

    const created = (await request(setup.app).post('/api/v1/gift-campaigns').set(setup.merchant.auth).send(valid).expect(201)).body;
    expect(created).toMatchObject({
      object: 'gift_campaign',
      status: 'draft',
      unitCost: { amountMinor: 300, currency: 'USD' },
      costBudget: { amountMinor: 3_000, currency: 'USD' },
      remaining: { count: 10, cost: { amountMinor: 3_000, currency: 'USD' } },
      granted: 0,
      eligibility: { planIds: null, minPaidBoxes: null, tierKeys: null, topSpendPercent: null },
      selection: { mode: 'all' },
      minGapCycles: 0,
      endsOn: null,
      leadHours: 48,
    });
    expect(created.id).toMatch(/^gcp_/);
    const calls: Array<[string, string, unknown?]> = [
      ['get', `/api/v1/gift-campaigns/${created.id}`],
      ['get', `/api/v1/gift-campaigns/${created.id}/awards`],
      ['post', `/api/v1/gift-campaigns/${created.id}/dry-run`, {}],
      ['post', `/api/v1/gift-campaigns/${created.id}/activate`],
      ['post', `/api/v1/gift-campaigns/${created.id}/end`],
    ];
    for (const [method, path, body] of calls) {
      const call = method === 'get' ? request(setup.app).get(path).set(other.auth) : request(setup.app).post(path).set(other.auth);
      const res = await (body ? call.send(body) : call).expect(404);
      expect(res.body.type).toBe('/problems/not_found');
    }
    expect((await request(setup.app).get('/api/v1/gift-campaigns').set(other.auth).expect(200)).body.data).toEqual([]);
    expect((await request(setup.app).get('/api/v1/gift-campaigns').set(setup.merchant.auth).expect(200)).body.data.map((c: { id: string }) => c.id)).toEqual([
      created.id,
    ]);

    // draft → active → ended; an ended campaign is not activated again.
    expect((await request(setup.app).post(`/api/v1/gift-campaigns/${created.id}/activate`).set(setup.merchant.auth).expect(200)).body.status).toBe('active');
    expect((await request(setup.app).post(`/api/v1/gift-campaigns/${created.id}/end`).set(setup.merchant.auth).expect(200)).body.status).toBe('ended');
    expect((await request(setup.app).post(`/api/v1/gift-campaigns/${created.id}/activate`).set(setup.merchant.auth).expect(409)).body.type).toBe(
      '/problems/invalid_state',
    );
    expect(
      (await request(setup.app).post(`/api/v1/gift-campaigns/${created.id}/dry-run`).set(setup.merchant.auth).send({ horizonDays: 61 }).expect(400)).body.type,
    ).toBe('/problems/invalid_request');
  });
});
