import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildAddonInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { recordingGateway } from '../../helpers/recording-gateway';
import { buildTestApp } from '../../helpers/test-app';
import { testStripe, useTestDatabase } from '../../helpers/test-env';

describe('save offers before cancelling', () => {
  useTestDatabase();

  test('when a shopper about to cancel takes the discount, then the next box costs less, Stripe gets a once-coupon, and the offer is gone', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app, stripeCalls } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);

    const offers = (await request(app).get(`/api/v1/subscriptions/${subscription.id}/save-offers`).set(merchant.auth).expect(200)).body.data;
    expect(offers.map((o: { type: string }) => o.type)).toEqual(['skip_next', 'pause', 'discount']);
    expect(offers[2]).toMatchObject({ percentOff: 20, cycleKey: '2026-04-02' });

    stripeCalls.length = 0;
    const res = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/save-offers/accept`)
      .set(merchant.auth)
      .send({ type: 'discount' })
      .expect(200);
    expect(res.body.nextCharge.lines.at(-1)).toEqual({ description: '20% off this box', quantity: 1, amountMinor: -520 });
    expect(res.body.nextCharge.total.amountMinor).toBe(2080);
    expect(res.body.history.at(-1)).toMatchObject({ type: 'subscription.save_offer_accepted', data: { type: 'discount', percentOff: 20 } });
    expect(stripeCalls.map((c) => [c.method, c.path.replace(/sub_\w+/, 'sub_x')])).toEqual([
      ['POST', '/v1/coupons'],
      ['POST', '/v1/subscriptions/sub_x'],
    ]);
    expect(stripeCalls[0]!.idempotencyKey).toMatch(/^subscription-discount:sdis_\w+:coupon$/);

    const after = (await request(app).get(`/api/v1/subscriptions/${subscription.id}/save-offers`).set(merchant.auth).expect(200)).body.data;
    expect(after.map((o: { type: string }) => o.type)).toEqual(['skip_next', 'pause']);
    const again = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/save-offers/accept`)
      .set(merchant.auth)
      .send({ type: 'discount' })
      .expect(409);
    expect(again.body.detail).toBe('The discount offer is not available for this subscription.');
  });

  test('when the pause offer is taken, then it pauses for at most the offered boxes; a scheduled cancellation has no offers', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { subscription } = await subscribeShopper(app, merchant);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/save-offers/accept`).set(merchant.auth).send({ type: 'pause', cycles: 3 }).expect(400);
    const paused = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/save-offers/accept`)
      .set(merchant.auth)
      .send({ type: 'pause', cycles: 1 })
      .expect(200);
    expect(paused.body.status).toBe('paused');

    const other = (await subscribeShopper(app, merchant)).subscription;
    await request(app).post(`/api/v1/subscriptions/${other.id}/cancel`).set(merchant.auth).send({ mode: 'period_end', reason: 'other' }).expect(200);
    expect((await request(app).get(`/api/v1/subscriptions/${other.id}/save-offers`).set(merchant.auth).expect(200)).body.data).toEqual([]);
  });

  test('when the charge date of the discounted box moves, then the discount and the extras follow that box, there and back, and the box after has none', async () => {
    const clock = new FakeClock('2026-12-04T15:00:00Z'); // 10:00 in New York
    const { gateway, updates } = recordingGateway(createStripeGateway(testStripe()));
    const { app } = buildTestApp({ clock, stripeGateway: gateway });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant, { cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 1500 }] });
    const act = (action: string, body: object) => request(app).post(`/api/v1/subscriptions/${subscription.id}/${action}`).set(merchant.auth).send(body);
    const filters = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Filters', kind: 'recurring', priceMinor: 200, stock: null }))
        .expect(201)
    ).body;
    await act('addons', { addonId: filters.id }).expect(200);
    const accepted = await act('save-offers/accept', { type: 'discount' }).expect(200);
    expect(accepted.body.nextCharge).toMatchObject({ cycleKey: '2027-01-04', total: { amountMinor: 1360 } });
    const discountLine = { description: '20% off this box', quantity: 1, amountMinor: -340 };

    for (const date of ['2027-01-05', '2026-12-29', '2027-01-04']) {
      const moved = await act('charge-date', { date }).expect(200);
      expect(moved.body.nextCharge).toMatchObject({ cycleKey: date, total: { amountMinor: 1360 } });
      expect(moved.body.nextCharge.lines).toEqual([
        expect.objectContaining({ amountMinor: 1500 }),
        { description: 'Filters', quantity: 1, amountMinor: 200 },
        discountLine,
      ]);
      // Stripe keeps the once-coupon for the moved box's invoice.
      expect(updates.at(-1)!.input).toMatchObject({ couponId: expect.any(String), trialEnd: new Date(moved.body.nextCharge.chargeAt) });
    }
    const offers = (await request(app).get(`/api/v1/subscriptions/${subscription.id}/save-offers`).set(merchant.auth).expect(200)).body.data;
    expect(offers.map((o: { type: string }) => o.type)).toEqual(['skip_next', 'pause']); // once per subscription

    clock.set('2027-01-04T16:00:00Z'); // the discounted box is charged: the next one is at full price
    const after = (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
    expect(after.nextCharge).toMatchObject({ cycleKey: '2027-02-04', total: { amountMinor: 1700 } });
  });
});
