import request from 'supertest';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import { FakeClock } from '../../src/shared/time';
import { createMerchant } from '../factories/merchant.factory';
import { subscribeShopper } from '../factories/subscription.factory';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

/**
 * One shopper walks through subscribe → skip → unskip → swap → pause → resume → cancel at period end →
 * reactivate, on a fake clock in the merchant's zone. Checked at each step: our record, the history, and
 * the Stripe calls made (with their idempotency keys).
 */
describe('scenario: a shopper manages their box', () => {
  useTestDatabase();

  test('when a shopper uses every self-service action in turn, then our record and Stripe follow each step', async () => {
    // 2026-03-02 15:30 UTC = 10:30 in New York (EST).
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app, stripeCalls } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription: created, variantIds } = await subscribeShopper(app, merchant, { firstBoxDiscount: { type: 'percent', percentOff: 50 } });
    const id = created.id;
    const calls = () => stripeCalls.filter((c) => c.path.startsWith('/v1/subscriptions') || c.path.startsWith('/v1/coupons'));

    // Subscribed: first box charged now; the next is a month later at the same local time; cut-off 3 days before.
    expect(created).toMatchObject({
      status: 'active',
      stripeSubscriptionId: expect.stringMatching(/^sub_/),
      nextCharge: {
        cycleKey: '2026-04-02',
        chargeAt: '2026-04-02T14:30:00.000Z',
        cutoffAt: '2026-03-30T14:30:00.000Z',
        total: { amountMinor: 2600, currency: 'USD' },
      },
    });
    // The first box, charged now, leads the calendar through the first month.
    expect((created.upcomingCycles as unknown[])[0]).toEqual({
      cycleKey: '2026-03-02',
      chargeAt: '2026-03-02T15:30:00.000Z',
      cutoffAt: '2026-02-27T15:30:00.000Z',
      state: 'charged',
    });
    expect(calls()).toEqual([
      { method: 'POST', path: '/v1/coupons', idempotencyKey: `subscription:${id}:first-box-coupon:plan` },
      { method: 'POST', path: '/v1/subscriptions', idempotencyKey: `subscription:${id}:create` },
    ]);
    stripeCalls.length = 0;

    // Skip the next box: April's is skipped, May's is the next charge; Stripe voids April's invoice.
    const skipped = (await request(app).post(`/api/v1/subscriptions/${id}/skip`).set(merchant.auth).send({}).expect(200)).body;
    expect(skipped.upcomingCycles.slice(1, 3)).toEqual([
      expect.objectContaining({ cycleKey: '2026-04-02', state: 'skipped' }),
      expect.objectContaining({ cycleKey: '2026-05-02', state: 'scheduled' }),
    ]);
    expect(skipped.nextCharge.cycleKey).toBe('2026-05-02');
    expect(calls()).toEqual([
      { method: 'POST', path: `/v1/subscriptions/${created.stripeSubscriptionId as string}`, idempotencyKey: `subscription:${id}:sync:r1:2026-04-02` },
    ]);

    // Skipping it again is refused; un-skipping brings April back.
    const again = await request(app).post(`/api/v1/subscriptions/${id}/skip`).set(merchant.auth).send({ cycleKey: '2026-04-02' }).expect(409);
    expect(again.body.type).toBe('/problems/invalid_state');
    const unskipped = (await request(app).post(`/api/v1/subscriptions/${id}/unskip`).set(merchant.auth).send({ cycleKey: '2026-04-02' }).expect(200)).body;
    expect(unskipped.nextCharge.cycleKey).toBe('2026-04-02');

    // Swap the variant before the cut-off: April's box already has it; the price stays.
    const swapped = (await request(app).post(`/api/v1/subscriptions/${id}/swap`).set(merchant.auth).send({ variantId: variantIds[1] }).expect(200)).body;
    expect(swapped.box.variantId).toBe(variantIds[1]);
    expect(swapped.pendingChange).toBeNull();
    expect(swapped.nextCharge).toMatchObject({ cycleKey: '2026-04-02', box: { variantId: variantIds[1] }, total: { amountMinor: 2600 } });

    // After April's cut-off a swap waits for May, and a skip of April is refused with the cut-off named.
    clock.set('2026-03-31T12:00:00Z');
    const late = (await request(app).post(`/api/v1/subscriptions/${id}/swap`).set(merchant.auth).send({ variantId: variantIds[0] }).expect(200)).body;
    expect(late.box.variantId).toBe(variantIds[1]);
    expect(late.pendingChange).toMatchObject({ variantId: variantIds[0], effectiveCycleKey: '2026-05-02' });
    expect(late.nextCharge.box.variantId).toBe(variantIds[1]);
    const lateSkip = await request(app).post(`/api/v1/subscriptions/${id}/skip`).set(merchant.auth).send({ cycleKey: '2026-04-02' }).expect(409);
    expect(lateSkip.body.detail).toContain('cut-off');

    // Pause for two boxes: April's is locked and still goes out; May and June are paused; July resumes.
    // Stripe is not paused yet: April's invoice must still be collected.
    stripeCalls.length = 0;
    const paused = (await request(app).post(`/api/v1/subscriptions/${id}/pause`).set(merchant.auth).send({ cycles: 2 }).expect(200)).body;
    expect(paused).toMatchObject({ status: 'paused', pause: { startsOn: '2026-05-02', resumeOn: '2026-07-02' }, nextCharge: { cycleKey: '2026-04-02' } });
    expect(paused.upcomingCycles.map((c: { state: string }) => c.state).slice(0, 5)).toEqual(['charged', 'scheduled', 'paused', 'paused', 'scheduled']);
    await request(app).post(`/api/v1/subscriptions/${id}/skip`).set(merchant.auth).send({}).expect(409);

    const resumed = (await request(app).post(`/api/v1/subscriptions/${id}/resume`).set(merchant.auth).send({}).expect(200)).body;
    expect(resumed).toMatchObject({ status: 'active', pause: null, nextCharge: { cycleKey: '2026-04-02' } });

    // Cancel at period end: active until the next charge, which will not happen.
    const cancelled = (
      await request(app).post(`/api/v1/subscriptions/${id}/cancel`).set(merchant.auth).send({ mode: 'period_end', reason: 'too_much_product' }).expect(200)
    ).body;
    expect(cancelled).toMatchObject({
      status: 'active',
      cancellation: { mode: 'period_end', reason: 'too_much_product', effectiveAt: '2026-04-02T14:30:00.000Z' },
      nextCharge: null,
    });
    const reactivated = (await request(app).post(`/api/v1/subscriptions/${id}/reactivate`).set(merchant.auth).send({}).expect(200)).body;
    expect(reactivated).toMatchObject({ status: 'active', cancellation: null, nextCharge: { cycleKey: '2026-04-02' } });

    // The history tells the story; every Stripe write was keyed by the record's revision and the cycle Stripe bills next.
    expect(reactivated.history.map((event: { type: string }) => event.type)).toEqual([
      'subscription.created',
      'subscription.skipped',
      'subscription.unskipped',
      'subscription.swapped',
      'subscription.swapped',
      'subscription.paused',
      'subscription.resumed',
      'subscription.cancellation_scheduled',
      'subscription.reactivated',
    ]);
    const stored = await SubscriptionModel.findById(id).lean();
    expect(stored?.revision).toBe(8);
    expect(calls().map((c) => c.idempotencyKey)).toEqual([5, 6, 7, 8].map((revision) => `subscription:${id}:sync:r${revision}:2026-04-02`));
  });
});
