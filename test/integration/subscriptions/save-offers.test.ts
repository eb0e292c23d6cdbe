import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

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
    const res = await request(app).post(`/api/v1/subscriptions/${subscription.id}/save-offers/accept`).set(merchant.auth).send({ type: 'discount' }).expect(200);
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
    const again = await request(app).post(`/api/v1/subscriptions/${subscription.id}/save-offers/accept`).set(merchant.auth).send({ type: 'discount' }).expect(409);
    expect(again.body.detail).toBe('The discount offer is not available for this subscription.');
  });

  test('when the pause offer is taken, then it pauses for at most the offered boxes; a scheduled cancellation has no offers', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { subscription } = await subscribeShopper(app, merchant);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/save-offers/accept`).set(merchant.auth).send({ type: 'pause', cycles: 3 }).expect(400);
    const paused = await request(app).post(`/api/v1/subscriptions/${subscription.id}/save-offers/accept`).set(merchant.auth).send({ type: 'pause', cycles: 1 }).expect(200);
    expect(paused.body.status).toBe('paused');

    const other = (await subscribeShopper(app, merchant)).subscription;
    await request(app).post(`/api/v1/subscriptions/${other.id}/cancel`).set(merchant.auth).send({ mode: 'period_end', reason: 'other' }).expect(200);
    expect((await request(app).get(`/api/v1/subscriptions/${other.id}/save-offers`).set(merchant.auth).expect(200)).body.data).toEqual([]);
  });
});
