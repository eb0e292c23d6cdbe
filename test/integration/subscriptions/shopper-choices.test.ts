import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { chargeDateWindow, type SubscriptionDeps } from '../../../src/subscriptions/subscription.service';
import { buildAddonInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/** What a shopper chooses that the portal needs told in advance: an extra for one box or every box, and the dates a charge can move to. */
describe('an extra for one box or every box', () => {
  useTestDatabase();

  test('when a recurring extra is taken for the next box only, then its line is one-time and the fact says so; a one-time extra cannot recur', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { subscription } = await subscribeShopper(app, merchant);
    const filters = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Filters', kind: 'recurring', priceMinor: 300, stock: null }))
        .expect(201)
    ).body;
    const mug = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Mug', kind: 'one_time', priceMinor: 1200, stock: 5 }))
        .expect(201)
    ).body;

    const once = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/addons`)
      .set(merchant.auth)
      .send({ addonId: filters.id, kind: 'one_time' })
      .expect(200);
    expect(once.body.addons).toEqual([expect.objectContaining({ addonId: filters.id, kind: 'one_time', fromCycleKey: once.body.nextCharge.cycleKey })]);
    expect(once.body.history.at(-1)).toMatchObject({ type: 'subscription.addon_added', data: { addonId: filters.id, kind: 'one_time' } });

    const every = await request(app).post(`/api/v1/subscriptions/${subscription.id}/addons`).set(merchant.auth).send({ addonId: filters.id }).expect(200);
    expect(every.body.addons.map((a: { kind: string }) => a.kind)).toEqual(['one_time', 'recurring']);

    const refused = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/addons`)
      .set(merchant.auth)
      .send({ addonId: mug.id, kind: 'recurring' })
      .expect(400);
    expect(refused.body.errors).toEqual([{ field: 'body.kind', message: 'must be one_time: this add-on comes in one box only' }]);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/addons`).set(merchant.auth).send({ addonId: mug.id, kind: 'weekly' }).expect(400);
  });
});

describe('the dates the next charge can move to', () => {
  useTestDatabase();

  test('when the window is asked, then its first and last dates are accepted and the days just outside are refused', async () => {
    const clock = new FakeClock('2026-05-05T14:00:00Z'); // 10:00 in New York (EDT)
    const { app } = buildTestApp({ clock });
    const deps: SubscriptionDeps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger, publicUrl: 'http://localhost' };
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);

    // Next charge Jun 5: 14 days either way.
    expect(await chargeDateWindow(deps, merchant.id, subscription.id)).toEqual({
      nextChargeOn: '2026-06-05',
      earliest: '2026-05-22',
      latest: '2026-06-19',
      maxShiftDays: 14,
      cutoffDays: 3,
    });

    // Five days before the charge, a box on May 22 would be long locked: the window starts at the first date whose cut-off is ahead.
    clock.set('2026-05-30T14:00:00Z');
    const window = (await chargeDateWindow(deps, merchant.id, subscription.id))!;
    expect(window).toMatchObject({ earliest: '2026-06-03', latest: '2026-06-19' });
    const charge = (date: string) => request(app).post(`/api/v1/subscriptions/${subscription.id}/charge-date`).set(merchant.auth).send({ date });
    expect((await charge('2026-06-02').expect(400)).body.errors[0].message).toContain('too soon');
    expect((await charge('2026-06-20').expect(400)).body.errors[0].message).toContain('within 14 days');
    await charge('2026-06-03').expect(200);
    // Moved, the window is around the new date.
    expect(await chargeDateWindow(deps, merchant.id, subscription.id)).toMatchObject({
      nextChargeOn: '2026-06-03',
      earliest: '2026-06-03',
      latest: '2026-06-17',
    });
    expect((await charge('2026-06-18').expect(400)).body.errors[0].message).toContain('within 14 days');
    await charge('2026-06-17').expect(200);
  });

  test('when the next box is locked, or the subscription is set to end, then the charge cannot move and there is no window', async () => {
    const clock = new FakeClock('2026-05-05T14:00:00Z');
    const { app } = buildTestApp({ clock });
    const deps: SubscriptionDeps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger, publicUrl: 'http://localhost' };
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    clock.set('2026-06-03T14:00:00Z'); // after Jun 5's cut-off (Jun 2, 10:00)
    expect(await chargeDateWindow(deps, merchant.id, subscription.id)).toBeNull();
    clock.set('2026-06-06T14:00:00Z'); // Jul 5 is next, and open
    expect(await chargeDateWindow(deps, merchant.id, subscription.id)).toMatchObject({ nextChargeOn: '2026-07-05' });
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/cancel`).set(merchant.auth).send({ mode: 'period_end', reason: 'other' }).expect(200);
    expect(await chargeDateWindow(deps, merchant.id, subscription.id)).toBeNull();
  });
});
