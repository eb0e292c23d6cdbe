import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { WebhookEventModel } from '../../../src/webhooks/webhook-event.model';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp } from '../../helpers/test-app';
import { testStripe, useTestDatabase } from '../../helpers/test-env';

/** A card payment method as Stripe sends it in `payment_method.*` events (the fields we read, and some we do not). */
function cardMethod(id: string, customer: string | null, card: { last4: string; exp_month: number; exp_year: number; brand?: string }) {
  return {
    id,
    object: 'payment_method',
    type: 'card',
    customer,
    billing_details: { name: null, email: null },
    card: { brand: card.brand ?? 'visa', last4: card.last4, exp_month: card.exp_month, exp_year: card.exp_year, funding: 'credit', country: 'US' },
    created: 1_767_000_000,
    livemode: false,
  };
}

describe("a shopper's card, from Stripe's payment method events", () => {
  useTestDatabase();

  async function setUp() {
    const clock = new FakeClock('2026-04-01T10:00:00Z');
    const testApp = buildTestApp({ clock });
    const { app } = testApp;
    const merchant = await createMerchant({}, clock);
    const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    const driver = renewalDriver(testApp, createStripeGateway(testStripe()));
    const card = async () => (await request(app).get(`/api/v1/customers/${customer.id}`).set(merchant.auth).expect(200)).body.card;
    return { clock, app, merchant, customer, driver, card, stripeCustomerId: customer.stripeCustomerId as string };
  }

  test('when a card is attached, updated, replaced by the network, then the customer keeps its brand, last 4 and expiry; older news changes nothing', async () => {
    const { clock, merchant, driver, card, stripeCustomerId } = await setUp();
    const t = (minutes: number) => new Date(clock.now().getTime() + minutes * 60_000);

    expect(await driver.deliver('payment_method.attached', cardMethod('pm_a', stripeCustomerId, { last4: '4242', exp_month: 8, exp_year: 2027 }), t(1))).toBe(
      200,
    );
    expect(await card()).toEqual({ brand: 'visa', last4: '4242', expMonth: 8, expYear: 2027 });

    await driver.deliver('payment_method.updated', cardMethod('pm_a', stripeCustomerId, { last4: '4242', exp_month: 9, exp_year: 2028 }), t(3));
    expect(await card()).toMatchObject({ expMonth: 9, expYear: 2028 });
    // An update Stripe made earlier, delivered late: the newer one stays.
    await driver.deliver('payment_method.updated', cardMethod('pm_a', stripeCustomerId, { last4: '4242', exp_month: 1, exp_year: 2027 }), t(2));
    expect(await card()).toMatchObject({ expMonth: 9, expYear: 2028 });
    // The card network replaced the card's details.
    await driver.deliver('payment_method.automatically_updated', cardMethod('pm_a', stripeCustomerId, { last4: '1881', exp_month: 12, exp_year: 2030 }), t(4));
    expect(await card()).toEqual({ brand: 'visa', last4: '1881', expMonth: 12, expYear: 2030 });
    // Another card's update is not theirs to take; that card, attached, becomes theirs.
    await driver.deliver(
      'payment_method.updated',
      cardMethod('pm_b', stripeCustomerId, { last4: '5555', exp_month: 1, exp_year: 2031, brand: 'mastercard' }),
      t(5),
    );
    expect(await card()).toMatchObject({ last4: '1881' });
    await driver.deliver(
      'payment_method.attached',
      cardMethod('pm_b', stripeCustomerId, { last4: '5555', exp_month: 1, exp_year: 2031, brand: 'mastercard' }),
      t(6),
    );
    expect(await card()).toEqual({ brand: 'mastercard', last4: '5555', expMonth: 1, expYear: 2031 });

    const events = await WebhookEventModel.find({ _id: { $in: driver.delivered.map((event) => event.id) } }).lean();
    expect(events.map((event) => [event.state, event.merchantId])).toEqual(events.map(() => ['succeeded', merchant.id]));
    // Replayed (the same events again, and as new events): the newest card stays.
    await driver.replayAll();
    expect(await card()).toEqual({ brand: 'mastercard', last4: '5555', expMonth: 1, expYear: 2031 });
  });

  test('when a payment method is not a card, or not a customer of ours, then nothing is recorded and the event is done', async () => {
    const { driver, card, stripeCustomerId } = await setUp();
    await driver.deliver('payment_method.attached', { id: 'pm_sepa', object: 'payment_method', type: 'sepa_debit', customer: stripeCustomerId, card: null });
    await driver.deliver('payment_method.attached', cardMethod('pm_other', 'cus_notours', { last4: '4242', exp_month: 8, exp_year: 2027 }));
    await driver.deliver('payment_method.attached', cardMethod('pm_nobody', null, { last4: '4242', exp_month: 8, exp_year: 2027 }));
    expect(await card()).toBeNull();
    const events = await WebhookEventModel.find({ _id: { $in: driver.delivered.map((event) => event.id) } }).lean();
    expect(events.map((event) => [event.state, event.merchantId ?? null])).toEqual([
      ['succeeded', null],
      ['succeeded', null],
      ['succeeded', null],
    ]);
  });

  test('when a card event lacks what we read (a last 4 that is not four digits), then it fails and is retried, and the card is unchanged', async () => {
    const { driver, card, stripeCustomerId } = await setUp();
    expect(await driver.deliver('payment_method.attached', cardMethod('pm_bad', stripeCustomerId, { last4: 'abcd', exp_month: 8, exp_year: 2027 }))).toBe(200);
    expect(await card()).toBeNull();
    const event = await WebhookEventModel.findById(driver.delivered[0]!.id).lean();
    expect(event).toMatchObject({ state: 'failed', lastError: expect.stringContaining('card.last4') });
  });
});
