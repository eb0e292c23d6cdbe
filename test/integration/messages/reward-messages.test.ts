import request from 'supertest';
import { grantYearlyRewards } from '../../../src/offers/offer.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildAddonInput, buildCustomerInput, buildLoyaltyProgramInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { factsAbout, followFacts } from '../../helpers/facts';
import { queuedMessages } from '../../helpers/messages';
import { renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

describe('messages about rewards: birthday and anniversary grants, perks unlocked', () => {
  useTestDatabase();

  async function setUp() {
    const clock = new FakeClock('2026-01-15T15:30:00Z');
    const testApp = buildTestApp({ clock });
    const { app } = testApp;
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    await request(app)
      .post(`/api/v1/stock-items/${plan.variants[0].sku}/adjustments`)
      .set(merchant.auth)
      .send({ adjustBy: 50, reason: 'received' })
      .expect(200);
    const subscribe = async (customer: Parameters<typeof buildCustomerInput>[0] = {}) => {
      const made = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput(customer)).expect(201)).body;
      const subscription = (
        await request(app)
          .post('/api/v1/subscriptions')
          .set(merchant.auth)
          .send({ customerId: made.id, planId: plan.id, variantId: plan.variants[0].id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
          .expect(201)
      ).body;
      return { customerId: made.id as string, id: subscription.id as string, stripeSubscriptionId: subscription.stripeSubscriptionId as string };
    };
    return { clock, app, merchant, subscribe, driver: renewalDriver(testApp, createStripeGateway(testStripe())) };
  }

  test('when a birthday (points) and an anniversary (a free add-on) are granted, then each grant records reward.granted and the shopper is told once what they got', async () => {
    const { clock, app, merchant, subscribe } = await setUp();
    await request(app).put('/api/v1/loyalty-program').set(merchant.auth).send(buildLoyaltyProgramInput()).expect(200);
    const mug = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Anniversary mug' }))
        .expect(201)
    ).body;
    await request(app)
      .post('/api/v1/offers')
      .set(merchant.auth)
      .send({ kind: 'birthday', name: 'Birthday treat', reward: { type: 'points', points: 500 } })
      .expect(201);
    await request(app)
      .post('/api/v1/offers')
      .set(merchant.auth)
      .send({ kind: 'anniversary', name: 'One year', reward: { type: 'free_addon', addonId: mug.id, quantity: 1 } })
      .expect(201);
    const ana = await subscribe({ birthday: '01-20' });

    clock.set('2026-01-20T17:00:00Z');
    await grantYearlyRewards({ clock, logger: silentLogger });
    await grantYearlyRewards({ clock, logger: silentLogger });
    clock.set('2027-01-15T17:00:00Z');
    await grantYearlyRewards({ clock, logger: silentLogger });
    await followFacts(clock);
    await followFacts(clock);

    const granted = (await factsAbout({ customerId: ana.customerId })).filter((fact) => fact.type === 'reward.granted');
    expect(granted.map((fact) => [fact.subjectType, fact.actor, fact.data.occasion, fact.data.reward])).toEqual([
      ['loyalty_entry', { kind: 'job', id: 'offers.grant-yearly-rewards' }, 'birthday', { type: 'points', points: 500 }],
      ['box_reward', { kind: 'job', id: 'offers.grant-yearly-rewards' }, 'anniversary', { type: 'free_addon', addonId: mug.id, quantity: 1 }],
    ]);
    const told = await queuedMessages({ customerId: ana.customerId, template: 'reward.granted' });
    expect(told.map((message) => [message.subject, message.key])).toEqual([
      ['Happy birthday: a gift for you', granted[0]!._id],
      ['Happy anniversary: 1 year together', granted[1]!._id],
    ]);
    expect(told[0]!.text).toContain('here is a gift from us: 500 points.');
    expect(told[1]!.text).toContain('Anniversary mug, free in your next box');
  });

  test('when a paid box makes a subscription eligible for a perk it did not have, then the shopper is told once, with that box; perks already held are not news', async () => {
    const { clock, app, merchant, subscribe, driver } = await setUp();
    await request(app)
      .post('/api/v1/perks')
      .set(merchant.auth)
      .send({ name: 'Free shipping', description: 'Every box ships free', eligibility: { minPaidBoxes: 2 }, benefit: { kind: 'free_shipping' } })
      .expect(201);
    await request(app)
      .post('/api/v1/perks')
      .set(merchant.auth)
      .send({ name: 'Welcome', benefit: { kind: 'free_shipping' } })
      .expect(201);
    const ana = await subscribe();
    await driver.pay(ana.stripeSubscriptionId, clock.now(), 2600, 'in_one');
    expect(await queuedMessages({ customerId: ana.customerId, template: 'perk.unlocked' })).toEqual([]);
    const second = new Date('2026-02-15T15:30:00Z');
    clock.set(new Date(second.getTime() + 5_000));
    await driver.pay(ana.stripeSubscriptionId, second, 2600, 'in_two');
    const third = new Date('2026-03-15T14:30:00Z');
    clock.set(new Date(third.getTime() + 5_000));
    await driver.pay(ana.stripeSubscriptionId, third, 2600, 'in_three');
    await driver.replayAll();
    const told = await queuedMessages({ customerId: ana.customerId, template: 'perk.unlocked' });
    expect(told).toHaveLength(1);
    expect(told[0]!.subject).toBe('You unlocked a perk: Free shipping');
    expect(told[0]!.text).toContain('- Free shipping: Every box ships free');
    const paid = (await factsAbout({ customerId: ana.customerId })).filter((fact) => fact.type === 'box.paid');
    expect(told[0]!.factId).toBe(paid[1]!._id); // the second box's
  });
});
