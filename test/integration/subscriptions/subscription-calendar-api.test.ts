import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { buildAddonInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('subscription cadence, charge date and add-ons', () => {
  useTestDatabase();

  test('when the cadence changes before the next cut-off, then the calendar is re-anchored on the next box and Stripe keeps that date', async () => {
    const clock = new FakeClock('2026-01-31T15:00:00Z'); // 10:00 in New York
    const { app, stripeCalls } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    expect((subscription.nextCharge as { cycleKey: string }).cycleKey).toBe('2026-02-28'); // Jan 31 clamps to Feb 28

    stripeCalls.length = 0;
    const res = await request(app).post(`/api/v1/subscriptions/${subscription.id}/cadence`).set(merchant.auth).send({ cadence: 'week-2' }).expect(200);
    expect(res.body.box.cadence).toEqual({ key: 'week-2', interval: 'week', intervalCount: 2 });
    expect(res.body.nextCharge).toMatchObject({ cycleKey: '2026-02-28', total: { amountMinor: 2400 } });
    // The first box (charged at sign-up) leads the list through the first period.
    expect(res.body.upcomingCycles.slice(0, 4).map((c: { cycleKey: string }) => c.cycleKey)).toEqual(['2026-01-31', '2026-02-28', '2026-03-14', '2026-03-28']);
    expect(stripeCalls).toEqual([
      {
        method: 'POST',
        path: `/v1/subscriptions/${subscription.stripeSubscriptionId as string}`,
        idempotencyKey: `subscription:${subscription.id}:sync:r1:2026-02-28`,
      },
    ]);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/cadence`).set(merchant.auth).send({ cadence: 'week-2' }).expect(409);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/cadence`).set(merchant.auth).send({ cadence: 'week-3' }).expect(400);
  });

  test('when the next box is locked, then cadence and charge-date changes are refused with the cut-off named', async () => {
    const clock = new FakeClock('2026-01-31T15:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    clock.set('2026-02-26T12:00:00Z'); // after Feb 28's cut-off (Feb 25, 10:00)
    const cadence = await request(app).post(`/api/v1/subscriptions/${subscription.id}/cadence`).set(merchant.auth).send({ cadence: 'week-2' }).expect(409);
    expect(cadence.body.detail).toContain('locked');
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/charge-date`).set(merchant.auth).send({ date: '2026-03-03' }).expect(409);
  });

  test('when the charge date moves, then later charges and their skips follow it; too far or too soon is refused', async () => {
    const clock = new FakeClock('2026-05-05T14:00:00Z'); // 10:00 in New York (EDT)
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    const tooFar = await request(app).post(`/api/v1/subscriptions/${subscription.id}/charge-date`).set(merchant.auth).send({ date: '2026-06-30' }).expect(400);
    expect(tooFar.body.errors[0].message).toContain('within 14 days');
    clock.set('2026-05-30T14:00:00Z'); // next charge Jun 5 (cut-off Jun 2) can still change
    const tooSoon = await request(app).post(`/api/v1/subscriptions/${subscription.id}/charge-date`).set(merchant.auth).send({ date: '2026-06-01' }).expect(400);
    expect(tooSoon.body.errors[0].message).toContain('too soon');
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/skip`).set(merchant.auth).send({ cycleKey: '2026-07-05' }).expect(200);
    const res = await request(app).post(`/api/v1/subscriptions/${subscription.id}/charge-date`).set(merchant.auth).send({ date: '2026-06-12' }).expect(200);
    expect(res.body.upcomingCycles.slice(1, 4).map((c: { cycleKey: string; chargeAt: string; state: string }) => [c.cycleKey, c.chargeAt, c.state])).toEqual([
      ['2026-06-12', '2026-06-12T14:00:00.000Z', 'scheduled'],
      ['2026-07-12', '2026-07-12T14:00:00.000Z', 'skipped'], // the skipped box moved with the others
      ['2026-08-12', '2026-08-12T14:00:00.000Z', 'scheduled'],
    ]);
    expect(res.body.history.at(-1)).toMatchObject({ type: 'subscription.charge_date_changed', data: { from: '2026-06-05', to: '2026-06-12' } });
  });

  test('when add-ons are added, then the next charge shows them; a one-time one goes into one box only', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { subscription } = await subscribeShopper(app, merchant);
    const mug = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Mug', kind: 'one_time', priceMinor: 1200, stock: 5 }))
        .expect(201)
    ).body;
    const filters = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Filters', kind: 'recurring', priceMinor: 300, stock: null }))
        .expect(201)
    ).body;

    await request(app).post(`/api/v1/subscriptions/${subscription.id}/addons`).set(merchant.auth).send({ addonId: mug.id, quantity: 6 }).expect(409);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/addons`).set(merchant.auth).send({ addonId: mug.id }).expect(200);
    const res = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/addons`)
      .set(merchant.auth)
      .send({ addonId: filters.id, quantity: 2 })
      .expect(200);
    expect(res.body.nextCharge.lines).toEqual([
      expect.objectContaining({ quantity: 1, amountMinor: 2600 }),
      { description: 'Mug', quantity: 1, amountMinor: 1200 },
      { description: 'Filters', quantity: 2, amountMinor: 300 },
    ]);
    expect(res.body.nextCharge.total.amountMinor).toBe(2600 + 1200 + 600);

    const mugLine = res.body.addons.find((a: { addonId: string }) => a.addonId === mug.id);
    const removed = await request(app).post(`/api/v1/subscriptions/${subscription.id}/addons/${mugLine.id}/remove`).set(merchant.auth).send({}).expect(200);
    expect(removed.body.nextCharge.total.amountMinor).toBe(2600 + 600);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/addons/${mugLine.id}/remove`).set(merchant.auth).send({}).expect(404);
  });
});

describe('calendar changes keep their promises', () => {
  useTestDatabase();

  test('when a Jan 31 box moves to every two months, then it stays on the 31st where the month has one, and no first-box discount reappears', async () => {
    const clock = new FakeClock('2026-01-31T15:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription, planId } = await subscribeShopper(app, merchant, {
      cadences: [
        { interval: 'month', intervalCount: 1, priceMinor: 2600 },
        { interval: 'month', intervalCount: 2, priceMinor: 5000 },
      ],
      firstBoxDiscount: { type: 'percent', percentOff: 50 },
    });
    expect(planId).toBeDefined();
    const res = await request(app).post(`/api/v1/subscriptions/${subscription.id}/cadence`).set(merchant.auth).send({ cadence: 'month-2' }).expect(200);
    expect(res.body.upcomingCycles.slice(1, 5).map((c: { cycleKey: string }) => c.cycleKey)).toEqual(['2026-02-28', '2026-04-30', '2026-06-30', '2026-08-31']);
    expect(res.body.nextCharge.lines).toHaveLength(1);
    expect(res.body.nextCharge.total.amountMinor).toBe(5000);
  });

  test('when a cancellation is scheduled, then the cadence and charge date cannot move; an add-on in another currency is refused', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const { subscription } = await subscribeShopper(app, merchant);
    const euro = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ currency: 'EUR' }))
        .expect(201)
    ).body;
    const refused = await request(app).post(`/api/v1/subscriptions/${subscription.id}/addons`).set(merchant.auth).send({ addonId: euro.id }).expect(400);
    expect(refused.body.errors[0].message).toBe('is priced in EUR; this subscription pays in USD');

    await request(app).post(`/api/v1/subscriptions/${subscription.id}/cancel`).set(merchant.auth).send({ mode: 'period_end', reason: 'moving' }).expect(200);
    const cadence = await request(app).post(`/api/v1/subscriptions/${subscription.id}/cadence`).set(merchant.auth).send({ cadence: 'week-2' }).expect(409);
    expect(cadence.body.detail).toContain('reactivate it');
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/charge-date`).set(merchant.auth).send({ date: '2026-04-05' }).expect(409);
  });
});
