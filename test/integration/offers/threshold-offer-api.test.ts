import request from 'supertest';
import { OfferModel } from '../../../src/offers/offer.model';
import { createMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('threshold offers: the API', () => {
  useTestDatabase();

  test('when a threshold offer is created without a basis, then it counts the box total; add-ons only must be asked for', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const total = await request(app)
      .post('/api/v1/offers')
      .set(merchant.auth)
      .send({ kind: 'threshold', name: 'Spend 100, save 30', minSpendMinor: 10_000, amountOffMinor: 3000 })
      .expect(201);
    expect(total.body.threshold).toEqual({ basis: 'box_total', minSpendMinor: 10_000, amountOffMinor: 3000 });
    const addons = await request(app)
      .post('/api/v1/offers')
      .set(merchant.auth)
      .send({ kind: 'threshold', name: 'Add-ons 40: save 5', basis: 'addons', minSpendMinor: 4000, amountOffMinor: 500 })
      .expect(201);
    expect((await request(app).get(`/api/v1/offers/${addons.body.id}`).set(merchant.auth).expect(200)).body.threshold).toEqual({
      basis: 'addons',
      minSpendMinor: 4000,
      amountOffMinor: 500,
    });
  });

  test('when a threshold offer would save more than its threshold, names another basis or uses the old field, then it is refused beside the field', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const refused = async (body: Record<string, unknown>) =>
      (
        await request(app)
          .post('/api/v1/offers')
          .set(merchant.auth)
          .send({ kind: 'threshold', name: 'Offer', ...body })
          .expect(400)
      ).body.errors as Array<{ field: string; message: string }>;
    expect(await refused({ minSpendMinor: 1000, amountOffMinor: 1001 })).toEqual([
      { field: 'body.amountOffMinor', message: 'must not be more than minSpendMinor' },
    ]);
    expect((await refused({ basis: 'shipping', minSpendMinor: 1000, amountOffMinor: 100 }))[0]!.field).toBe('body.basis');
    expect((await refused({ minAddonSpendMinor: 1000, amountOffMinor: 100 })).map((e) => e.field)).toContain('body.minSpendMinor');
    expect(await OfferModel.countDocuments({ merchantId: merchant.id })).toBe(0);
  });

  test('when an offer was saved before thresholds had a basis, then it reads as counting add-ons only, as it always did', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const created = (
      await request(app)
        .post('/api/v1/offers')
        .set(merchant.auth)
        .send({ kind: 'threshold', name: 'Old', minSpendMinor: 4000, amountOffMinor: 500 })
        .expect(201)
    ).body;
    await OfferModel.collection.updateOne({ _id: created.id }, { $set: { threshold: { minAddonSpendMinor: 4000, amountOffMinor: 500 } } });
    expect((await request(app).get(`/api/v1/offers/${created.id}`).set(merchant.auth).expect(200)).body.threshold).toEqual({
      basis: 'addons',
      minSpendMinor: 4000,
      amountOffMinor: 500,
    });
  });
});
