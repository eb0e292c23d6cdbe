import request from 'supertest';
import type { Express } from 'express';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildAddonInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { recordingGateway } from '../../helpers/recording-gateway';
import { renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp } from '../../helpers/test-app';
import { testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * A weekly plan whose boxes lock 14 days before their charge: on Dec 5 the boxes of Dec 11 and Dec 18 are
 * both locked (their cut-offs, Nov 27 and Dec 4, have passed) and Dec 25 is the first box still open.
 */
const WEEKLY = {
  cadences: [
    { interval: 'week' as const, intervalCount: 1, priceMinor: 1500 },
    { interval: 'week' as const, intervalCount: 2, priceMinor: 2800 },
  ],
};

async function setUp() {
  const clock = new FakeClock('2026-11-13T15:00:00Z'); // a Friday, 10:00 in New York
  const recording = recordingGateway(createStripeGateway(testStripe()));
  const testApp = buildTestApp({ clock, stripeGateway: recording.gateway });
  const { app } = testApp;
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  await request(app)
    .patch('/api/v1/merchants/me')
    .set(merchant.auth)
    .send({ subscriptionSettings: { cutoffDays: 14 } })
    .expect(200);
  return { clock, app, merchant, driver: renewalDriver(testApp, recording.gateway) };
}

async function subscribeWeekly(app: Express, merchant: TestMerchant) {
  const shopper = await subscribeShopper(app, merchant, WEEKLY, 'week-1');
  const id = shopper.subscription.id;
  const act = (action: string, body: object) => request(app).post(`/api/v1/subscriptions/${id}/${action}`).set(merchant.auth).send(body);
  const view = async () => (await request(app).get(`/api/v1/subscriptions/${id}`).set(merchant.auth).expect(200)).body;
  return { ...shopper, id, act, view };
}

describe('the first box still open is the same for every action', () => {
  useTestDatabase();

  test('when two boxes are locked, then swap, pause and a price migration start with the first open box, and cadence and charge date are refused', async () => {
    const { clock, app, merchant } = await setUp();
    const shopper = await subscribeWeekly(app, merchant);
    clock.set('2026-12-05T15:00:00Z');
    expect((await shopper.view()).upcomingCycles.slice(0, 3).map((c: { cycleKey: string }) => c.cycleKey)).toEqual(['2026-12-11', '2026-12-18', '2026-12-25']);

    const swapped = await shopper.act('swap', { variantId: shopper.variantIds[1] }).expect(200);
    expect(swapped.body.pendingChange).toMatchObject({ variantId: shopper.variantIds[1], effectiveCycleKey: '2026-12-25' });
    const paused = await shopper.act('pause', { cycles: 1 }).expect(200);
    expect(paused.body.pause).toMatchObject({ startsOn: '2026-12-25', resumeOn: '2027-01-01' });
    expect(paused.body.nextCharge.cycleKey).toBe('2026-12-11'); // the locked boxes still come

    const price = await request(app)
      .patch(`/api/v1/plans/${shopper.planId}`)
      .set(merchant.auth)
      .send({ cadences: [{ interval: 'week', intervalCount: 1, priceMinor: 1600 }] });
    expect(price.status).toBe(200);
    await request(app).post(`/api/v1/plans/${shopper.planId}/price-migrations`).set(merchant.auth).send({ cadence: 'week-1' }).expect(200);
    expect((await shopper.view()).history.at(-1)).toMatchObject({ type: 'subscription.price_migrated', data: { effectiveCycleKey: '2026-12-25' } });

    const unpaused = await subscribeWeekly(app, merchant); // subscribed Dec 5: its boxes of Dec 12 and 19 are locked
    const cadence = await unpaused.act('cadence', { cadence: 'week-2' }).expect(409);
    expect(cadence.body.detail).toContain('locked');
    await unpaused.act('charge-date', { date: '2026-12-27' }).expect(409);
  });

  test('when two boxes are locked, then a skip without a date, add-ons and save offers take the first open box, and the locked ones cannot be skipped', async () => {
    const { clock, app, merchant } = await setUp();
    const shopper = await subscribeWeekly(app, merchant);
    clock.set('2026-12-05T15:00:00Z');

    await shopper.act('skip', { cycleKey: '2026-12-18' }).expect(409);
    await shopper.act('skip', { cycleKey: '2026-12-11' }).expect(409);
    const offers = (await request(app).get(`/api/v1/subscriptions/${shopper.id}/save-offers`).set(merchant.auth).expect(200)).body.data;
    expect(offers.filter((o: { cycleKey?: string }) => o.cycleKey).map((o: { type: string; cycleKey: string }) => [o.type, o.cycleKey])).toEqual([
      ['skip_next', '2026-12-25'],
      ['discount', '2026-12-25'],
    ]);
    const mug = (await request(app).post('/api/v1/addons').set(merchant.auth).send(buildAddonInput()).expect(201)).body;
    expect((await shopper.act('addons', { addonId: mug.id }).expect(200)).body.addons).toEqual([expect.objectContaining({ fromCycleKey: '2026-12-25' })]);

    const skipped = await shopper.act('skip', {}).expect(200);
    expect(skipped.body.upcomingCycles.slice(0, 4).map((c: { cycleKey: string; state: string }) => [c.cycleKey, c.state])).toEqual([
      ['2026-12-11', 'scheduled'],
      ['2026-12-18', 'scheduled'],
      ['2026-12-25', 'skipped'],
      ['2027-01-01', 'scheduled'],
    ]);
    await shopper.act('unskip', { cycleKey: '2026-12-25' }).expect(200);
  });

  test('when two boxes are locked, then each is built at its own cut-off, and a dunning that ends in a pause starts it at the first open box', async () => {
    const { clock, app, merchant, driver } = await setUp();
    await request(app)
      .patch('/api/v1/merchants/me')
      .set(merchant.auth)
      .send({ subscriptionSettings: { dunningOutcome: 'pause' } })
      .expect(200);
    const shopper = await subscribeWeekly(app, merchant);
    clock.set('2026-12-05T15:00:00Z');
    await driver.runCutoffs();
    expect((await BoxOrderModel.find({ subscriptionId: shopper.id }).sort({ cycleKey: 1 }).lean()).map((o) => [o.cycleKey, o.status])).toEqual([
      ['2026-12-11', 'reserved'],
      ['2026-12-18', 'reserved'],
    ]);

    await driver.deliver('customer.subscription.updated', { id: shopper.subscription.stripeSubscriptionId, object: 'subscription', status: 'unpaid' });
    expect(await shopper.view()).toMatchObject({ status: 'paused', pause: { startsOn: '2026-12-25', resumeOn: null } });
  });
});
