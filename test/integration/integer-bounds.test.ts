import type { Express } from 'express';
import request from 'supertest';
import { z } from 'zod';
import { AddonModel } from '../../src/addons/addon.model';
import { apiRoutes } from '../../src/api';
import { StockItemModel } from '../../src/inventory/stock-item.model';
import { MAX_REQUEST_INTEGER, MAX_STOCK_UNITS } from '../../src/shared/schemas';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildAddonInput, buildPlanInput } from '../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../factories/merchant.factory';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

const routes = apiRoutes({
  clock: new FakeClock(),
  logger: silentLogger,
  stripe: createStripeGateway(testStripe()),
  version: 't',
  publicUrl: 'http://x',
  checkResponses: true,
});

/** Every number in a JSON Schema, with its path, that is not bounded on both sides within the request limit. */
function unboundedNumbers(schema: unknown, path: string, found: string[] = []): string[] {
  if (Array.isArray(schema)) {
    schema.forEach((item, i) => unboundedNumbers(item, `${path}[${i}]`, found));
    return found;
  }
  if (typeof schema !== 'object' || schema === null) return found;
  const node = schema as Record<string, unknown>;
  if (node.type === 'integer' || node.type === 'number') {
    const { minimum, maximum } = node as { minimum?: number; maximum?: number };
    if (
      node.type === 'number' ||
      typeof minimum !== 'number' ||
      typeof maximum !== 'number' ||
      minimum < -MAX_REQUEST_INTEGER ||
      maximum > MAX_REQUEST_INTEGER
    ) {
      found.push(`${path}: ${node.type} ${minimum ?? '-∞'}..${maximum ?? '∞'}`);
    }
  }
  for (const [key, value] of Object.entries(node)) unboundedNumbers(value, `${path}.${key}`, found);
  return found;
}

describe('every integer the API accepts is bounded', () => {
  test.each(routes.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route] as const))('%s', (_name, route) => {
    const parts = { body: route.body, query: route.query, params: route.params };
    const found = Object.entries(parts).flatMap(([where, schema]) =>
      schema ? unboundedNumbers(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), where) : [],
    );
    expect(found).toEqual([]);
  });
});

describe('stock stays within what it can hold', () => {
  useTestDatabase();
  const { app } = buildTestApp();
  let merchant: TestMerchant;

  beforeAll(async () => {
    merchant = await createMerchant();
  });

  const adjustAddon = (target: Express, id: string, adjustBy: number) =>
    request(target).post(`/api/v1/addons/${id}/stock-adjustments`).set(merchant.auth).send({ adjustBy, reason: 'count' });

  test('when an add-on stock adjustment is the largest safe integer, then it answers 400, stock is unchanged, and the add-on and the list still answer', async () => {
    const addon = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ stock: 10 }))
        .expect(201)
    ).body;
    for (const adjustBy of [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, MAX_STOCK_UNITS + 1]) {
      const res = await adjustAddon(app, addon.id, adjustBy);
      expect(res.status).toBe(400);
      expect(res.body.type).toBe('/problems/invalid_request');
    }
    expect((await AddonModel.findById(addon.id).lean())?.stock.onHand).toBe(10);
    expect((await request(app).get(`/api/v1/addons/${addon.id}`).set(merchant.auth).expect(200)).body.stock.onHand).toBe(10);
    await request(app).get('/api/v1/addons').set(merchant.auth).expect(200);
  });

  test('when add-on receipts would take stock past its maximum, then the one that would cross answers 409 and changes nothing', async () => {
    const addon = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ stock: MAX_STOCK_UNITS - 5 }))
        .expect(201)
    ).body;
    expect((await adjustAddon(app, addon.id, 5).expect(200)).body.stock.onHand).toBe(MAX_STOCK_UNITS);
    const refused = await adjustAddon(app, addon.id, 1).expect(409);
    expect(refused.body.type).toBe('/problems/invalid_state');
    expect(refused.body.detail).toMatch(/at most 10000000/);
    expect((await AddonModel.findById(addon.id).lean())?.stock.onHand).toBe(MAX_STOCK_UNITS);
    expect((await adjustAddon(app, addon.id, -MAX_STOCK_UNITS).expect(200)).body.stock.onHand).toBe(0);
  });

  test('when 20 receipts of the maximum race on an empty add-on, then exactly one succeeds and stock is the maximum', async () => {
    const addon = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ stock: 0 }))
        .expect(201)
    ).body;
    const results = await Promise.all(Array.from({ length: 20 }, () => adjustAddon(app, addon.id, MAX_STOCK_UNITS)));
    expect(results.map((res) => res.status).sort()).toEqual([200, ...Array<number>(19).fill(409)]);
    expect((await AddonModel.findById(addon.id).lean())?.stock.onHand).toBe(MAX_STOCK_UNITS);
  });

  test('when variant stock receipts would take stock past its maximum, then it answers 409 and changes nothing', async () => {
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const sku = plan.variants[0].sku as string;
    const adjust = (adjustBy: number) => request(app).post(`/api/v1/stock-items/${sku}/adjustments`).set(merchant.auth).send({ adjustBy, reason: 'count' });
    expect((await adjust(Number.MAX_SAFE_INTEGER).expect(400)).body.type).toBe('/problems/invalid_request');
    await adjust(MAX_STOCK_UNITS).expect(200);
    const refused = await adjust(1).expect(409);
    expect(refused.body.type).toBe('/problems/invalid_state');
    expect((await StockItemModel.findOne({ merchantId: merchant.id, sku }).lean())?.stock.onHand).toBe(MAX_STOCK_UNITS);
    expect((await request(app).get(`/api/v1/stock-items/${sku}`).set(merchant.auth).expect(200)).body.onHand).toBe(MAX_STOCK_UNITS);
    await request(app).get('/api/v1/stock-items').set(merchant.auth).expect(200);
  });
});
