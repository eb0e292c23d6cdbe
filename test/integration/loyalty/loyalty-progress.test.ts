import request from 'supertest';
import { postLedgerEntry } from '../../../src/loyalty/loyalty-ledger.service';
import { LoyaltyAccountModel, LoyaltyEntryModel, LoyaltyProgramModel } from '../../../src/loyalty/loyalty.model';
import { loyaltyAccountId } from '../../../src/loyalty/loyalty-standing.service';
import { evaluateTier, getLoyaltyProgress, redeemPoints } from '../../../src/loyalty/loyalty.service';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { newId } from '../../../src/shared/ids';
import { FakeClock } from '../../../src/shared/time';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { factsAbout } from '../../helpers/facts';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/**
 * What a shopper's rewards page needs of the loyalty domain: a redemption is a fact of whoever asked (on the
 * subscription it was asked from), and the progress towards the next tier.
 */
const PROGRAM = {
  enabled: true,
  pointsPerUnit: 10,
  redemption: { points: 100, creditMinor: 500 },
  autoApply: false,
  expiry: null,
  tierBasis: 'paid_boxes',
  tiers: [
    { key: 'silver', name: 'Silver', threshold: 2, earnMultiplierPercent: 150 },
    { key: 'gold', name: 'Gold', threshold: 5, earnMultiplierPercent: 200 },
  ],
};

async function setUp(program: object = PROGRAM) {
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant({}, clock);
  await request(app).put('/api/v1/loyalty-program').set(merchant.auth).send(program).expect(200);
  const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body as { id: string };
  const give = (points: number) =>
    postLedgerEntry(clock, {
      merchantId: merchant.id,
      customerId: customer.id,
      source: newId('src'),
      kind: 'adjust',
      points,
      currency: 'USD',
      description: 'given',
    });
  const paidBox = (cycleKey: string) =>
    BoxOrderModel.create({
      _id: newId('ord'),
      merchantId: merchant.id,
      subscriptionId: 'sub_x',
      customerId: customer.id,
      planId: 'plan_x',
      cycleKey,
      shipOn: cycleKey,
      status: 'paid',
      lines: [],
      omittedLines: [],
      amountDueMinor: 2600,
      amountPaidMinor: 2600,
      currency: 'USD',
      shippingAddress: { line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
      amountRefundedMinor: 0,
      creditNotes: [],
      history: [{ status: 'paid', at: clock.now() }],
      paidAt: clock.now(),
      createdAt: clock.now(),
    });
  return { clock, app, merchant, customer, give, paidBox };
}

describe('loyalty: redemptions as facts, and the progress to the next tier', () => {
  useTestDatabase();

  test('when a shopper redeems points from a subscription, then the ledger entry records loyalty.points_redeemed as theirs, on that subscription, once per key', async () => {
    const { clock, merchant, customer, give } = await setUp();
    await give(250);
    const as = { actor: { kind: 'shopper' as const, id: customer.id }, subscriptionId: 'sub_00000000000000000001' };
    const entry = await redeemPoints(clock, merchant.id, customer.id, 200, 'portal:abc', as);
    const again = await redeemPoints(clock, merchant.id, customer.id, 200, 'portal:abc', as);
    expect(again.id).toBe(entry.id);
    expect(entry).toMatchObject({ kind: 'redeem', points: -200, credit: { amountMinor: 1000, currency: 'USD' }, balancePoints: 50 });

    const facts = await factsAbout({ subjectId: entry.id });
    expect(facts.map((f) => [f.type, f.subjectType, f.actor, f.customerId, f.subscriptionId, f.data])).toEqual([
      [
        'loyalty.points_redeemed',
        'loyalty_entry',
        { kind: 'shopper', id: customer.id },
        customer.id,
        'sub_00000000000000000001',
        { points: 200, creditMinor: 1000, currency: 'USD' },
      ],
    ]);
    // Relayed at once: nothing waits in the entry's outbox.
    expect((await LoyaltyEntryModel.findById(entry.id).lean())!.outbox).toEqual([]);
  });

  test('when the merchant redeems through the API, then the fact names the merchant; a refused redemption records nothing', async () => {
    const { app, merchant, customer, give } = await setUp();
    await give(100);
    const redeemed = (await request(app).post(`/api/v1/customers/${customer.id}/loyalty/redemptions`).set(merchant.auth).send({ points: 100 }).expect(201))
      .body as { id: string };
    expect((await factsAbout({ subjectId: redeemed.id })).map((f) => [f.type, f.actor.kind, f.subscriptionId])).toEqual([
      ['loyalty.points_redeemed', 'merchant', undefined],
    ]);
    await request(app).post(`/api/v1/customers/${customer.id}/loyalty/redemptions`).set(merchant.auth).send({ points: 100 }).expect(409);
    expect((await factsAbout({ customerId: customer.id })).filter((f) => f.type === 'loyalty.points_redeemed')).toHaveLength(1);
  });

  test('when a shopper holds no tier, then the next is the first, with the paid boxes still needed; once held, the next is the one above; at the top, none', async () => {
    const { clock, merchant, customer, paidBox } = await setUp();
    const program = (await LoyaltyProgramModel.findById(merchant.id).lean())!;
    await paidBox('2026-02-01');
    expect(await getLoyaltyProgress(clock, merchant.id, customer.id)).toEqual({
      currency: 'USD',
      pointsPerUnit: 10,
      redemption: { points: 100, creditMinor: 500 },
      basis: 'paid_boxes',
      standing: { paidBoxes: 1, spendMinor: 2600 },
      tier: null,
      nextTier: { key: 'silver', name: 'Silver', earnMultiplierPercent: 150, threshold: 2, remaining: 1 },
    });

    await paidBox('2026-03-01');
    // Reached, but not evaluated yet: nothing more is needed.
    expect((await getLoyaltyProgress(clock, merchant.id, customer.id))!.nextTier).toMatchObject({ key: 'silver', remaining: 0 });
    await evaluateTier({ clock, logger: silentLogger }, program, customer.id);
    const silver = (await getLoyaltyProgress(clock, merchant.id, customer.id))!;
    expect(silver.tier).toEqual({ key: 'silver', name: 'Silver', earnMultiplierPercent: 150 });
    expect(silver.nextTier).toEqual({ key: 'gold', name: 'Gold', earnMultiplierPercent: 200, threshold: 5, remaining: 3 });

    await LoyaltyAccountModel.updateOne({ _id: loyaltyAccountId(merchant.id, customer.id) }, { $set: { tierKey: 'gold' } });
    expect((await getLoyaltyProgress(clock, merchant.id, customer.id))!.nextTier).toBeNull();
  });

  test('when the merchant runs no programme, then there is no progress to show', async () => {
    const { clock, app, merchant, customer } = await setUp();
    await request(app)
      .put('/api/v1/loyalty-program')
      .set(merchant.auth)
      .send({ ...PROGRAM, enabled: false })
      .expect(200);
    expect(await getLoyaltyProgress(clock, merchant.id, customer.id)).toBeUndefined();
  });
});
