import type { Express } from 'express';
import request from 'supertest';
import { StockItemModel, variantStockPlace } from '../../../src/inventory/stock-item.model';
import { consumeStock, releaseStock, reserveStock } from '../../../src/inventory/stock';
import { FakeClock } from '../../../src/shared/time';
import { buildAddonInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** A plan of the merchant, through the API; returns its variants' SKUs. */
async function createPlanSkus(app: Express, merchant: TestMerchant): Promise<string[]> {
  const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
  return plan.variants.map((variant: { sku: string }) => variant.sku);
}

const adjust = (app: Express, merchant: TestMerchant, sku: string, adjustBy: number, reason = 'stock count') =>
  request(app).post(`/api/v1/stock-items/${sku}/adjustments`).set(merchant.auth).send({ adjustBy, reason });

describe('the stock-items API', () => {
  useTestDatabase();

  test('when a variant SKU first receives units, then it starts being tracked, and later receipts add to it', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const [sku] = await createPlanSkus(app, merchant);

    const before = await request(app).get(`/api/v1/stock-items/${sku}`).set(merchant.auth).expect(404);
    expect(before.body.type).toBe('/problems/not_found');

    const first = await adjust(app, merchant, sku!, 12, 'delivery from the roaster').expect(200);
    expect(first.body).toEqual({
      sku,
      object: 'stock_item',
      onHand: 12,
      reserved: 0,
      createdAt: '2026-03-02T15:30:00.000Z',
      updatedAt: '2026-03-02T15:30:00.000Z',
    });

    clock.advance(60_000);
    const second = await adjust(app, merchant, sku!, 3).expect(200);
    expect(second.body).toMatchObject({ onHand: 15, reserved: 0, createdAt: '2026-03-02T15:30:00.000Z', updatedAt: '2026-03-02T15:31:00.000Z' });
    expect((await request(app).get(`/api/v1/stock-items/${sku}`).set(merchant.auth).expect(200)).body).toEqual(second.body);
    expect(await StockItemModel.countDocuments({ merchantId: merchant.id, sku })).toBe(1);
  });

  test('when a removal would take stock below zero, then it answers 409 invalid_state and nothing changes', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const [tracked, untracked] = await createPlanSkus(app, merchant);
    await adjust(app, merchant, tracked!, 3).expect(200);

    clock.advance(60_000);
    const res = await adjust(app, merchant, tracked!, -5, 'damaged').expect(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: '/problems/invalid_state', status: 409, detail: 'Only 3 on hand; cannot remove 5.' });
    expect((await request(app).get(`/api/v1/stock-items/${tracked}`).set(merchant.auth).expect(200)).body).toMatchObject({
      onHand: 3,
      reserved: 0,
      updatedAt: '2026-03-02T15:30:00.000Z',
    });

    // A removal from a SKU not tracked yet does not start tracking it.
    expect((await adjust(app, merchant, untracked!, -1).expect(409)).body.type).toBe('/problems/invalid_state');
    await request(app).get(`/api/v1/stock-items/${untracked}`).set(merchant.auth).expect(404);

    // Removing exactly what is on hand is allowed.
    expect((await adjust(app, merchant, tracked!, -3).expect(200)).body.onHand).toBe(0);
  });

  test('when an adjustment is zero, has no reason or has unknown fields, then it answers 400 and tracks nothing', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant({}, clock);
    const [sku] = await createPlanSkus(app, merchant);
    const bodies = [{ adjustBy: 0, reason: 'x' }, { adjustBy: 5 }, { adjustBy: 1.5, reason: 'x' }, { adjustBy: 5, reason: 'x', onHand: 100 }];
    for (const body of bodies) {
      const res = await request(app).post(`/api/v1/stock-items/${sku}/adjustments`).set(merchant.auth).send(body).expect(400);
      expect(res.body.type).toBe('/problems/invalid_request');
    }
    await request(app).get(`/api/v1/stock-items/${sku}`).set(merchant.auth).expect(404);
  });

  test("when the SKU is not one of the merchant's plan variants (unknown, an add-on's, another merchant's), then it answers 404 and tracks nothing", async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const other = await createMerchant({}, clock);
    const addon = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ stock: 4 }))
        .expect(201)
    ).body;
    const [othersSku] = await createPlanSkus(app, other);

    for (const sku of ['NO-SUCH-SKU', addon.sku as string, othersSku!]) {
      const res = await adjust(app, merchant, sku, 10, 'delivery').expect(404);
      expect(res.body.type).toBe('/problems/not_found');
      await request(app).get(`/api/v1/stock-items/${sku}`).set(merchant.auth).expect(404);
    }
    expect(await StockItemModel.countDocuments({ merchantId: merchant.id })).toBe(0);
    // The add-on keeps its own stock, untouched.
    expect((await request(app).get(`/api/v1/addons/${addon.id}`).set(merchant.auth).expect(200)).body).toMatchObject({ sku: addon.sku });
    expect((await request(app).get('/api/v1/stock-items').set(merchant.auth).expect(200)).body.data).toEqual([]);
  });

  test('when 30 removals of 1 race on 10 units, then exactly 10 succeed, the others answer 409, and none is left', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant({}, clock);
    const [sku] = await createPlanSkus(app, merchant);
    await adjust(app, merchant, sku!, 10).expect(200);

    const results = await Promise.all(Array.from({ length: 30 }, () => adjust(app, merchant, sku!, -1, 'sold at the shop')));

    expect(results.filter((res) => res.status === 200)).toHaveLength(10);
    expect(results.filter((res) => res.status === 409)).toHaveLength(20);
    expect((await request(app).get(`/api/v1/stock-items/${sku}`).set(merchant.auth).expect(200)).body).toMatchObject({ onHand: 0, reserved: 0 });
  });

  // Fails today (most runs): a receipt whose increment found no item, and whose re-read finds the one a
  // concurrent first receipt just created, answers 409 "cannot remove -2" (src/inventory/stock-item.service.ts).
  test('when 40 first receipts race on a SKU not tracked yet, then all succeed and one stock item holds all the units', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant({}, clock);
    const [sku] = await createPlanSkus(app, merchant);

    const results = await Promise.all(Array.from({ length: 40 }, () => adjust(app, merchant, sku!, 2, 'delivery')));

    expect(results.filter((res) => res.status !== 200).map((res) => [res.status, res.body.detail])).toEqual([]);
    expect(await StockItemModel.countDocuments({ merchantId: merchant.id, sku })).toBe(1);
    expect((await request(app).get(`/api/v1/stock-items/${sku}`).set(merchant.auth).expect(200)).body.onHand).toBe(80);
  });

  test('when stock items are listed, then each tracked SKU of the merchant shows what is on hand and reserved, newest first', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const other = await createMerchant({}, clock);
    const [older, newer, untracked] = [...(await createPlanSkus(app, merchant)), ...(await createPlanSkus(app, merchant))];
    const [othersSku] = await createPlanSkus(app, other);
    await adjust(app, merchant, older!, 5).expect(200);
    clock.advance(60_000);
    await adjust(app, merchant, newer!, 8).expect(200);
    await adjust(app, other, othersSku!, 99).expect(200);
    expect(await reserveStock(variantStockPlace(merchant.id, newer!), 'ord_list:plan', 3)).toBe('reserved');

    const list = (await request(app).get('/api/v1/stock-items').set(merchant.auth).expect(200)).body;
    expect(list.data.map((item: { sku: string; onHand: number; reserved: number }) => [item.sku, item.onHand, item.reserved])).toEqual([
      [newer, 5, 3],
      [older, 5, 0],
    ]);
    expect(list.data.map((item: { sku: string }) => item.sku)).not.toContain(untracked);

    const firstPage = (await request(app).get('/api/v1/stock-items?limit=1').set(merchant.auth).expect(200)).body;
    expect(firstPage.data.map((item: { sku: string }) => item.sku)).toEqual([newer]);
    expect(firstPage.hasMore).toBe(true);
    const secondPage = (
      await request(app)
        .get(`/api/v1/stock-items?limit=1&startingAfter=${encodeURIComponent(firstPage.nextCursor)}`)
        .set(merchant.auth)
        .expect(200)
    ).body;
    expect(secondPage.data.map((item: { sku: string }) => item.sku)).toEqual([older]);
    expect(secondPage.hasMore).toBe(false);
  });
});

