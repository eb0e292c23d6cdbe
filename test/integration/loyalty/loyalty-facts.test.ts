import request from 'supertest';
import { LoyaltyAccountModel, LoyaltyProgramModel } from '../../../src/loyalty/loyalty.model';
import { postLedgerEntry } from '../../../src/loyalty/loyalty-ledger.service';
import { loyaltyAccountId } from '../../../src/loyalty/loyalty-standing.service';
import { evaluateTier, expireShopperPoints, maintainLoyaltyAccounts } from '../../../src/loyalty/loyalty.service';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { newId } from '../../../src/shared/ids';
import { FakeClock } from '../../../src/shared/time';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { factsAbout, followFacts } from '../../helpers/facts';
import { queuedMessages } from '../../helpers/messages';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/**
 * The loyalty account records what became true of it — a tier changed, points about to expire — in the
 * write that makes it true; the shopper is told by the message listeners, once per fact.
 */
const DAY = 86_400_000;

async function setUp() {
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant({}, clock);
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
  const customer = (
    await request(app)
      .post('/api/v1/customers')
      .set(merchant.auth)
      .send(buildCustomerInput({ name: 'Ana Points' }))
      .expect(201)
  ).body as { id: string };
  const program = (await LoyaltyProgramModel.findById(merchant.id).lean())!;
  const deps = { clock, logger: silentLogger };
  /** A paid box of the shopper, paid now. */
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
  return { clock, merchant, customer, program, deps, paidBox, accountId: loyaltyAccountId(merchant.id, customer.id) };
}

describe('loyalty facts', () => {
  useTestDatabase();

  test('when a shopper reaches a tier and later falls below it, then each change is one fact on their account with its reason, and one message each', async () => {
    const { clock, merchant, customer, program, deps, paidBox, accountId } = await setUp();
    await paidBox('2026-02-01');
    await paidBox('2026-03-01');
    clock.advance(DAY);
    await Promise.all([evaluateTier(deps, program, customer.id), evaluateTier(deps, program, customer.id)]);
    await evaluateTier(deps, program, customer.id);
    // A year on, both boxes are out of the window.
    clock.set('2027-03-05T12:00:00Z');
    expect(await evaluateTier(deps, program, customer.id)).toBe('demoted');
    expect(await evaluateTier(deps, program, customer.id)).toBe('unchanged');

    const facts = await factsAbout({ subjectId: accountId });
    expect(facts.map((f) => [f.seq, f.type, f.actor, f.customerId, f.merchantId, f.data.from, f.data.to, f.data.direction])).toEqual([
      [1, 'loyalty.tier_changed', { kind: 'job', id: 'loyalty.maintain-accounts' }, customer.id, merchant.id, null, 'silver', 'promoted'],
      [2, 'loyalty.tier_changed', { kind: 'job', id: 'loyalty.maintain-accounts' }, customer.id, merchant.id, 'silver', null, 'demoted'],
    ]);
    expect(facts[0]!.data.reason).toBe('Reached Silver: 2 paid boxes in the last 12 months');
    expect((await LoyaltyAccountModel.findById(accountId).lean())!.outbox).toEqual([]);

    expect(await queuedMessages({ customerId: customer.id })).toEqual([]); // the listeners have not run yet
    await followFacts(clock);
    await followFacts(clock);
    const messages = await queuedMessages({ customerId: customer.id, template: 'loyalty.tier_changed' });
    expect(messages.map((m) => m.text.split('\n')[4]!.trim())).toEqual([
      'Thank you for staying with us: you are now a Silver member, and every box earns you more.',
      'Your membership tier has lapsed for now. Your points and credit are all still yours, and a few more boxes bring your tier back.',
    ]);
    expect(messages.every((m) => m.text.includes('Hello Ana Points,'))).toBe(true);
  });

  test('when points near their expiry, then the account records it once per lot, however often the daily job runs, and the shopper is told once per lot', async () => {
    const { clock, merchant, customer, program, deps, accountId } = await setUp();
    const lot = (source: string, points: number, expiresAt: string) =>
      postLedgerEntry(clock, {
        merchantId: merchant.id,
        customerId: customer.id,
        source,
        kind: 'adjust',
        points,
        currency: 'USD',
        description: source,
        expiresAt: new Date(expiresAt),
      });
    await lot('adjust:a', 100, '2026-04-01T00:00:00Z');
    await lot('adjust:b', 40, '2026-06-01T00:00:00Z');

    // Every day from a month before the first lot expires until the second has: twice a day (two workers).
    for (let at = new Date('2026-03-01T12:00:00Z'); at < new Date('2026-06-05T00:00:00Z'); at = new Date(at.getTime() + DAY)) {
      clock.set(at);
      await expireShopperPoints(deps, program, customer.id);
      await maintainLoyaltyAccounts(deps);
      if (at.getUTCDate() === 1) await followFacts(clock);
    }
    await followFacts(clock);

    const facts = await factsAbout({ subjectId: accountId });
    expect(facts.filter((f) => f.type === 'loyalty.points_expiring').map((f) => [f.at.toISOString().slice(0, 10), f.data.points, f.data.expiresOn])).toEqual([
      ['2026-03-18', 100, '2026-04-01'],
      ['2026-05-18', 40, '2026-06-01'],
    ]);
    // Midnight UTC on the 1st is still the 31st in the shopper's zone (the merchant's: New York).
    const notices = await queuedMessages({ customerId: customer.id, template: 'loyalty.points_expiring' });
    expect(notices.map((n) => n.text.split('\n')[4])).toEqual([
      '100 points of yours expire on March 31, 2026. Redeem them before then for credit on your next boxes, so they are not lost.',
      '40 points of yours expire on May 31, 2026. Redeem them before then for credit on your next boxes, so they are not lost.',
    ]);
  });
});
