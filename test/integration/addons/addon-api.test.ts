import request from 'supertest';
import { AddonModel } from '../../../src/addons/addon.model';
import { buildAddonInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('add-ons', () => {
  useTestDatabase();

  test('when an add-on is created, then it has tracked stock and a one-time Stripe price', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const res = await request(app)
      .post('/api/v1/addons')
      .set(merchant.auth)
      .send(buildAddonInput({ kind: 'recurring', stock: 25 }))
      .expect(201);
    expect(res.body).toMatchObject({ object: 'addon', kind: 'recurring', stock: { tracked: true, onHand: 25 }, price: { amountMinor: 1200, currency: 'USD' } });
    expect(res.body.stripe.state).toBe('synced');
    expect(stripeCalls.map((c) => c.idempotencyKey)).toEqual([`addon:${res.body.id}:product`, `price:${res.body.price.id}:create`]);
  });

  test('when stock is not given, then it is not tracked and cannot be adjusted', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const addon = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ stock: null }))
        .expect(201)
    ).body;
    expect(addon.stock).toEqual({ tracked: false, onHand: null, reserved: 0 });
    const res = await request(app)
      .post(`/api/v1/addons/${addon.id}/stock-adjustments`)
      .set(merchant.auth)
      .send({ adjustBy: 5, reason: 'received' })
      .expect(409);
    expect(res.body.type).toBe('/problems/invalid_state');
  });

  test('when stock is adjusted, then it moves by the amount and never below zero', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const addon = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ stock: 3 }))
        .expect(201)
    ).body;
    const added = await request(app)
      .post(`/api/v1/addons/${addon.id}/stock-adjustments`)
      .set(merchant.auth)
      .send({ adjustBy: 5, reason: 'delivery' })
      .expect(200);
    expect(added.body.stock.onHand).toBe(8);
    const refused = await request(app)
      .post(`/api/v1/addons/${addon.id}/stock-adjustments`)
      .set(merchant.auth)
      .send({ adjustBy: -9, reason: 'count' })
      .expect(409);
    expect(refused.body.detail).toBe('Only 8 on hand; cannot remove 9.');
    expect((await AddonModel.findById(addon.id).lean())?.stock.onHand).toBe(8);
  });

  test('when 20 removals of one unit race on a stock of 10, then exactly 10 succeed and 0 remain', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const addon = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ stock: 10 }))
        .expect(201)
    ).body;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        request(app).post(`/api/v1/addons/${addon.id}/stock-adjustments`).set(merchant.auth).send({ adjustBy: -1, reason: 'race' }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 409)).toHaveLength(10);
    expect((await AddonModel.findById(addon.id).lean())?.stock.onHand).toBe(0);
  });

  test('when the price changes, then a new price replaces it and the SKU stays unique per merchant', async () => {
    const { app, stripeCalls } = buildTestApp();
    const merchant = await createMerchant();
    const addon = (await request(app).post('/api/v1/addons').set(merchant.auth).send(buildAddonInput()).expect(201)).body;
    stripeCalls.length = 0;
    const changed = await request(app).patch(`/api/v1/addons/${addon.id}`).set(merchant.auth).send({ priceMinor: 1500 }).expect(200);
    expect(changed.body.price.amountMinor).toBe(1500);
    expect(changed.body.price.id).not.toBe(addon.price.id);
    expect(stripeCalls.map((c) => c.idempotencyKey)).toEqual([
      `addon:${addon.id}:product:r1`,
      `price:${changed.body.price.id}:create`,
      `price:${addon.price.id}:deactivate`,
    ]);
    const dup = await request(app)
      .post('/api/v1/addons')
      .set(merchant.auth)
      .send(buildAddonInput({ sku: addon.sku }))
      .expect(409);
    expect(dup.body.type).toBe('/problems/sku_taken');
    const other = await createMerchant();
    await request(app)
      .post('/api/v1/addons')
      .set(other.auth)
      .send(buildAddonInput({ sku: addon.sku }))
      .expect(201);
  });
});