describe('stock holds (src/inventory/stock.ts)', () => {
  useTestDatabase();

  async function trackedPlace(units: number) {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant({}, clock);
    const [sku] = await createPlanSkus(app, merchant);
    await adjust(app, merchant, sku!, units).expect(200);
    const place = variantStockPlace(merchant.id, sku!);
    const level = async () => (await StockItemModel.findOne(place.filter).lean())!.stock;
    return { place, level, merchant, sku: sku! };
  }

  test('when the same hold is taken twice, then stock is taken once and both answers are reserved', async () => {
    const { place, level } = await trackedPlace(5);
    expect(await reserveStock(place, 'ord_a:plan', 2)).toBe('reserved');
    expect(await reserveStock(place, 'ord_a:plan', 2)).toBe('reserved');
    expect(await level()).toMatchObject({ onHand: 3, reserved: 2, holds: ['ord_a:plan'] });
  });

  test('when a hold is released twice, then its units come back once and the second release says there was no hold', async () => {
    const { place, level } = await trackedPlace(5);
    await reserveStock(place, 'ord_b:plan', 2);
    expect(await releaseStock(place, 'ord_b:plan', 2)).toBe(true);
    expect(await releaseStock(place, 'ord_b:plan', 2)).toBe(false);
    expect(await level()).toMatchObject({ onHand: 5, reserved: 0, holds: [] });
    expect(await releaseStock(place, 'ord_never:plan', 1)).toBe(false);
    expect(await level()).toMatchObject({ onHand: 5, reserved: 0 });
  });

  test('when a hold is consumed (the box shipped), then reserved falls, on hand stays, and neither a repeat nor a release gives units back', async () => {
    const { place, level } = await trackedPlace(5);
    await reserveStock(place, 'ord_c:plan', 2);
    expect(await consumeStock(place, 'ord_c:plan', 2)).toBe(true);
    expect(await consumeStock(place, 'ord_c:plan', 2)).toBe(false);
    expect(await releaseStock(place, 'ord_c:plan', 2)).toBe(false);
    expect(await level()).toMatchObject({ onHand: 3, reserved: 0, holds: [] });
  });

  test('when more is asked than is on hand, then the hold is short and nothing is taken; a SKU never tracked is untracked', async () => {
    const { place, level, merchant } = await trackedPlace(1);
    expect(await reserveStock(place, 'ord_d:plan', 2)).toBe('short');
    expect(await level()).toMatchObject({ onHand: 1, reserved: 0, holds: [] });
    expect(await reserveStock(variantStockPlace(merchant.id, 'NOT-TRACKED'), 'ord_d:plan', 1)).toBe('untracked');
  });

  test('when 20 different holds of 1 race on 7 units, then exactly 7 are reserved and 13 short, and none is oversold', async () => {
    const { place, level } = await trackedPlace(7);
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => reserveStock(place, `ord_race${i}:plan`, 1)));

    expect(outcomes.filter((o) => o === 'reserved')).toHaveLength(7);
    expect(outcomes.filter((o) => o === 'short')).toHaveLength(13);
    const stock = await level();
    expect(stock).toMatchObject({ onHand: 0, reserved: 7 });
    expect(stock.holds).toHaveLength(7);
    expect(new Set(stock.holds)).toEqual(new Set(outcomes.flatMap((o, i) => (o === 'reserved' ? [`ord_race${i}:plan`] : []))));
  });
});
