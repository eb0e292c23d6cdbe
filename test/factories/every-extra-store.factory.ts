import request from 'supertest';
import type { Express } from 'express';
import { buildAddonInput, buildCustomerInput, buildPlanInput } from './catalog.factory';

/**
 * A store with every extra the box builder adds — a shipping fee, a recurring add-on with counted stock, a
 * free-shipping perk and a 10 %-off-add-ons perk, a threshold offer, a loyalty programme with automatic credit,
 * an active surprise-gift campaign — and one shopper subscribed with the add-on, all made through the API: the
 * store of `npm run bench:cutoff` and of the commands-per-box test.
 */
export async function storeWithEveryExtra(
  app: Express,
  auth: Record<string, string>,
  options: { addonStock: number; giftStockBudget: number; giftCostBudgetMinor: number; startsOn: string },
): Promise<{ subscriptionId: string }> {
  const call = async (method: 'post' | 'put' | 'patch', path: string, body: object, status: number) => {
    const res = await request(app)[method](`/api/v1${path}`).set(auth).send(body);
    if (res.status !== status) throw new Error(`${method.toUpperCase()} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as Record<string, unknown> & { id: string };
  };
  await call('patch', '/merchants/me', { subscriptionSettings: { shippingFees: [{ currency: 'USD', amountMinor: 500 }] } }, 200);
  const plan = await call('post', '/plans', buildPlanInput(), 201);
  const refill = await call('post', '/addons', buildAddonInput({ name: 'Beans refill', kind: 'recurring', priceMinor: 1200, stock: options.addonStock }), 201);
  const gift = await call('post', '/addons', buildAddonInput({ name: 'Tasting tin', stock: options.addonStock }), 201);
  await call(
    'put',
    '/loyalty-program',
    {
      enabled: true,
      pointsPerUnit: 10,
      redemption: { points: 100, creditMinor: 500 },
      autoApply: true,
      expiry: null,
      tierBasis: 'paid_boxes',
      tiers: [{ key: 'silver', name: 'Silver', threshold: 3, earnMultiplierPercent: 150 }],
    },
    200,
  );
  await call('post', '/perks', { name: 'Free shipping', benefit: { kind: 'free_shipping' } }, 201);
  await call('post', '/perks', { name: '10% off add-ons', benefit: { kind: 'addon_discount', percentOff: 10 } }, 201);
  await call('post', '/offers', { kind: 'threshold', name: 'Spend 30, save 2', basis: 'box_total', minSpendMinor: 3000, amountOffMinor: 200 }, 201);
  const campaign = await call(
    'post',
    '/gift-campaigns',
    {
      name: 'Thank-you tin',
      giftAddonIds: [gift.id],
      unitCostMinor: 300,
      stockBudget: options.giftStockBudget,
      costBudgetMinor: options.giftCostBudgetMinor,
      startsOn: options.startsOn,
    },
    201,
  );
  await call('post', `/gift-campaigns/${campaign.id}/activate`, {}, 200);
  const customer = await call('post', '/customers', buildCustomerInput(), 201);
  const variants = plan.variants as Array<{ id: string }>;
  const subscription = await call(
    'post',
    '/subscriptions',
    { customerId: customer.id, planId: plan.id, variantId: variants[0]!.id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' },
    201,
  );
  await call('post', `/subscriptions/${subscription.id}/addons`, { addonId: refill.id, quantity: 1 }, 200);
  return { subscriptionId: subscription.id };
}
