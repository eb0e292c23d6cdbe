import request from 'supertest';
import { MerchantModel } from '../../../src/merchants/merchant.model';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('merchant subscription settings', () => {
  useTestDatabase();

  test('when a merchant sets its own rules, then they show on the merchant and each change leaves the others alone', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const before = (await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200)).body;
    expect(before.subscriptionSettings).toMatchObject({
      cutoffDays: 3,
      maxChargeDateShiftDays: 14,
      saveOffers: { skipNext: true, pauseCycles: 2, discountPercentOff: 20 },
    });

    await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { cancellationReasons: ['price', 'taste'], saveOffers: { discountPercentOff: 10 } } })
      .expect(200);
    const after = (
      await request(app)
        .patch('/api/v1/merchants/me')
        .set(merchant.auth)
        .send({ name: 'Renamed', subscriptionSettings: { cutoffDays: 5 } })
        .expect(200)
    ).body;
    expect(after).toMatchObject({
      name: 'Renamed',
      subscriptionSettings: {
        cutoffDays: 5,
        maxChargeDateShiftDays: 14,
        cancellationReasons: ['price', 'taste'],
        saveOffers: { skipNext: true, pauseCycles: 2, discountPercentOff: 10 },
      },
    });
    const bad = await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { cancellationReasons: ['Too Expensive'] } })
      .expect(400);
    expect(bad.body.errors[0].field).toBe('body.subscriptionSettings.cancellationReasons.0');
  });

  test('when the merchant has its own reasons and cut-off, then cancellations and new subscriptions follow them', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { cancellationReasons: ['taste'], cutoffDays: 7 } })
      .expect(200);
    const { subscription } = await subscribeShopper(app, merchant);
    expect((subscription.nextCharge as { cutoffAt: string }).cutoffAt).toBe('2026-03-26T14:30:00.000Z');
    const refused = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/cancel`)
      .set(merchant.auth)
      .send({ mode: 'now', reason: 'too_expensive' })
      .expect(400);
    expect(refused.body.errors[0].message).toBe('must be one of: taste');
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/cancel`).set(merchant.auth).send({ mode: 'now', reason: 'taste' }).expect(200);
  });
});

