import type { Express } from 'express';
import request from 'supertest';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { prepareDueBoxes } from '../../../src/renewals/renewal.service';
import { followFacts } from '../../helpers/facts';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';
import { queuedMessages } from '../../helpers/messages';

const THREE_VARIANTS = {
  variants: [
    { name: 'Dark', sku: 'SC-DARK' },
    { name: 'Medium', sku: 'SC-MEDIUM' },
    { name: 'Light', sku: 'SC-LIGHT' },
  ],
};

async function subscribed(app: Express, merchant: TestMerchant) {
  const shopper = await subscribeShopper(app, merchant, THREE_VARIANTS);
  const choose = (body: unknown) =>
    request(app)
      .post(`/api/v1/subscriptions/${shopper.subscription.id}/second-choice`)
      .set(merchant.auth)
      .send(body as object);
  const view = async () => (await request(app).get(`/api/v1/subscriptions/${shopper.subscription.id}`).set(merchant.auth).expect(200)).body;
  return { ...shopper, choose, view };
}

describe('POST /api/v1/subscriptions/:id/second-choice', () => {
  useTestDatabase();

  test('when another active variant of the plan is chosen, then it is kept, shown and recorded; null clears it', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const { choose, view, variantIds } = await subscribed(app, merchant);

    const set = await choose({ variantId: variantIds[1] }).expect(200);
    expect(set.body).toMatchObject({ object: 'subscription', status: 'active', secondChoiceVariantId: variantIds[1], box: { variantId: variantIds[0] } });
    expect((await view()).secondChoiceVariantId).toBe(variantIds[1]);

    // Changing their mind is another choice.
    expect((await choose({ variantId: variantIds[2] }).expect(200)).body.secondChoiceVariantId).toBe(variantIds[2]);

    clock.advance(60_000);
    const cleared = await choose({ variantId: null }).expect(200);
    expect(cleared.body.secondChoiceVariantId).toBeNull();
    const after = await view();
    expect(after.secondChoiceVariantId).toBeNull();
    expect(
      after.history.filter((e: { type: string }) => e.type === 'subscription.second_choice_set').map((e: { data: unknown; at: string }) => [e.data, e.at]),
    ).toEqual([
      [{ variantId: variantIds[1] }, '2026-03-02T15:30:00.000Z'],
      [{ variantId: variantIds[2] }, '2026-03-02T15:30:00.000Z'],
      [{ variantId: null }, '2026-03-02T15:31:00.000Z'],
    ]);
  });

  test("when the variant is the box's own, another plan's, archived or unknown, then it answers 400 on body.variantId and nothing changes", async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant({}, clock);
    const { choose, view, variantIds, planId } = await subscribed(app, merchant);
    const otherPlan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    await request(app)
      .patch(`/api/v1/plans/${planId}`)
      .set(merchant.auth)
      .send({ variants: [{ id: variantIds[2], status: 'archived' }] })
      .expect(200);
    await choose({ variantId: variantIds[1] }).expect(200);
    const before = await view();

    for (const variantId of [variantIds[0], otherPlan.variants[0].id, variantIds[2], 'var_doesnotexist0000000']) {
      const res = await choose({ variantId }).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.type).toBe('/problems/invalid_request');
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'body.variantId' })]);
    }
    expect(await view()).toEqual(before);
  });

  test('when the body has unknown fields or no variantId, then it answers 400 and nothing changes', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant({}, clock);
    const { choose, view, variantIds } = await subscribed(app, merchant);
    const before = await view();

    for (const body of [{ variantId: variantIds[1], sku: 'SC-MEDIUM' }, {}, { variantId: 42 }, { variantId: { $ne: null } }]) {
      expect((await choose(body).expect(400)).body.type).toBe('/problems/invalid_request');
    }
    expect(await view()).toEqual(before);
  });

  test('when the subscription is cancelled, then it answers 409 invalid_state', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant({}, clock);
    const { choose, view, variantIds, subscription } = await subscribed(app, merchant);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/cancel`).set(merchant.auth).send({ mode: 'now', reason: 'other' }).expect(200);

    const res = await choose({ variantId: variantIds[1] }).expect(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: '/problems/invalid_state', status: 409 });
    expect((await choose({ variantId: null }).expect(409)).body.type).toBe('/problems/invalid_state');
    expect((await view()).secondChoiceVariantId).toBeNull();
  });

  test("when the subscription is another merchant's or does not exist, then it answers 404", async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant({}, clock);
    const other = await createMerchant({}, clock);
    const { subscription, variantIds } = await subscribed(app, merchant);
    await request(app).post(`/api/v1/subscriptions/${subscription.id}/second-choice`).set(other.auth).send({ variantId: variantIds[1] }).expect(404);
    await request(app).post('/api/v1/subscriptions/sub_doesnotexist00000000/second-choice').set(merchant.auth).send({ variantId: null }).expect(404);
  });

  test('when their variant is out of stock at the cut-off, then the second choice is reserved and sent instead, and the shopper is told', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const { choose, variantIds, subscription, customerId } = await subscribed(app, merchant);
    await choose({ variantId: variantIds[2] }).expect(200);
    // Their Dark is tracked and sold out; the merchant's rule would not apply (none set); Light has 3.
    await request(app).post('/api/v1/stock-items/SC-DARK/adjustments').set(merchant.auth).send({ adjustBy: 1, reason: 'count' }).expect(200);
    await request(app).post('/api/v1/stock-items/SC-DARK/adjustments').set(merchant.auth).send({ adjustBy: -1, reason: 'damaged' }).expect(200);
    await request(app).post('/api/v1/stock-items/SC-LIGHT/adjustments').set(merchant.auth).send({ adjustBy: 3, reason: 'delivery' }).expect(200);
    const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };

    const cutoffAt = (await request(app).get(`/api/v1/subscriptions/${subscription.id}`).set(merchant.auth).expect(200)).body.nextCharge.cutoffAt as string;
    clock.set(new Date(Date.parse(cutoffAt) + 60_000));
    await prepareDueBoxes(deps);

    const orders = await BoxOrderModel.find({ subscriptionId: subscription.id }).lean();
    expect(orders).toHaveLength(1);
    const order = (await request(app).get(`/api/v1/orders/${orders[0]!._id}`).set(merchant.auth).expect(200)).body;
    expect(order).toMatchObject({ status: 'reserved', cycleKey: '2026-04-02' });
    expect(order.lines).toEqual([
      expect.objectContaining({
        kind: 'plan',
        sku: 'SC-LIGHT',
        stock: 'reserved',
        substitutedFor: { sku: 'SC-DARK', description: expect.stringMatching(/: Dark$/), rule: 'second_choice' },
      }),
    ]);
    expect((await request(app).get('/api/v1/stock-items/SC-LIGHT').set(merchant.auth).expect(200)).body).toMatchObject({ onHand: 2, reserved: 1 });
    await followFacts(clock); // the message follows the box's fact
    const told = await queuedMessages({ customerId, template: 'box.stock_adjusted' });
    expect(told).toEqual([expect.objectContaining({ subscriptionId: subscription.id, text: expect.stringContaining('(your second choice)') })]);

    // The cut-off job again: nothing is taken twice.
    await prepareDueBoxes(deps);
    expect((await request(app).get('/api/v1/stock-items/SC-LIGHT').set(merchant.auth).expect(200)).body).toMatchObject({ onHand: 2, reserved: 1 });
  });
});
