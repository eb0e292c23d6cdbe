import request from 'supertest';
import { MerchantModel } from '../../src/merchants/merchant.model';
import { BoxOrderModel } from '../../src/orders/box-order.model';
import { linesOf, retentionScenario } from '../helpers/retention-scenario';
import { useTestDatabase } from '../helpers/test-env';

/**
 * Shipping fees per currency, the free-shipping perk and the early-access perk, over months on a fake
 * clock: boxes built at their cut-off by the real job and paid by signed `invoice.paid` events.
 */
const month = (plan: { priceMinor: number }) => ({ cadences: [{ interval: 'month' as const, intervalCount: 1, priceMinor: plan.priceMinor }] });

describe('scenario: shipping fees and perks', () => {
  useTestDatabase();

  test('when boxes are paid in dollars, yen and euros, then each pays the fee of its own currency (none for euros), and the free-shipping perk waives it from the 3rd box, once per box', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call, recording } = world;
    await call(
      'patch',
      '/merchants/me',
      {
        subscriptionSettings: {
          shippingFees: [
            { currency: 'USD', amountMinor: 500 },
            { currency: 'JPY', amountMinor: 800 },
          ],
        },
      },
      200,
    );
    const usd = await world.createPlan(month({ priceMinor: 2600 }));
    const jpy = await world.createPlan({ currency: 'JPY', ...month({ priceMinor: 3000 }) });
    const eur = await world.createPlan({ currency: 'EUR', ...month({ priceMinor: 2400 }) });
    const perk = await call(
      'post',
      '/perks',
      { name: 'Free shipping from your 3rd box', eligibility: { minPaidBoxes: 2 }, benefit: { kind: 'free_shipping' } },
      201,
    );
    const freeShipping = { source: 'perk', id: perk.id, reason: 'Free shipping from your 3rd box' };

    const ana = await world.subscribe(usd);
    const ken = await world.subscribe(jpy);
    const eva = await world.subscribe(eur);
    await world.payFirstBox(ana, 2600);
    await world.payFirstBox(ken, 3000);
    await world.payFirstBox(eva, 2400);

    // Box 2: $5.00, ¥800, and nothing for euros (no fee set for EUR).
    const [anaSecond, kenSecond, evaSecond] = await world.renewAll([ana, ken, eva]);
    const second = { ana: anaSecond!, ken: kenSecond!, eva: evaSecond! };
    expect(linesOf(second.ana)).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 2600 },
      { kind: 'shipping', description: 'Shipping', amountMinor: 500 },
    ]);
    expect(linesOf(second.ken)).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 3000 },
      { kind: 'shipping', description: 'Shipping', amountMinor: 800 },
    ]);
    expect(linesOf(second.eva)).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 2400 }]);
    expect([second.ana, second.ken, second.eva].map((o) => [o.currency, o.amountDueMinor, o.amountPaidMinor])).toEqual([
      ['USD', 3100, 3100],
      ['JPY', 3800, 3800],
      ['EUR', 2400, 2400],
    ]);

    // Box 3 (2 paid before): the perk waives the fee, and says so on the line.
    const [anaThird, kenThird, evaThird] = await world.renewAll([ana, ken, eva]);
    const third = { ana: anaThird!, ken: kenThird!, eva: evaThird! };
    expect(linesOf(third.ana)).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 2600 },
      { kind: 'shipping', description: 'Shipping (free)', amountMinor: 0, grantedBy: freeShipping },
    ]);
    expect(linesOf(third.ken)).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 3000 },
      { kind: 'shipping', description: 'Shipping (free)', amountMinor: 0, grantedBy: freeShipping },
    ]);
    expect(linesOf(third.eva)).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 2400 }]); // nothing to waive
    expect([third.ana, third.ken, third.eva].map((o) => o.amountDueMinor)).toEqual([2600, 3000, 2400]);

    // Stripe billed each fee once, in its currency; a waived fee is not billed at all. (Boxes are prepared
    // several at once, so the calls come in any order: compared by key.)
    const shipping = recording.invoiceItems.filter((item) => item.key.endsWith(':shipping:create'));
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    const billed = shipping.map((item) => ({ key: item.key, ...(item.input as { amountMinor: number; currency: string }) }));
    const expected = [
      { key: `invoice-item:${second.ana._id}:shipping:create`, amountMinor: 500, currency: 'USD' },
      { key: `invoice-item:${second.ken._id}:shipping:create`, amountMinor: 800, currency: 'JPY' },
    ];
    expect(billed.sort(byKey)).toEqual(expected.sort(byKey).map((item) => expect.objectContaining(item)));

    // The cut-off job and the payments again: nothing changes.
    const before = await BoxOrderModel.find({ merchantId: world.merchant.id }).sort({ _id: 1 }).lean();
    await world.driver.runCutoffs();
    for (const [sub, order] of [
      [ana, third.ana],
      [ken, third.ken],
      [eva, third.eva],
    ] as const) {
      expect(await world.driver.pay(sub.stripeSubscriptionId, order.paidAt!, order.amountDueMinor, `in_${order._id}`)).toBe(200);
    }
    expect(await BoxOrderModel.find({ merchantId: world.merchant.id }).sort({ _id: 1 }).lean()).toEqual(before);
    expect(recording.invoiceItems.filter((item) => item.key.endsWith(':shipping:create'))).toHaveLength(2);
  }, 120_000);

  test('when a merchant saved the one fee of before, then it charges it in its default currency only: a yen box is not charged 500 yen for a $5.00 fee', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    await MerchantModel.updateOne({ _id: world.merchant.id }, { $set: { 'subscriptionSettings.shippingFeeMinor': 500 } });
    const usd = await world.createPlan(month({ priceMinor: 2600 }));
    const jpy = await world.createPlan({ currency: 'JPY', ...month({ priceMinor: 3000 }) });
    const ana = await world.subscribe(usd);
    const ken = await world.subscribe(jpy);
    expect(linesOf(await world.buildNextBox(ana))).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 2600 },
      { kind: 'shipping', description: 'Shipping', amountMinor: 500 },
    ]);
    expect(linesOf(await world.buildNextBox(ken))).toEqual([{ kind: 'plan', description: expect.any(String), amountMinor: 3000 }]);
  }, 60_000);

  test('when a new add-on is not released yet, then only subscribers the early-access perk names can add it, each to their next open box at its price', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call, app, merchant } = world;
    const plan = await world.createPlan(month({ priceMinor: 2600 }));
    const winter = await world.createAddon({ name: 'Winter blend', priceMinor: 1800, releasesOn: '2026-06-01' });
    const perk = await call(
      'post',
      '/perks',
      { name: 'Loyal tasters: new blends first', eligibility: { minPaidBoxes: 3 }, benefit: { kind: 'early_access', addonIds: [winter.id] } },
      201,
    );
    const ana = await world.subscribe(plan);
    await world.payFirstBox(ana, 2600);
    const add = (subscriptionId: string) =>
      request(app).post(`/api/v1/subscriptions/${subscriptionId}/addons`).set(merchant.auth).send({ addonId: winter.id, quantity: 1 });

    // One paid box: not yet.
    const early = await add(ana.id).expect(409);
    expect(early.body.detail).toBe('This add-on is available from 2026-06-01; early access is a perk for some subscribers.');
    // Three paid boxes: Ana may; Bob, who joins now with one, may not.
    await world.renew(ana);
    await world.renew(ana);
    const bob = await world.subscribe(plan);
    await world.payFirstBox(bob, 2600);
    expect(world.clock.now().toISOString() < '2026-06-01').toBe(true);
    const added = (await add(ana.id).expect(200)).body;
    expect(added.addons).toEqual([expect.objectContaining({ addonId: winter.id, quantity: 1, kind: 'one_time' })]);
    await add(bob.id).expect(409);
    const box4 = await world.renew(ana);
    expect(linesOf(box4)).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 2600 },
      { kind: 'addon', description: 'Winter blend', amountMinor: 1800 },
    ]);
    expect(box4.amountPaidMinor).toBe(4400);

    // Archived, the perk opens nothing more; from the release date everyone may add it.
    await call('post', `/perks/${perk.id}/archive`, {}, 200);
    await add(ana.id).expect(409);
    world.clock.set('2026-06-01T05:00:00Z'); // midnight in New York
    await add(bob.id).expect(200);
  }, 120_000);
});
