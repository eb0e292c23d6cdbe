import request from 'supertest';
import { apiRoutes } from '../../src/api';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildAddonInput, buildCustomerInput, buildPlanInput } from '../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../factories/merchant.factory';
import { subscribeShopper } from '../factories/subscription.factory';
import { buildPaidInvoice } from '../factories/invoice.factory';
import { recordPaidInvoice } from '../../src/orders/order.service';
import { attributeReferral } from '../../src/referrals/referral.service';
import { queueMessage } from '../../src/messages/message.service';
import { buildOutgoingMessage } from '../factories/message.factory';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

/**
 * Every route with an `:id`: another merchant gets 404 (never 403: existence is not revealed), and the
 * owner's resource is unchanged. A new `:id` route without an entry here fails the coverage test.
 */
type Resource =
  'plan' | 'addon' | 'stockItem' | 'apiKey' | 'customer' | 'subscription' | 'order' | 'referral' | 'giftCampaign' | 'perk' | 'offer' | 'message' | 'promoCode';
/** `shopper`: the intruder calls with a shopper session of one of its own customers. */
const MATRIX: Record<string, { resource: Resource; body?: unknown; as?: 'shopper' }> = {
  'get /plans/:id': { resource: 'plan' },
  'patch /plans/:id': { resource: 'plan', body: { name: 'Hijacked' } },
  'post /plans/:id/archive': { resource: 'plan' },
  'post /plans/:id/unarchive': { resource: 'plan' },
  'post /plans/:id/price-migrations': { resource: 'plan', body: { cadence: 'month-1' } },
  'get /addons/:id': { resource: 'addon' },
  'patch /addons/:id': { resource: 'addon', body: { name: 'Hijacked' } },
  'post /addons/:id/stock-adjustments': { resource: 'addon', body: { adjustBy: -1, reason: 'theft' } },
  'get /stock-items/:sku': { resource: 'stockItem' },
  'post /stock-items/:sku/adjustments': { resource: 'stockItem', body: { adjustBy: -1, reason: 'theft' } },
  'post /subscriptions/:id/second-choice': { resource: 'subscription', body: { variantId: null } },
  'post /subscriptions/:id/box-address': {
    resource: 'subscription',
    body: { address: { line1: '1 Elsewhere Rd', city: 'Salem', postalCode: '97301', country: 'US' } },
  },
  'post /api-keys/:id/revoke': { resource: 'apiKey' },
  'get /customers/:id': { resource: 'customer' },
  'patch /customers/:id': { resource: 'customer', body: { name: 'Hijacked' } },
  'get /subscriptions/:id': { resource: 'subscription' },
  'get /orders/:id': { resource: 'order' },
  'post /orders/:id/pack': { resource: 'order', body: {} },
  'post /orders/:id/ship': { resource: 'order', body: { carrier: 'UPS', trackingNumber: 'X1' } },
  'post /orders/:id/deliver': { resource: 'order', body: {} },
  'post /orders/:id/cancel': { resource: 'order', body: { reason: 'x' } },
  'post /subscriptions/:id/skip': { resource: 'subscription', body: {} },
  'post /subscriptions/:id/unskip': { resource: 'subscription', body: { cycleKey: '2026-04-01' } },
  'post /subscriptions/:id/pause': { resource: 'subscription', body: { cycles: 1 } },
  'post /subscriptions/:id/resume': { resource: 'subscription', body: {} },
  'post /subscriptions/:id/swap': { resource: 'subscription', body: { variantId: 'var_x' } },
  'post /subscriptions/:id/cancel': { resource: 'subscription', body: { mode: 'now', reason: 'other' } },
  'post /subscriptions/:id/reactivate': { resource: 'subscription', body: {} },
  'post /subscriptions/:id/cadence': { resource: 'subscription', body: { cadence: 'week-2' } },
  'post /subscriptions/:id/charge-date': { resource: 'subscription', body: { date: '2026-04-05' } },
  'post /subscriptions/:id/addons': { resource: 'subscription', body: { addonId: 'addon_x' } },
  'post /subscriptions/:id/addons/:lineId/remove': { resource: 'subscription', body: {} },
  'get /subscriptions/:id/save-offers': { resource: 'subscription' },
  'get /subscriptions/:id/events': { resource: 'subscription' },
  'get /customers/:id/events': { resource: 'customer' },
  'post /subscriptions/:id/save-offers/accept': { resource: 'subscription', body: { type: 'discount' } },
  'get /customers/:id/referral-code': { resource: 'customer' },
  'get /referrals/:id': { resource: 'referral' },
  'post /referrals/:id/approve': { resource: 'referral', body: {} },
  'post /referrals/:id/reject': { resource: 'referral', body: { note: 'Hijacked' } },
  'get /gift-campaigns/:id': { resource: 'giftCampaign' },
  'post /gift-campaigns/:id/activate': { resource: 'giftCampaign' },
  'post /gift-campaigns/:id/end': { resource: 'giftCampaign' },
  'post /gift-campaigns/:id/dry-run': { resource: 'giftCampaign', body: {} },
  'get /gift-campaigns/:id/awards': { resource: 'giftCampaign' },
  'get /perks/:id': { resource: 'perk' },
  'post /perks/:id/archive': { resource: 'perk' },
  'get /offers/:id': { resource: 'offer' },
  'post /offers/:id/archive': { resource: 'offer' },
  'get /customers/:id/loyalty': { resource: 'customer' },
  'get /customers/:id/loyalty/entries': { resource: 'customer' },
  'post /customers/:id/loyalty/redemptions': { resource: 'customer', body: { points: 100 } },
  'post /customers/:id/loyalty/adjustments': { resource: 'customer', body: { points: 100, reason: 'Hijacked' } },
  'post /customers/:id/shopper-sessions': { resource: 'customer' },
  'get /customers/:id/shopper-sessions': { resource: 'customer' },
  'post /customers/:id/shopper-sessions/:sessionId/revoke': { resource: 'customer' },
  'get /subscriptions/:id/rewards': { resource: 'subscription' },
  'get /shopper/subscriptions/:id/rewards': { resource: 'subscription', as: 'shopper' },
  'get /messages/:id': { resource: 'message' },
  'get /customers/:id/message-preferences': { resource: 'customer' },
  'put /customers/:id/message-preferences': { resource: 'customer', body: { reminder: false, marketing: false } },
  'get /promo-codes/:id': { resource: 'promoCode' },
  'get /promo-codes/:id/redemptions': { resource: 'promoCode' },
  'post /promo-codes/:id/archive': { resource: 'promoCode' },
  'post /subscriptions/:id/promo-code': { resource: 'subscription', body: { code: 'WELCOME' } },
  'post /shopper/subscriptions/:id/promo-code': { resource: 'subscription', body: { code: 'WELCOME' }, as: 'shopper' },
  'post /shopper/subscriptions/:id/box-address': {
    resource: 'subscription',
    body: { address: { line1: '1 Elsewhere Rd', city: 'Salem', postalCode: '97301', country: 'US' } },
    as: 'shopper',
  },
};

