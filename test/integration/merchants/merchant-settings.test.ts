import request from 'supertest';
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
    expect(before.subscriptionSettings).toMatchObject({ cutoffDays: 3, maxChargeDateShiftDays: 14, saveOffers: { skipNext: true, pauseCycles: 2, discountPercentOff: 20 } });

    await request(app).patch('/api/v1/merchants/me').set(merchant.auth).send({ subscriptionSettings: { cancellationReasons: ['price', 'taste'], saveOffers: { discountPercentOff: 10 } } }).expect(200);
    const after = (await request(app).patch('/api/v1/merchants/me').set(merchant.auth).send({ name: 'Renamed', subscriptionSettings: { cutoffDays: 5 } }).expect(200)).body;
    expect(after).toMatchObject({
      name: 'Renamed',
      subscriptionSettings: { cutoffDays: 5, maxChargeDateShiftDays: 14, cancellationReasons: ['price', 'taste'], saveOffers: { skipNext: true, pauseCycles: 2, discountPercentOff: 10 } },
    });
    const bad = await request(app).patch('/api/v1/merchants/me').set(merchant.auth).send({ subscriptionSettings: { cancellationReasons: ['Too Expensive'] } }).expect(400);
    expect(bad.body.errors[0].field).toBe('body.subscriptionSettings.cancellationReasons.0');
  });

  test('when the merchant has its own reasons and cut-off, then cancellations and new subscriptions follow them', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    await request(app).patch('/api/v1/merchants/me').set(merchant.auth).send({ subscriptionSettings: { cancellationReasons: ['taste'], cutoffDays: 7 } }).expect(200);
    const { subscription } = await subscribeShopper(app, merchant);
    expect((subscription.nextCharge as { cutoffAt: string }).cutoffAt).toBe('2026-03-26T14:30:00.000Z');
    const refused = await request(app).post(`/api/v1/subscriptions/${subscription.id}/cancel`).set(merchant.auth).send({ mode: 'now', reason: 'too_expensive' }).expect(400);
    expect(refused.body.errors[0].message).toBe('must be one of: taste');
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/cancel`).set(merchant.auth).send({ mode: 'now', reason: 'taste' }).expect(200);
  });
});
