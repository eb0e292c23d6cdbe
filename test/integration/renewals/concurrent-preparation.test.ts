import request from 'supertest';
import { adjustVariantStock } from '../../../src/inventory/stock-item.service';
import { StockItemModel } from '../../../src/inventory/stock-item.model';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { prepareNextBox } from '../../../src/renewals/renewal.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { stockBesideLines } from '../../helpers/stock-ledger';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

const SUBSTITUTED = {
  variants: [
    { name: 'A', sku: 'RACE-A', substituteSkus: ['RACE-B'] },
    { name: 'B', sku: 'RACE-B' },
  ],
};

describe('renewals.prepare-boxes: two preparations of one box at once', () => {
  useTestDatabase();
  afterEach(() => jest.restoreAllMocks());

  test('when the chosen variant comes back in stock between two preparations of one box, then the one that loses gives back the substitute it held and stock adds up', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant, SUBSTITUTED);
    // A is tracked and sold out; B, the merchant's substitute, has 3.
    await adjustVariantStock(clock, merchant.id, 'RACE-A', 1);
    await adjustVariantStock(clock, merchant.id, 'RACE-A', -1);
    await adjustVariantStock(clock, merchant.id, 'RACE-B', 3);
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    const cutoffAt = (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body.nextCharge.cutoffAt as string;
    clock.set(new Date(Date.parse(cutoffAt) + 60_000));

    // The interleaving: the second runner finds A short; a unit of A is received; the first runner prepares the
    // box from start to end (A is reserved and recorded); only then does the second take B, and its write loses.
    const updateOne = StockItemModel.updateOne.bind(StockItemModel);
    let interleaved = false;
    jest.spyOn(StockItemModel, 'updateOne').mockImplementation(((...args: Parameters<typeof updateOne>) => {
      const filter = args[0] as unknown as Record<string, unknown>;
      if (interleaved || filter.sku !== 'RACE-B' || !filter['stock.holds']) return updateOne(...args);
      interleaved = true;
      return (async () => {
        await adjustVariantStock(clock, merchant.id, 'RACE-A', 1);
        await prepareNextBox(deps, subscription.id);
        return updateOne(...args);
      })();
    }) as unknown as typeof updateOne);

    await prepareNextBox(deps, subscription.id);

    expect(interleaved).toBe(true);
    const orders = await BoxOrderModel.find({ subscriptionId: subscription.id }).lean();
    expect(orders).toHaveLength(1);
    expect(orders[0]!.lines).toEqual([expect.objectContaining({ kind: 'plan', sku: 'RACE-A', stock: 'reserved' })]);
    expect(await stockBesideLines(merchant.id, 'RACE-A')).toMatchObject({ onHand: 0, reserved: 1, holds: 1, linesReserved: 1 });
    expect(await stockBesideLines(merchant.id, 'RACE-B')).toMatchObject({ onHand: 3, reserved: 0, holds: 0, linesReserved: 0 });
  });
});