/**
 * Routes whose path parameter names something every merchant has (a message template), not a resource of
 * one merchant: what they answer is the caller's own (their brand, their address), checked below.
 */
const SCOPED_BY_KEY = ['get /message-templates/:name/preview', 'post /message-templates/:name/test'];

describe('tenancy', () => {
  useTestDatabase();
  const { app } = buildTestApp();
  let owner: TestMerchant;
  let intruder: TestMerchant;
  const ids = {} as Record<Resource, string>;
  const snapshot = async () => ({
    plan: (await request(app).get(`/api/v1/plans/${ids.plan}`).set(owner.auth).expect(200)).body,
    addon: (await request(app).get(`/api/v1/addons/${ids.addon}`).set(owner.auth).expect(200)).body,
    stockItem: (await request(app).get(`/api/v1/stock-items/${ids.stockItem}`).set(owner.auth).expect(200)).body,
    keys: (await request(app).get('/api/v1/api-keys').set(owner.auth).expect(200)).body,
    customer: (await request(app).get(`/api/v1/customers/${ids.customer}`).set(owner.auth).expect(200)).body,
    subscription: (await request(app).get(`/api/v1/subscriptions/${ids.subscription}`).set(owner.auth).expect(200)).body,
    order: (await request(app).get(`/api/v1/orders/${ids.order}`).set(owner.auth).expect(200)).body,
    referral: (await request(app).get(`/api/v1/referrals/${ids.referral}`).set(owner.auth).expect(200)).body,
    giftCampaign: (await request(app).get(`/api/v1/gift-campaigns/${ids.giftCampaign}`).set(owner.auth).expect(200)).body,
    perk: (await request(app).get(`/api/v1/perks/${ids.perk}`).set(owner.auth).expect(200)).body,
    offer: (await request(app).get(`/api/v1/offers/${ids.offer}`).set(owner.auth).expect(200)).body,
    loyalty: (await request(app).get(`/api/v1/customers/${ids.customer}/loyalty/entries`).set(owner.auth).expect(200)).body,
    shopperSessions: (await request(app).get(`/api/v1/customers/${ids.customer}/shopper-sessions`).set(owner.auth).expect(200)).body,
    message: (await request(app).get(`/api/v1/messages/${ids.message}`).set(owner.auth).expect(200)).body,
    messagePreferences: (await request(app).get(`/api/v1/customers/${ids.customer}/message-preferences`).set(owner.auth).expect(200)).body,
    promoCode: (await request(app).get(`/api/v1/promo-codes/${ids.promoCode}`).set(owner.auth).expect(200)).body,
    redemptions: (await request(app).get(`/api/v1/promo-codes/${ids.promoCode}/redemptions`).set(owner.auth).expect(200)).body,
  });
  let ownerSessionId: string;
  let intruderShopper: { Authorization: string };

  beforeAll(async () => {
    [owner, intruder] = await Promise.all([createMerchant(), createMerchant()]);
    const plan = (await request(app).post('/api/v1/plans').set(owner.auth).send(buildPlanInput()).expect(201)).body;
    ids.plan = plan.id;
    ids.stockItem = plan.variants[0].sku;
    await request(app).post(`/api/v1/stock-items/${ids.stockItem}/adjustments`).set(owner.auth).send({ adjustBy: 5, reason: 'received' }).expect(200);
    ids.addon = (await request(app).post('/api/v1/addons').set(owner.auth).send(buildAddonInput()).expect(201)).body.id;
    ids.customer = (await request(app).post('/api/v1/customers').set(owner.auth).send(buildCustomerInput()).expect(201)).body.id;
    const subscribed = await subscribeShopper(app, owner);
    ids.subscription = subscribed.subscription.id;
    await recordPaidInvoice(
      { clock: new FakeClock(), stripe: createStripeGateway(testStripe()), logger: silentLogger },
      // The first box's invoice: its period starts when the subscription was made (its first charge).
      buildPaidInvoice(subscribed.subscription.stripeSubscriptionId as string, new Date(subscribed.subscription.createdAt as string), 2600),
    );
    ids.order = (await request(app).get('/api/v1/orders').set(owner.auth).expect(200)).body.data[0].id;
    ids.apiKey = (await request(app).get('/api/v1/api-keys').set(owner.auth).expect(200)).body.data[0].id;
    // Both customers have the factory's address, so the referral is held: approve and reject would both apply.
    await request(app)
      .put('/api/v1/referral-program')
      .set(owner.auth)
      .send({ enabled: true, welcomeOffer: { type: 'percent', percentOff: 10 }, referrerReward: { type: 'points', points: 100 } })
      .expect(200);
    const code = (await request(app).get(`/api/v1/customers/${ids.customer}/referral-code`).set(owner.auth).expect(200)).body.code;
    const friend = (await request(app).post('/api/v1/customers').set(owner.auth).send(buildCustomerInput()).expect(201)).body.id;
    ids.referral = (
      await attributeReferral(
        { clock: new FakeClock() },
        { merchantId: owner.id, code, friendCustomerId: friend, friendSubscriptionId: 'sub_tenancyfriend00000000' },
      )
    ).referralId;
    ids.giftCampaign = (
      await request(app)
        .post('/api/v1/gift-campaigns')
        .set(owner.auth)
        .send({ name: 'Tenancy gift', giftAddonIds: [ids.addon], unitCostMinor: 100, stockBudget: 1, costBudgetMinor: 100, startsOn: '2026-01-01' })
        .expect(201)
    ).body.id;
    ids.perk = (
      await request(app)
        .post('/api/v1/perks')
        .set(owner.auth)
        .send({ name: 'Free shipping', benefit: { kind: 'free_shipping' } })
        .expect(201)
    ).body.id;
    ids.offer = (
      await request(app).post('/api/v1/offers').set(owner.auth).send({ kind: 'comeback', name: 'Welcome back', withinDays: 30, percentOff: 20 }).expect(201)
    ).body.id;
    ids.promoCode = (
      await request(app).post('/api/v1/promo-codes').set(owner.auth).send({ code: 'WELCOME', description: '10% off', percentOff: 10 }).expect(201)
    ).body.id;
    // The intruder has a code of the same name: applying it to the owner's subscription still finds nothing.
    await request(app).post('/api/v1/promo-codes').set(intruder.auth).send({ code: 'WELCOME', description: '10% off', percentOff: 10 }).expect(201);
    await request(app)
      .put('/api/v1/loyalty-program')
      .set(owner.auth)
      .send({
        enabled: true,
        pointsPerUnit: 1,
        redemption: { points: 100, creditMinor: 500 },
        autoApply: false,
        expiry: null,
        tierBasis: 'paid_boxes',
        tiers: [],
      })
      .expect(200);
    await request(app).post(`/api/v1/customers/${ids.customer}/loyalty/adjustments`).set(owner.auth).send({ points: 300, reason: 'Welcome' }).expect(201);
    ids.message = (
      await queueMessage({ clock: new FakeClock() }, buildOutgoingMessage({ merchantId: owner.id, customerId: ids.customer, to: 'tenancy@example.com' }))
    ).id;
    ownerSessionId = (await request(app).post(`/api/v1/customers/${ids.customer}/shopper-sessions`).set(owner.auth).expect(201)).body.id;
    const theirs = (await request(app).post('/api/v1/customers').set(intruder.auth).send(buildCustomerInput()).expect(201)).body.id;
    intruderShopper = {
      Authorization: `Bearer ${(await request(app).post(`/api/v1/customers/${theirs}/shopper-sessions`).set(intruder.auth).expect(201)).body.token}`,
    };
  });

  test('every route with a path parameter is in the matrix', () => {
    const routes = apiRoutes({
      clock: new FakeClock(),
      logger: silentLogger,
      stripe: createStripeGateway(testStripe()),
      version: 't',
      publicUrl: 'http://x',
      checkResponses: true,
    });
    const withId = routes.filter((route) => route.path.includes(':')).map((route) => `${route.method} ${route.path}`);
    expect(withId.sort()).toEqual([...Object.keys(MATRIX), ...SCOPED_BY_KEY].sort());
  });

  test.each(Object.entries(MATRIX))("when another merchant calls %s on the owner's resource, then it is 404 and nothing changes", async (route, entry) => {
    const before = await snapshot();
    const [method, path] = route.split(' ') as ['get' | 'post' | 'patch' | 'put', string];
    const call = request(app)
      [method](
        `/api/v1${path
          .replace(/:id|:sku/, ids[entry.resource])
          .replace(':lineId', 'sadd_x')
          .replace(':sessionId', ownerSessionId)}`,
      )
      .set(entry.as === 'shopper' ? intruderShopper : intruder.auth);
    const res = await (entry.body ? call.send(entry.body) : call);
    expect(res.status).toBe(404);
    expect(res.body.type).toBe('/problems/not_found');
    expect(await snapshot()).toEqual(before);
  });

  test("when another merchant previews or tests a message, then it is rendered with their own brand and sent to their own address, never the owner's", async () => {
    await request(app).put('/api/v1/message-settings').set(owner.auth).send({ accentColor: '#aa0000', fromName: 'Owner Roasters' }).expect(200);
    const ownerName = (await request(app).get('/api/v1/merchants/me').set(owner.auth).expect(200)).body.name as string;
    const intruderName = (await request(app).get('/api/v1/merchants/me').set(intruder.auth).expect(200)).body.name as string;
    const preview = (await request(app).get('/api/v1/message-templates/box.shipped/preview').set(intruder.auth).expect(200)).body;
    expect(preview.html).toContain(intruderName);
    expect(preview.html).not.toContain(ownerName);
    expect(preview.html).not.toContain('#aa0000');
    const sent = (await request(app).post('/api/v1/message-templates/box.shipped/test').set(intruder.auth).expect(202)).body;
    expect(sent.to).toBe(intruder.email);
    expect((await request(app).get('/api/v1/message-settings').set(owner.auth).expect(200)).body).toMatchObject({
      accentColor: '#aa0000',
      fromName: 'Owner Roasters',
    });
    expect((await request(app).get('/api/v1/message-settings').set(intruder.auth).expect(200)).body).toMatchObject({ accentColor: '#1f6f54', fromName: null });
  });

  test("when another merchant lists plans and add-ons, then the owner's are not there", async () => {
    expect((await request(app).get('/api/v1/plans').set(intruder.auth).expect(200)).body.data).toEqual([]);
    expect((await request(app).get('/api/v1/addons').set(intruder.auth).expect(200)).body.data).toEqual([]);
    expect((await request(app).get('/api/v1/customers').set(intruder.auth).expect(200)).body.data.map((c: { id: string }) => c.id)).not.toContain(ids.customer);
    expect((await request(app).get('/api/v1/subscriptions').set(intruder.auth).expect(200)).body.data).toEqual([]);
    expect((await request(app).get('/api/v1/orders').set(intruder.auth).expect(200)).body.data).toEqual([]);
    expect((await request(app).get('/api/v1/stock-items').set(intruder.auth).expect(200)).body.data).toEqual([]);
    // the intruder's own test send (from the test above) may be there; nothing of the owner's is
    const intruderMessages = (await request(app).get('/api/v1/messages').set(intruder.auth).expect(200)).body.data as { to: string }[];
    expect(intruderMessages.filter((message) => message.to !== intruder.email)).toEqual([]);
    expect((await request(app).get('/api/v1/promo-codes').set(intruder.auth).expect(200)).body.data.map((c: { id: string }) => c.id)).not.toContain(
      ids.promoCode,
    );
    const shipOn = (await request(app).get(`/api/v1/orders/${ids.order}`).set(owner.auth).expect(200)).body.shipOn;
    expect((await request(app).get(`/api/v1/pick-list?shipOn=${shipOn}`).set(intruder.auth).expect(200)).body).toMatchObject({ orderCount: 0, orders: [] });
    expect((await request(app).get(`/api/v1/pick-list?shipOn=${shipOn}`).set(owner.auth).expect(200)).body).toMatchObject({ orderCount: 1 });
    expect((await request(app).get('/api/v1/api-keys').set(intruder.auth).expect(200)).body.data.map((k: { id: string }) => k.id)).not.toContain(ids.apiKey);
  });
});
