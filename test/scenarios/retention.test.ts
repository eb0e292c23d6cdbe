import request from 'supertest';
import type { Express } from 'express';
import { LoyaltyAccountModel, LoyaltyEntryModel } from '../../src/loyalty/loyalty.model';
import { maintainLoyaltyAccounts } from '../../src/loyalty/loyalty.service';
import { grantYearlyRewards } from '../../src/offers/offer.service';
import { BoxOrderModel } from '../../src/orders/box-order.model';
import { ReferralModel } from '../../src/referrals/referral.model';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildAddonInput, buildCustomerInput, buildPlanInput } from '../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../factories/merchant.factory';
import { factsAbout, followFacts } from '../helpers/facts';
import { recordingGateway } from '../helpers/recording-gateway';
import { queuedMessages } from '../helpers/messages';
import { renewalDriver } from '../helpers/renewal-driver';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

/**
 * Two years of a subscriber on a fake clock, with the retention engine on: perks by tenure and tier, a
 * loyalty programme with tiers, redemption, expiry and a birthday reward, and a friend referred. Stripe's
 * signed events go to the real endpoint; the cut-off, loyalty and yearly-reward jobs run when their time
 * comes. At the end every job is run again and every payment replayed: nothing changes.
 */
const plus = (iso: string | Date, ms: number) => new Date(new Date(iso).getTime() + ms);
const DAY = 86_400_000;

async function subscribe(
  app: Express,
  merchant: TestMerchant,
  planId: string,
  variantId: string,
  extra: Record<string, unknown> = {},
  customer: Record<string, unknown> = {},
) {
  const shopper = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput(customer)).expect(201)).body;
  const created = (
    await request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: shopper.id, planId, variantId, cadence: 'month-1', paymentMethodId: 'pm_card_visa', ...extra })
      .expect(201)
  ).body as { id: string; stripeSubscriptionId: string };
  // stripe-mock answers every create with the same id: give each subscription its own, as Stripe would.
  const stripeSubscriptionId = `sub_${created.id.slice(4)}`;
  await SubscriptionModel.updateOne({ _id: created.id }, { $set: { 'stripe.subscriptionId': stripeSubscriptionId } });
  return { id: created.id, customerId: shopper.id as string, stripeSubscriptionId };
}

