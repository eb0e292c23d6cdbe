import request from 'supertest';
import type { Express } from 'express';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { renewalDriver } from '../../helpers/renewal-driver';
import { queuedMessages } from '../../helpers/messages';
import { buildTestApp } from '../../helpers/test-app';
import { testStripe, useTestDatabase } from '../../helpers/test-env';

async function adjustStock(app: Express, merchant: TestMerchant, sku: string, adjustBy: number) {
  await request(app)
    .post(`/api/v1/stock-items/${sku}/adjustments`)
    .set(merchant.auth)
    .send({ adjustBy, reason: adjustBy > 0 ? 'received' : 'counted' })
    .expect(200);
}

/** Dark (the merchant sends Light when it runs out), Light and Decaf; Decaf's stock is not counted. */
async function setUp(trialDays = 0) {
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const testApp = buildTestApp({ clock });
  const { app } = testApp;
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const input = buildPlanInput({ trialDays });
  const [dark, light, decaf] = ['DARK', 'LIGHT', 'DECAF'].map((name) => `${name}-${input.variants[0]!.sku}`) as [string, string, string];
  const plan = (
    await request(app)
      .post('/api/v1/plans')
      .set(merchant.auth)
      .send({
        ...input,
        variants: [
          { name: 'Dark', sku: dark, substituteSkus: [light] },
          { name: 'Light', sku: light },
          { name: 'Decaf', sku: decaf },
        ],
      })
      .expect(201)
  ).body;
  const variantId = (sku: string) => (plan.variants as Array<{ id: string; sku: string }>).find((v) => v.sku === sku)!.id;
  const subscribe = async (sku: string, status: number, payment: object = { paymentMethodId: 'pm_card_visa' }) => {
    const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    return request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: customer.id, planId: plan.id, variantId: variantId(sku), cadence: 'month-1', ...payment })
      .expect(status);
  };
  return { clock, app, merchant, testApp, plan, dark, light, decaf, subscribe };
}

describe('stock when a shopper subscribes', () => {
  useTestDatabase();

  test('when the variant and its substitutes have nothing on hand, then subscribing is refused with 409 out_of_stock and nothing is made in Stripe', async () => {
    const { app, merchant, testApp, dark, light, decaf, subscribe } = await setUp();
    for (const sku of [dark, light]) {
      await adjustStock(app, merchant, sku, 1);
      await adjustStock(app, merchant, sku, -1);
    }
    testApp.stripeCalls.length = 0;
    for (const payment of [{ paymentMethodId: 'pm_card_visa' }, { checkout: true }]) {
      const refused = await subscribe(dark, 409, payment);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({ type: '/problems/out_of_stock', status: 409, detail: expect.stringContaining('Dark is out of stock') });
    }
    expect(testApp.stripeCalls.filter((call) => call.path.startsWith('/v1/subscriptions') || call.path.startsWith('/v1/checkout'))).toEqual([]);

    await subscribe(decaf, 201); // not counted: always available
    await adjustStock(app, merchant, light, 2);
    await subscribe(dark, 201); // the merchant's substitute can be sent
  });

  test('when the plan has a trial, then subscribing is not refused: the first box is built at its cut-off, or skipped with no charge', async () => {
    const { app, merchant, dark, light, subscribe } = await setUp(14);
    for (const sku of [dark, light]) {
      await adjustStock(app, merchant, sku, 1);
      await adjustStock(app, merchant, sku, -1);
    }
    expect((await subscribe(dark, 201)).body.status).toBe('trialing');
  });

  test('when the last unit goes between sign-up and payment, then the paid box is back-ordered and the shopper is told once', async () => {
    const { clock, app, merchant, testApp, dark, light, subscribe } = await setUp();
    await adjustStock(app, merchant, dark, 1);
    await adjustStock(app, merchant, light, 1);
    await adjustStock(app, merchant, light, -1);
    const subscription = (await subscribe(dark, 201)).body;
    await adjustStock(app, merchant, dark, -1); // sold in the shop before Stripe's invoice.paid is processed

    const driver = renewalDriver(testApp, createStripeGateway(testStripe()));
    const invoiceId = `in_first_${subscription.id.slice(-8)}`;
    clock.advance(20_000);
    await driver.pay(subscription.stripeSubscriptionId, new Date('2026-03-02T15:30:00Z'), 2600, invoiceId);
    await driver.pay(subscription.stripeSubscriptionId, new Date('2026-03-02T15:30:00Z'), 2600, invoiceId); // a repeat
    const [order] = await BoxOrderModel.find({ subscriptionId: subscription.id }).lean();
    expect(order).toMatchObject({ status: 'paid', lines: [expect.objectContaining({ sku: dark, stock: 'short' })] });
    const told = await queuedMessages({ subscriptionId: subscription.id, template: 'box.back_ordered' });
    expect(told).toEqual([expect.objectContaining({ subject: 'Part of your box is on back-order' })]);
    expect(told[0]!.text).toContain('your box of March 2, 2026 is paid');
    expect(told[0]!.text).toMatch(/^- .*: Dark$/m);
  });
});
