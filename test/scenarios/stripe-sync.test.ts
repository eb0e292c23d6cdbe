import request from 'supertest';
import { SubscriptionModel } from '../../src/subscriptions/subscription.model';
import { syncDueSubscriptions } from '../../src/subscriptions/subscription.service';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway, type StripeGateway } from '../../src/stripe/stripe-gateway';
import { recordingGateway } from '../helpers/recording-gateway';
import { createMerchant } from '../factories/merchant.factory';
import { subscribeShopper } from '../factories/subscription.factory';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

describe('scenario: Stripe follows our record over time', () => {
  useTestDatabase();

  test('when a later box is skipped, then Stripe is told after the box before it is charged, not before', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { gateway, updates } = recordingGateway(createStripeGateway(testStripe()));
    const { app } = buildTestApp({ clock, stripeGateway: gateway });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    const deps = { clock, stripe: gateway, logger: silentLogger };

    await request(app).post(`/api/v1/subscriptions/${subscription.id}/skip`).set(merchant.auth).send({ cycleKey: '2026-05-02' }).expect(200);
    expect(updates.at(-1)).toEqual({ input: expect.objectContaining({ pauseCollection: null }), key: `subscription:${subscription.id}:sync:r1:2026-04-02` });

    // Nothing is due before April's charge (plus the margin); after it, May's skip is pushed.
    clock.set('2026-04-02T15:00:00Z');
    expect(await syncDueSubscriptions(deps)).toBe(0);
    clock.set('2026-04-02T17:31:00Z');
    expect(await syncDueSubscriptions(deps)).toBe(1);
    expect(updates.at(-1)).toEqual({
      input: expect.objectContaining({ pauseCollection: { resumesAt: new Date('2026-05-30T14:30:00Z') } }),
      key: `subscription:${subscription.id}:sync:r1:2026-05-02`,
    });
    // Running again at once does nothing; after May's charge, collection is on again for June.
    expect(await syncDueSubscriptions(deps)).toBe(0);
    clock.set('2026-05-02T18:00:00Z');
    await syncDueSubscriptions(deps);
    expect(updates.at(-1)).toEqual({ input: expect.objectContaining({ pauseCollection: null }), key: `subscription:${subscription.id}:sync:r1:2026-06-02` });
  });

  test('when Stripe fails during a cancellation, then the shopper is answered and the job cancels in Stripe exactly once', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const working = recordingGateway(createStripeGateway(testStripe()));
    const failing: StripeGateway = { ...working.gateway, cancelSubscription: () => Promise.reject(new Error('Stripe timed out')) };
    const { app } = buildTestApp({ clock, stripeGateway: failing });
    const merchant = await createMerchant({}, clock);
    const { subscription } = await subscribeShopper(app, merchant);

    const res = await request(app)
      .post(`/api/v1/subscriptions/${subscription.id}/cancel`)
      .set(merchant.auth)
      .send({ mode: 'now', reason: 'other' })
      .expect(200);
    expect(res.body.status).toBe('cancelled');
    expect((await SubscriptionModel.findById(subscription.id).lean())?.stripe.lastSyncError).toBe('Stripe timed out');

    const deps = { clock, stripe: working.gateway, logger: silentLogger };
    expect(await syncDueSubscriptions(deps)).toBe(0); // retried a minute later, not at once
    clock.advance(60_000);
    expect(await syncDueSubscriptions(deps)).toBe(1);
    expect(working.cancels).toEqual([`subscription:${subscription.id}:cancel`]);
    clock.advance(60_000);
    expect(await syncDueSubscriptions(deps)).toBe(0);
    expect(working.cancels).toHaveLength(1);
  });

  test('when a pause reaches its last box, then the job resumes the subscription by itself, once', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { gateway } = recordingGateway(createStripeGateway(testStripe()));
    const { app } = buildTestApp({ clock, stripeGateway: gateway });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/pause`).set(merchant.auth).send({ cycles: 1 }).expect(200);
    const deps = { clock, stripe: gateway, logger: silentLogger };

    clock.set('2026-04-02T18:00:00Z'); // April's box (the paused one) is past: May's is next
    await syncDueSubscriptions(deps);
    await syncDueSubscriptions(deps);
    const res = await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200);
    expect(res.body).toMatchObject({ status: 'active', pause: null, nextCharge: { cycleKey: '2026-05-02' } });
    expect(res.body.history.filter((e: { type: string }) => e.type === 'subscription.resumed')).toEqual([
      expect.objectContaining({ data: { automatic: true, resumeOn: '2026-05-02' } }),
    ]);
  });

  test('when a swap waits for a later box, then the job makes it the box when that cycle comes, once', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { gateway } = recordingGateway(createStripeGateway(testStripe()));
    const { app } = buildTestApp({ clock, stripeGateway: gateway });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { subscription, variantIds } = await subscribeShopper(app, merchant);
    clock.set('2026-03-31T12:00:00Z'); // April's box is locked
    const swapped = (await request(app).post(`/api/v1/subscriptions/${subscription.id}/swap`).set(merchant.auth).send({ variantId: variantIds[1] }).expect(200))
      .body;
    expect(swapped.pendingChange).toMatchObject({ effectiveCycleKey: '2026-05-02', variantId: variantIds[1] });

    const deps = { clock, stripe: gateway, logger: silentLogger };
    clock.set('2026-04-02T18:00:00Z');
    await syncDueSubscriptions(deps);
    await syncDueSubscriptions(deps);
    const res = await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200);
    expect(res.body).toMatchObject({ box: { variantId: variantIds[1] }, pendingChange: null });
    expect(res.body.history.filter((e: { type: string }) => e.type === 'subscription.swap_applied')).toHaveLength(1);
  });
});