describe('scenario: retention over 24 months', () => {
  useTestDatabase();

  test('when a subscriber stays two years, pauses and comes back, then perks, tiers, points, credit, birthday and referral rewards each land exactly once', async () => {
    const clock = new FakeClock('2026-01-15T15:30:00Z');
    const recording = recordingGateway(createStripeGateway(testStripe()));
    const testApp = buildTestApp({ clock, stripeGateway: recording.gateway });
    const { app } = testApp;
    const driver = renewalDriver(testApp, recording.gateway);
    const jobDeps = { clock, logger: silentLogger };
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const tin = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Tasting tin', stock: null }))
        .expect(201)
    ).body;
    const refill = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Beans refill', kind: 'recurring', priceMinor: 1200, stock: null }))
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
        expiry: { afterMonths: 12, noticeDays: 14 },
        tierBasis: 'paid_boxes',
        tiers: [
          { key: 'silver', name: 'Silver', threshold: 3, earnMultiplierPercent: 150 },
          { key: 'gold', name: 'Gold', threshold: 9, earnMultiplierPercent: 200 },
        ],
      })
      .expect(200);
    const perk = async (body: Record<string, unknown>) =>
      (await request(app).post('/api/v1/perks').set(merchant.auth).send(body).expect(201)).body.id as string;
    const everyThird = await perk({ name: 'A free tin every 3rd box', benefit: { kind: 'free_addon', addonId: tin.id, everyNthBox: 3 } });
    const milestone = await perk({
      name: 'Milestone bonus',
      benefit: { kind: 'milestone_bonus', boxNumbers: [6, 12], bonus: { type: 'points', points: 500 } },
    });
    const goldDiscount = await perk({
      name: 'Gold: 10% off add-ons',
      eligibility: { tierKeys: ['gold'] },
      benefit: { kind: 'addon_discount', percentOff: 10 },
    });
    await request(app)
      .post('/api/v1/offers')
      .set(merchant.auth)
      .send({ kind: 'birthday', name: 'Birthday treat', reward: { type: 'points', points: 200 } })
      .expect(201);
    await request(app)
      .put('/api/v1/referral-program')
      .set(merchant.auth)
      .send({ enabled: true, welcomeOffer: { type: 'percent', percentOff: 50 }, referrerReward: { type: 'credit', creditMinor: 1500 } })
      .expect(200);

    const ana = await subscribe(app, merchant, plan.id, plan.variants[0].id, {}, { birthday: '03-10' });
    expect(await driver.pay(ana.stripeSubscriptionId, clock.now(), 2600)).toBe(200); // box 1, paid at sign-up

    const paidInvoices: Array<{ stripeSubscriptionId: string; periodStart: Date; amount: number; invoiceId: string }> = [];
    const boxes: Array<{ number: number; cycleKey: string; lines: Array<{ kind: string; amountMinor: number; grantedBy?: { id: string } | null }> }> = [];
    let friend: Awaited<ReturnType<typeof subscribe>> | undefined;
    // A shopper session lasts 24 hours: the storefront asks for one when Ana logs in.
    const logIn = async () => ({
      Authorization: `Bearer ${(await request(app).post(`/api/v1/customers/${ana.customerId}/shopper-sessions`).set(merchant.auth).expect(201)).body.token as string}`,
    });

    for (let month = 1; month <= 23; month += 1) {
      if (month === 2) {
        // Ana shares her code; a friend subscribes with it and gets the welcome offer on the first box.
        const code = (await request(app).get(`/api/v1/subscriptions/${ana.id}/rewards`).set(merchant.auth).expect(200)).body.referralCode as string;
        friend = await subscribe(
          app,
          merchant,
          plan.id,
          plan.variants[1].id,
          { referralCode: code },
          { shippingAddress: { line1: '9 Elm St', city: 'Portland', postalCode: '97201', country: 'US' } },
        );
        expect(
          await request(app)
            .post(`/api/v1/subscriptions`)
            .set(merchant.auth)
            .send({
              customerId: ana.customerId,
              planId: plan.id,
              variantId: plan.variants[0].id,
              cadence: 'month-1',
              paymentMethodId: 'pm_card_visa',
              referralCode: code,
            })
            .expect(422),
        ).toMatchObject({ body: { type: '/problems/referral_refused' } }); // her own code
        expect((await SubscriptionModel.findById(friend.id).lean())!.firstBoxOffer).toMatchObject({ source: 'referral', percentOff: 50 });
        expect(await LoyaltyEntryModel.countDocuments({ merchantId: merchant.id, kind: 'referral' })).toBe(0); // not before the friend pays
        expect(await driver.pay(friend.stripeSubscriptionId, clock.now(), 1300, `in_friend_first`)).toBe(200);
        expect(await driver.pay(friend.stripeSubscriptionId, clock.now(), 1300, `in_friend_first`)).toBe(200); // a replay
      }
      if (month === 5) {
        // 300 points → 30.00 of credit, more than a 26.00 box: the rest carries over to the next box.
        const asAna = await logIn();
        await request(app).post('/api/v1/shopper/loyalty/redemptions').set(asAna).set('Idempotency-Key', 'redeem-may').send({ points: 300 }).expect(201);
        await request(app).post('/api/v1/shopper/loyalty/redemptions').set(asAna).set('Idempotency-Key', 'redeem-may').send({ points: 300 }).expect(201); // retried: once
      }
      if (month === 10)
        await request(app).post(`/api/v1/subscriptions/${ana.id}/addons`).set(merchant.auth).send({ addonId: refill.id, quantity: 1 }).expect(200);
      if (month === 12) await request(app).post(`/api/v1/subscriptions/${ana.id}/pause`).set(merchant.auth).send({ cycles: 7 }).expect(200);
      const charged = (await request(app).get(`/api/v1/subscriptions/${ana.id}`).set(merchant.auth).expect(200)).body.nextCharge as {
        cycleKey: string;
        chargeAt: string;
        cutoffAt: string;
      };
      // The daily jobs run every day up to the cut-off (tiers, expiry, birthdays), and the facts recorded are followed.
      for (let at = plus(clock.now(), DAY); at < new Date(charged.cutoffAt); at = plus(at, DAY)) {
        clock.set(at);
        await maintainLoyaltyAccounts(jobDeps);
        await grantYearlyRewards(jobDeps);
        await followFacts(clock);
      }
      clock.set(plus(charged.cutoffAt, 60_000));
      await driver.runCutoffs();
      await driver.runCutoffs(); // a second worker changes nothing
      const order = await BoxOrderModel.findOne({ subscriptionId: ana.id, cycleKey: charged.cycleKey }).lean();
      expect(order).toMatchObject({ status: 'reserved' });
      clock.set(plus(charged.chargeAt, 5_000));
      await driver.syncStripe();
      const invoiceId = `in_ana_${charged.cycleKey}`;
      expect(await driver.pay(ana.stripeSubscriptionId, new Date(charged.chargeAt), order!.amountDueMinor, invoiceId)).toBe(200);
      paidInvoices.push({ stripeSubscriptionId: ana.stripeSubscriptionId, periodStart: new Date(charged.chargeAt), amount: order!.amountDueMinor, invoiceId });
      await followFacts(clock, recording.gateway); // what follows the paid box (points) and the facts of the day
      await request(app)
        .post(`/api/v1/orders/${order!._id}/ship`)
        .set(merchant.auth)
        .send({ carrier: 'USPS', trackingNumber: `94${month}` })
        .expect(200);
      await request(app).post(`/api/v1/orders/${order!._id}/deliver`).set(merchant.auth).send({}).expect(200);
      const paid = await BoxOrderModel.countDocuments({ subscriptionId: ana.id, status: 'delivered' });
      boxes.push({ number: paid + 1, cycleKey: charged.cycleKey, lines: order!.lines });
      if (charged.cycleKey >= '2027-12-01') break;
    }

    // Perks: the free tin in boxes 3, 6, 9…; the milestone bonus once at boxes 6 and 12; gold's add-on discount only while gold.
    const withTin = boxes.filter((box) => box.lines.some((line) => line.grantedBy?.id === everyThird)).map((box) => box.number);
    expect(withTin).toEqual(boxes.map((box) => box.number).filter((n) => n % 3 === 0));
    expect(boxes.filter((box) => box.lines.some((line) => line.grantedBy?.id === milestone)).map((box) => box.number)).toEqual([6, 12]);
    expect(await LoyaltyEntryModel.countDocuments({ merchantId: merchant.id, kind: 'bonus' })).toBe(2);
    const discounted = boxes.filter((box) => box.lines.some((line) => line.grantedBy?.id === goldDiscount));
    expect(discounted.length).toBeGreaterThan(0);
    for (const box of discounted) expect(box.lines.find((line) => line.grantedBy?.id === goldDiscount)!.amountMinor).toBe(-120);

    // Tiers: promoted to silver at 3 paid boxes and gold at 9, demoted during the long pause, each with its reason.
    const account = await LoyaltyAccountModel.findOne({ merchantId: merchant.id, customerId: ana.customerId }).lean();
    const moves = account!.tierHistory.map((change) => `${change.from}→${change.to}`);
    expect(moves.slice(0, 3)).toEqual(['null→silver', 'silver→gold', 'gold→silver']);
    expect(account!.tierHistory[0]!.reason).toMatch(/Reached Silver: 3 paid boxes in the last 12 months/);
    expect(account!.tierHistory[2]!.reason).toMatch(/Fell below/);
    expect(await queuedMessages({ customerId: ana.customerId, template: 'loyalty.tier_changed' })).toHaveLength(account!.tierHistory.length);

    // Points: one earn entry per paid invoice; redemption once; credit applied with carry-over, never lost.
    const ledger = await LoyaltyEntryModel.find({ merchantId: merchant.id, customerId: ana.customerId }).sort({ seq: 1 }).lean();
    // (A box the credit paid in full earned no points: nothing was paid.)
    expect(ledger.filter((entry) => entry.kind === 'earn').map((entry) => entry.source)).toEqual([
      expect.stringMatching(/^invoice:/),
      ...paidInvoices.filter((invoice) => invoice.amount > 0).map((invoice) => `invoice:${invoice.invoiceId}`),
    ]);
    expect(ledger.filter((entry) => entry.kind === 'redeem')).toEqual([expect.objectContaining({ points: -300, creditMinor: 3000 })]);
    const applied = ledger.filter((entry) => entry.kind === 'apply').map((entry) => -entry.creditMinor);
    expect(applied.slice(0, 3)).toEqual([1500, 2600, 400]); // the referral credit; then 30.00 redeemed: a whole 26.00 box, and 4.00 carried to the next
    expect(applied.reduce((a, b) => a + b, 0)).toBe(3000 + 1500); // the redemption and the referral reward, all used
    const creditLines = boxes.flatMap((box) => box.lines.filter((line) => line.kind === 'credit')).map((line) => -line.amountMinor);
    expect(creditLines).toEqual(applied);
    expect(ledger.every((entry) => entry.balancePoints >= 0 && entry.balanceCreditMinor >= 0)).toBe(true);
    // Each credit went to Stripe as an amount off that invoice, with a key per box.
    const creditItems = recording.invoiceItems.filter(
      (item) => 'amountMinor' in item.input && item.input.amountMinor < 0 && item.key.endsWith(':credit:loyalty:create'),
    );
    expect(creditItems.map((item) => -(item.input as { amountMinor: number }).amountMinor)).toEqual(applied);

    // Birthday: 200 points once in 2026 and once in 2027, however often the job ran.
    expect(ledger.filter((entry) => entry.kind === 'birthday').map((entry) => entry.source)).toEqual([
      `birthday:${ana.customerId}:2026`,
      `birthday:${ana.customerId}:2027`,
    ]);
    // Expiry: points older than 12 months expired during the pause, with a notice first.
    const expired = ledger.filter((entry) => entry.kind === 'expire');
    expect(expired.length).toBeGreaterThan(0);
    const [notice] = await queuedMessages({ customerId: ana.customerId, template: 'loyalty.points_expiring' });
    const noticed = (await factsAbout({ customerId: ana.customerId })).find((fact) => fact._id === notice!.factId);
    expect(noticed!.at.getTime()).toBeLessThan(expired[0]!.at.getTime());
    // The birthday rewards were told, once each.
    expect((await queuedMessages({ customerId: ana.customerId, template: 'reward.granted' })).map((m) => m.subject)).toEqual([
      'Happy birthday: a gift for you',
      'Happy birthday: a gift for you',
    ]);

    // Referral: the friend's first box paid → Ana rewarded once, with a message.
    expect(ledger.filter((entry) => entry.kind === 'referral')).toEqual([expect.objectContaining({ creditMinor: 1500 })]);
    expect(await ReferralModel.findOne({ friendSubscriptionId: friend!.id }).lean()).toMatchObject({ status: 'rewarded' });
    expect(await queuedMessages({ customerId: ana.customerId, template: 'referral.rewarded' })).toHaveLength(1);

    // The shopper sees it all, and only her own subscription.
    const asAna = await logIn();
    const mine = (await request(app).get(`/api/v1/shopper/subscriptions/${ana.id}/rewards`).set(asAna).expect(200)).body;
    expect(mine).toMatchObject({ subscriptionId: ana.id, loyalty: { points: ledger.at(-1)!.balancePoints }, referralCode: expect.any(String) });
    expect(mine.granted.length).toBeGreaterThan(0);
    await request(app).get(`/api/v1/shopper/subscriptions/${friend!.id}/rewards`).set(asAna).expect(404);
    await request(app).get(`/api/v1/perks`).set(asAna).expect(401);

    // Replaying every payment and running every job again changes nothing (the daily jobs first catch up to now).
    await maintainLoyaltyAccounts(jobDeps);
    await grantYearlyRewards(jobDeps);
    await followFacts(clock);
    const before = {
      ledger: await LoyaltyEntryModel.countDocuments({ merchantId: merchant.id }),
      orders: await BoxOrderModel.find({ merchantId: merchant.id }).lean(),
      notes: (await queuedMessages({ merchantId: merchant.id })).length,
    };
    for (const invoice of paidInvoices)
      expect(await driver.pay(invoice.stripeSubscriptionId, invoice.periodStart, invoice.amount, invoice.invoiceId)).toBe(200);
    await driver.runCutoffs();
    await maintainLoyaltyAccounts(jobDeps);
    await grantYearlyRewards(jobDeps);
    await followFacts(clock);
    expect(await LoyaltyEntryModel.countDocuments({ merchantId: merchant.id })).toBe(before.ledger);
    expect(await BoxOrderModel.find({ merchantId: merchant.id }).lean()).toEqual(before.orders);
    expect(await queuedMessages({ merchantId: merchant.id })).toHaveLength(before.notes);
  }, 240_000);
});
