import mongoose from 'mongoose';
import request from 'supertest';
import { FactModel } from '../../../src/events/fact.model';
import { FakeClock } from '../../../src/shared/time';
import { migrateStoredSubscriptions } from '../../../src/subscriptions/subscription-migrations.service';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('stored subscriptions brought to today’s shape at start', () => {
  useTestDatabase();

  test('when a subscription was stored before facts (status canceled, its history in subscription_events), then its history becomes its first facts and the next change follows them', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const { subscription } = await subscribeShopper(app, merchant);
    const { subscription: ended } = await subscribeShopper(app, merchant);
    // As the previous version stored them: no fact counter, no facts, Stripe's spelling, a history collection.
    await SubscriptionModel.collection.updateMany({ _id: { $in: [subscription.id, ended.id] } as never }, { $unset: { factCount: 1, outbox: 1 } });
    await SubscriptionModel.collection.updateOne({ _id: ended.id as never }, { $set: { status: 'canceled' } });
    await FactModel.deleteMany({ subjectId: { $in: [subscription.id, ended.id] } });
    const legacy = mongoose.connection.db!.collection('subscription_events');
    await legacy.insertMany([
      {
        _id: 'sev_1',
        merchantId: merchant.id,
        subscriptionId: subscription.id,
        revision: 0,
        type: 'subscription.created',
        at: new Date('2026-01-01T00:00:00Z'),
        data: { via: 'payment_method' },
      },
      {
        _id: 'sev_2',
        merchantId: merchant.id,
        subscriptionId: subscription.id,
        revision: 1,
        type: 'subscription.box_paid',
        at: new Date('2026-01-01T00:01:00Z'),
        data: {},
      },
      {
        _id: 'sev_3',
        merchantId: merchant.id,
        subscriptionId: subscription.id,
        revision: 2,
        type: 'subscription.skipped',
        at: new Date('2026-01-20T00:00:00Z'),
        data: { cycleKey: '2026-02-01' },
      },
      {
        _id: 'sev_4',
        merchantId: merchant.id,
        subscriptionId: ended.id,
        revision: 0,
        type: 'subscription.created',
        at: new Date('2026-01-02T00:00:00Z'),
        data: {},
      },
      {
        _id: 'sev_5',
        merchantId: merchant.id,
        subscriptionId: ended.id,
        revision: 1,
        type: 'subscription.canceled',
        at: new Date('2026-01-03T00:00:00Z'),
        data: { mode: 'now' },
      },
    ] as never);

    await migrateStoredSubscriptions(clock);
    await migrateStoredSubscriptions(clock); // a second process, or the next start: nothing changes

    expect((await SubscriptionModel.findById(ended.id).lean())?.status).toBe('cancelled');
    const facts = await FactModel.find({ subjectId: { $in: [subscription.id, ended.id] } })
      .sort({ subjectId: 1, seq: 1 })
      .lean();
    expect(facts.map((f) => [f.subjectId, f.seq, f.type, f.state])).toEqual(
      [
        [subscription.id, 1, 'subscription.created', 'succeeded'],
        [subscription.id, 2, 'subscription.skipped', 'succeeded'],
        [ended.id, 1, 'subscription.created', 'succeeded'],
        [ended.id, 2, 'subscription.cancelled', 'succeeded'],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    // The next change is the subscription's third fact, and the view shows the whole history.
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/pause`).set(merchant.auth).send({ cycles: 1 }).expect(200);
    const view = (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body;
    expect(view.history.map((e: { type: string }) => e.type)).toEqual(['subscription.created', 'subscription.skipped', 'subscription.paused']);
    expect(await FactModel.findById(`${subscription.id}:00000003`).lean()).toMatchObject({ type: 'subscription.paused', state: 'pending' });
  });
});
