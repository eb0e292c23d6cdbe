import { BoxOrderModel } from '../../src/orders/box-order.model';
import { linesOf, retentionScenario } from '../helpers/retention-scenario';
import { useTestDatabase } from '../helpers/test-env';

/**
 * Threshold offers over months on a fake clock: boxes built at their cut-off by the real job, paid by signed
 * `invoice.paid` events through the real endpoint. A threshold counts the box total (the plan at the
 * shopper's price after the first-box discount, plus add-ons; not shipping, not credit) or, when the merchant
 * says so, add-ons only. One threshold offer per box: the one that saves most.
 */
describe('scenario: threshold offers', () => {
  useTestDatabase();

  test('when a 5+ boxes "spend 100, save 30" offer counts the box total and another counts add-ons, then each box gets exactly the best one it reaches, once, and Stripe bills it once', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call, recording } = world;
    await call('patch', '/merchants/me', { subscriptionSettings: { shippingFees: [{ currency: 'USD', amountMinor: 400 }] } }, 200);
    const plan = await world.createPlan(); // 26.00 a month
    const descaler = await world.createAddon({ name: 'Descaler kit', priceMinor: 7400 });
    const kettle = await world.createAddon({ name: 'Kettle', priceMinor: 7100 });
    const boxTotal = await call(
      'post',
      '/offers',
      {
        kind: 'threshold',
        name: '5+ boxes: spend 100, save 30',
        eligibility: { minPaidBoxes: 5 },
        basis: 'box_total',
        minSpendMinor: 10_000,
        amountOffMinor: 3000,
      },
      201,
    );
    expect(boxTotal).toMatchObject({ kind: 'threshold', currency: 'USD', threshold: { basis: 'box_total', minSpendMinor: 10_000, amountOffMinor: 3000 } });
    const addonsOnly = await call(
      'post',
      '/offers',
      { kind: 'threshold', name: 'Add-ons of 40 or more: save 5', basis: 'addons', minSpendMinor: 4000, amountOffMinor: 500 },
      201,
    );
    const byBoxTotal = { source: 'offer', id: boxTotal.id, reason: '5+ boxes: spend 100, save 30' };
    const byAddons = { source: 'offer', id: addonsOnly.id, reason: 'Add-ons of 40 or more: save 5' };

    const ana = await world.subscribe(plan);
    await world.payFirstBox(ana, 2600);
    const plain = [
      { kind: 'plan', description: expect.any(String), amountMinor: 2600 },
      { kind: 'shipping', description: 'Shipping', amountMinor: 400 },
    ];

    // Box 2 (1 paid before): 100.00 of goods, but the box-total offer wants 5 paid boxes; the add-ons offer applies.
    await call('post', `/subscriptions/${ana.id}/addons`, { addonId: descaler.id, quantity: 1 }, 200);
    const box2 = await world.renew(ana);
    expect(linesOf(box2)).toEqual([
      plain[0],
      { kind: 'addon', description: 'Descaler kit', amountMinor: 7400 },
      plain[1],
      { kind: 'credit', description: 'Add-ons of 40 or more: save 5', amountMinor: -500, grantedBy: byAddons },
    ]);
    expect(box2).toMatchObject({ amountDueMinor: 9900, amountPaidMinor: 9900, status: 'paid' });

    // Boxes 3 to 5: the plan alone reaches neither.
    for (let box = 3; box <= 5; box += 1) expect(linesOf(await world.renew(ana))).toEqual(plain);

    // Box 6 (5 paid before): 26.00 + 74.00 = 100.00 exactly. Both offers are reached; the one saving most applies, alone.
    await call('post', `/subscriptions/${ana.id}/addons`, { addonId: descaler.id, quantity: 1 }, 200);
    const box6 = await world.renew(ana);
    expect(linesOf(box6)).toEqual([
      plain[0],
      { kind: 'addon', description: 'Descaler kit', amountMinor: 7400 },
      plain[1],
      { kind: 'credit', description: '5+ boxes: spend 100, save 30', amountMinor: -3000, grantedBy: byBoxTotal },
    ]);
    expect(box6).toMatchObject({ amountDueMinor: 7400, amountPaidMinor: 7400 });

    // Box 7: 26.00 + 71.00 = 97.00 of goods; with 4.00 of shipping the invoice passes 100, but shipping does not count.
    await call('post', `/subscriptions/${ana.id}/addons`, { addonId: kettle.id, quantity: 1 }, 200);
    const box7 = await world.renew(ana);
    expect(linesOf(box7)).toEqual([
      plain[0],
      { kind: 'addon', description: 'Kettle', amountMinor: 7100 },
      plain[1],
      { kind: 'credit', description: 'Add-ons of 40 or more: save 5', amountMinor: -500, grantedBy: byAddons },
    ]);
    expect(box7.amountDueMinor).toBe(9600);

    // Stripe was asked once per amount off, keyed by the box and the offer.
    const offerItems = recording.invoiceItems.filter((item) => item.key.includes(':offer:'));
    expect(offerItems.map((item) => ({ key: item.key, amountMinor: (item.input as { amountMinor: number }).amountMinor }))).toEqual([
      { key: `invoice-item:${box2._id}:offer:${addonsOnly.id}:create`, amountMinor: -500 },
      { key: `invoice-item:${box6._id}:offer:${boxTotal.id}:create`, amountMinor: -3000 },
      { key: `invoice-item:${box7._id}:offer:${addonsOnly.id}:create`, amountMinor: -500 },
    ]);

    // Replays change nothing: the cut-off job again, every payment again.
    const before = await BoxOrderModel.find({ subscriptionId: ana.id }).sort({ cycleKey: 1 }).lean();
    await world.driver.runCutoffs();
    for (const order of before.slice(1)) await world.driver.pay(ana.stripeSubscriptionId, order.paidAt!, order.amountDueMinor, `in_${order._id}`);
    expect(await BoxOrderModel.find({ subscriptionId: ana.id }).sort({ cycleKey: 1 }).lean()).toEqual(before);
    expect(recording.invoiceItems.filter((item) => item.key.includes(':offer:'))).toHaveLength(3);
  }, 120_000);

  test('when the first box has its discount, then the box total counts the plan after it, not the shipping, and the next box counts the full price', async () => {
    const world = await retentionScenario('2026-01-15T15:30:00Z');
    const { call } = world;
    await call('patch', '/merchants/me', { subscriptionSettings: { shippingFees: [{ currency: 'USD', amountMinor: 400 }] } }, 200);
    // A trial: the first box is built at its cut-off like any other, with the first-box discount on it.
    const plan = await world.createPlan({ trialDays: 14, firstBoxDiscount: { type: 'percent', percentOff: 50 } });
    const beans = await world.createAddon({ name: 'Beans refill', kind: 'recurring', priceMinor: 600 });
    const offer = await call(
      'post',
      '/offers',
      { kind: 'threshold', name: 'Spend 20, save 3', basis: 'box_total', minSpendMinor: 2000, amountOffMinor: 300 },
      201,
    );
    const ana = await world.subscribe(plan);
    await call('post', `/subscriptions/${ana.id}/addons`, { addonId: beans.id, quantity: 1 }, 200);

    // 26.00 − 13.00 + 6.00 = 19.00 < 20.00 (and 23.00 with shipping): no offer.
    const first = await world.renew(ana);
    expect(linesOf(first)).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 2600 },
      { kind: 'addon', description: 'Beans refill', amountMinor: 600 },
      { kind: 'discount', description: 'First box discount', amountMinor: -1300 },
      { kind: 'shipping', description: 'Shipping', amountMinor: 400 },
    ]);
    expect(first.amountDueMinor).toBe(2300);

    // 26.00 + 6.00 = 32.00: saved 3.00.
    const second = await world.renew(ana);
    expect(linesOf(second)).toEqual([
      { kind: 'plan', description: expect.any(String), amountMinor: 2600 },
      { kind: 'addon', description: 'Beans refill', amountMinor: 600 },
      { kind: 'shipping', description: 'Shipping', amountMinor: 400 },
      { kind: 'credit', description: 'Spend 20, save 3', amountMinor: -300, grantedBy: { source: 'offer', id: offer.id, reason: 'Spend 20, save 3' } },
    ]);
    expect(second.amountDueMinor).toBe(3300);
  }, 60_000);
});