describe('merchant shipping fees, per currency', () => {
  useTestDatabase();

  test('when a merchant sets a shipping fee per currency, then each shows in its own minor units and the list replaces the one before', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    expect((await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200)).body.subscriptionSettings.shippingFees).toEqual([]);
    const fees = [
      { currency: 'USD', amountMinor: 500 },
      { currency: 'JPY', amountMinor: 800 },
      { currency: 'KWD', amountMinor: 1500 },
    ];
    const set = (
      await request(app)
        .patch('/api/v1/merchants/me')
        .set(merchant.auth)
        .send({ subscriptionSettings: { shippingFees: fees } })
        .expect(200)
    ).body;
    expect(set.subscriptionSettings.shippingFees).toEqual(fees);
    // Another setting leaves the fees alone; a new list replaces the old one whole; [] charges none.
    const other = (
      await request(app)
        .patch('/api/v1/merchants/me')
        .set(merchant.auth)
        .send({ subscriptionSettings: { cutoffDays: 4 } })
        .expect(200)
    ).body;
    expect(other.subscriptionSettings.shippingFees).toEqual(fees);
    const replaced = (
      await request(app)
        .patch('/api/v1/merchants/me')
        .set(merchant.auth)
        .send({ subscriptionSettings: { shippingFees: [{ currency: 'EUR', amountMinor: 0 }] } })
        .expect(200)
    ).body;
    expect(replaced.subscriptionSettings.shippingFees).toEqual([{ currency: 'EUR', amountMinor: 0 }]);
    const none = (
      await request(app)
        .patch('/api/v1/merchants/me')
        .set(merchant.auth)
        .send({ subscriptionSettings: { shippingFees: [] } })
        .expect(200)
    ).body;
    expect(none.subscriptionSettings.shippingFees).toEqual([]);
  });

  test('when a shipping fee list is not valid, then it is refused beside the field and nothing changes', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { shippingFees: [{ currency: 'USD', amountMinor: 500 }] } })
      .expect(200);
    const refused = async (shippingFees: unknown) =>
      (await request(app).patch('/api/v1/merchants/me').set(merchant.auth).send({ subscriptionSettings: { shippingFees } }).expect(400)).body.errors as Array<{
        field: string;
        message: string;
      }>;
    expect(
      await refused([
        { currency: 'USD', amountMinor: 500 },
        { currency: 'EUR', amountMinor: 400 },
        { currency: 'USD', amountMinor: 700 },
      ]),
    ).toEqual([{ field: 'body.subscriptionSettings.shippingFees.2.currency', message: 'USD has a fee already: each currency once' }]);
    expect((await refused([{ currency: 'usd', amountMinor: 500 }]))[0]!.field).toBe('body.subscriptionSettings.shippingFees.0.currency');
    expect((await refused([{ currency: 'ZZZ', amountMinor: 500 }]))[0]!.field).toBe('body.subscriptionSettings.shippingFees.0.currency');
    expect((await refused([{ currency: 'USD', amountMinor: -1 }]))[0]!.field).toBe('body.subscriptionSettings.shippingFees.0.amountMinor');
    expect((await refused([{ currency: 'USD', amountMinor: 4.5 }]))[0]!.field).toBe('body.subscriptionSettings.shippingFees.0.amountMinor');
    // Bounded in the currency's own units: at most 1,000,000 of it (¥1,000,000 is 1000000 minor units, $1,000,000 is 100000000).
    expect(await refused([{ currency: 'JPY', amountMinor: 1_000_001 }])).toEqual([
      { field: 'body.subscriptionSettings.shippingFees.0.amountMinor', message: 'must be at most 1000000 (1,000,000 JPY)' },
    ]);
    await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { shippingFees: [{ currency: 'JPY', amountMinor: 1_000_000 }] } })
      .expect(200);
    await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { shippingFees: [{ currency: 'USD', amountMinor: 100_000_000 }] } })
      .expect(200);
    expect((await refused([{ currency: 'USD', amountMinor: 100_000_001 }]))[0]!.message).toBe('must be at most 100000000 (1,000,000 USD)');
    expect((await refused([{ currency: 'USD', amountMinor: 500, note: 'x' }]))[0]!.field).toBe('body.subscriptionSettings.shippingFees.0.note');
    // The single fee for every currency is gone from the API: it would charge $5.00 and ¥500 alike.
    const legacy = await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { shippingFeeMinor: 500 } })
      .expect(400);
    expect(legacy.body.errors[0].field).toBe('body.subscriptionSettings.shippingFeeMinor');
    expect((await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200)).body.subscriptionSettings.shippingFees).toEqual([
      { currency: 'USD', amountMinor: 100_000_000 },
    ]);
  });

  test('when a merchant saved before fees were per currency has the one fee, then it is the fee of its default currency until it sets a list', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant({ defaultCurrency: 'EUR' });
    await MerchantModel.updateOne({ _id: merchant.id }, { $set: { 'subscriptionSettings.shippingFeeMinor': 450 } });
    expect((await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200)).body.subscriptionSettings.shippingFees).toEqual([
      { currency: 'EUR', amountMinor: 450 },
    ]);
    await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { cutoffDays: 5 } })
      .expect(200);
    expect((await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200)).body.subscriptionSettings.shippingFees).toEqual([
      { currency: 'EUR', amountMinor: 450 },
    ]);
    const set = (
      await request(app)
        .patch('/api/v1/merchants/me')
        .set(merchant.auth)
        .send({ subscriptionSettings: { shippingFees: [{ currency: 'GBP', amountMinor: 300 }] } })
        .expect(200)
    ).body;
    expect(set.subscriptionSettings.shippingFees).toEqual([{ currency: 'GBP', amountMinor: 300 }]);
    // The old field is gone from the document: the list is the one truth.
    expect((await MerchantModel.findById(merchant.id).lean())!.subscriptionSettings).not.toHaveProperty('shippingFeeMinor');

    const zero = await createMerchant({ defaultCurrency: 'USD' });
    await MerchantModel.updateOne({ _id: zero.id }, { $set: { 'subscriptionSettings.shippingFeeMinor': 0 } });
    expect((await request(app).get('/api/v1/merchants/me').set(zero.auth).expect(200)).body.subscriptionSettings.shippingFees).toEqual([]);
  });
});
