import request from 'supertest';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { refreshForecast, requestForecastRefresh } from '../../../src/orders/fulfilment-forecast.service';
import { insertBoxOrder, recordPaidInvoice } from '../../../src/orders/order.service';
import { buildPickList, pickListOrders, pickListTotals } from '../../../src/orders/pick-list.service';
import { cycleAt } from '../../../src/shared/calendar';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { findSubscription } from '../../../src/subscriptions/subscription.queries';
import { buildPaidInvoice } from '../../factories/invoice.factory';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { factsAbout } from '../../helpers/facts';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

jest.setTimeout(120_000);

/** /merchant/fulfilment: coming days against stock, the pick list (screen and CSV), bulk pack, ship and deliver, held boxes. */
describe('the merchant fulfilment pages', () => {
  useTestDatabase();
  // 10:30 in New York on Monday 2 March 2026.
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const { app } = buildTestApp({ clock });
  const stripeDeps = () => ({ clock, stripe: createStripeGateway(testStripe()), logger: silentLogger });

  async function signedIn(merchant: TestMerchant) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' });
    return browser;
  }

  /** The stored forecast, computed now (as the refresh job does a moment after the facts). */
  async function forecastRefreshed(merchant: TestMerchant) {
    clock.advance(1000);
    await requestForecastRefresh(clock, merchant.id);
    expect(await refreshForecast({ clock }, merchant.id)).toBe('refreshed');
  }

  /** `count` boxes of one subscription, one per cycle from its first, made as the renewal makes them (paid, or held or reserved). */
  async function boxesOf(merchant: TestMerchant, count: number, status: 'paid' | 'held' | 'reserved' = 'paid'): Promise<string[]> {
    const { subscription } = await subscribeShopper(app, merchant, {}, 'week-2');
    const stored = (await findSubscription(merchant.id, subscription.id))!;
    const ids: string[] = [];
    for (let start = 0; start < count; start += 50) {
      const batch = Array.from({ length: Math.min(50, count - start) }, (_, i) => cycleAt(stored.schedule, start + i));
      const made = await Promise.all(
        batch.map((cycle) => insertBoxOrder(clock, stored, cycle, status, status === 'paid' ? { amountPaidMinor: 2400, paidAt: clock.now() } : {})),
      );
      ids.push(...made.map(({ order }) => order._id));
    }
    return ids;
  }

  test('when a SKU has fewer units than the coming boxes need, then coming days shows it short, and each day its boxes', async () => {
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const plan = { variants: [{ name: 'Dark', sku: 'DARK-ROAST' }], cadences: [{ interval: 'week' as const, intervalCount: 2, priceMinor: 2400 }] };
    const first = await subscribeShopper(app, merchant, plan, 'week-2');
    // A second shopper of the same plan (and SKU).
    const second = (
      await request(app)
        .post('/api/v1/subscriptions')
        .set(merchant.auth)
        .send({
          customerId: (
            await request(app)
              .post('/api/v1/customers')
              .set(merchant.auth)
              .send({ email: 'bo@example.com', name: 'Bo', shippingAddress: { line1: '2 Main St', city: 'Springfield', postalCode: '62701', country: 'US' } })
              .expect(201)
          ).body.id,
          planId: first.planId,
          variantId: first.variantIds[0],
          cadence: 'week-2',
          paymentMethodId: 'pm_card_visa',
        })
        .expect(201)
    ).body;
    expect(second.id).toBeDefined();
    await request(app).post('/api/v1/stock-items/DARK-ROAST/adjustments').set(merchant.auth).send({ adjustBy: 1, reason: 'last bag' }).expect(200);

    const browser = await signedIn(merchant);
    await forecastRefreshed(merchant);
    const page = await browser.get('/merchant/fulfilment');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<a href="/merchant/fulfilment" aria-current="page">Coming days</a>');
    // Today (Mon 2 March in New York): two boxes not built yet; the row of SKU DARK-ROAST: 2 needed, 1 available, 1 short.
    const today = /<th scope="row">Mon, Mar 2<\/th>\s*<td>0<\/td>\s*<td>0<\/td>\s*<td>0<\/td>\s*<td>2<\/td>\s*<td><strong>2<\/strong><\/td>/;
    expect(page.text).toMatch(today);
    expect(page.text).toMatch(
      /<tr class="short">\s*<th scope="row"><code>DARK-ROAST<\/code><\/th>\s*<td>[^<]*Dark<\/td>\s*<td>2<\/td>\s*<td>0<\/td>\s*<td>2<\/td>\s*<td>1<\/td>\s*<td><strong class="short-by">1 short<\/strong><\/td>/,
    );
    expect(page.text).toContain('1 SKU will be short.');

    // The first shopper's box is paid (built at payment, its unit reserved): still 1 short, now for the other box.
    await recordPaidInvoice(stripeDeps(), buildPaidInvoice(first.subscription.stripeSubscriptionId as string, clock.now(), 2400));
    await forecastRefreshed(merchant);
    const after = await browser.get('/merchant/fulfilment');
    expect(after.text).toMatch(/<th scope="row">Mon, Mar 2<\/th>\s*<td>0<\/td>\s*<td>1<\/td>\s*<td>0<\/td>\s*<td>1<\/td>\s*<td><strong>2<\/strong><\/td>/);
    expect(after.text).toMatch(
      /<code>DARK-ROAST<\/code><\/th>\s*<td>[^<]*<\/td>\s*<td>2<\/td>\s*<td>1<\/td>\s*<td>1<\/td>\s*<td>0<\/td>\s*<td><strong class="short-by">1 short<\/strong>/,
    );

    // Enough stock: nothing short, at once (the page reads the stock of the forecast's SKUs when shown).
    await request(app).post('/api/v1/stock-items/DARK-ROAST/adjustments').set(merchant.auth).send({ adjustBy: 5, reason: 'delivery' }).expect(200);
    const stocked = await browser.get('/merchant/fulfilment');
    expect(stocked.text).not.toContain('short-by');
    expect(stocked.text).toContain('Nothing will be short for the coming boxes.');
  });

  test("when a ship date has more boxes than a page, then the pick list's boxes come a page at a time and its totals still count them all", async () => {
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const shoppers = [await subscribeShopper(app, merchant, {}, 'month-1')];
    const planId = shoppers[0]!.planId;
    for (let i = 0; i < 2; i += 1) {
      const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
      const subscription = (
        await request(app)
          .post('/api/v1/subscriptions')
          .set(merchant.auth)
          .send({ customerId: customer.id, planId, variantId: shoppers[0]!.variantIds[0], cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
          .expect(201)
      ).body;
      shoppers.push({ ...shoppers[0]!, customerId: customer.id, subscription });
    }
    for (const shopper of shoppers) {
      await recordPaidInvoice(stripeDeps(), buildPaidInvoice(shopper.subscription.stripeSubscriptionId as string, clock.now(), 2600));
    }
    const whole = await buildPickList(merchant.id, '2026-03-02');
    expect(whole.orderCount).toBe(3);

    // A page of one box at a time: each box once, in the whole list's order, then no further page.
    const seen: string[] = [];
    const cursors: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 3; page += 1) {
      const { orders, nextAfter } = await pickListOrders(merchant.id, '2026-03-02', { limit: 1, after });
      expect(orders).toHaveLength(1);
      seen.push(orders[0]!.orderId);
      expect(nextAfter === null).toBe(page === 2);
      if (nextAfter) cursors.push(nextAfter);
      after = nextAfter ?? undefined;
    }
    expect(seen).toEqual(whole.orders.map((order) => order.orderId));
    // The totals are counted in the database, for every box of the day.
    expect(await pickListTotals(merchant.id, '2026-03-02')).toEqual({ orderCount: 3, skus: whole.skus });
    expect(whole.skus).toEqual([expect.objectContaining({ quantity: 3, shortQuantity: 0 })]);

    // The screen: a page starting after a box shows the boxes after it, and a link back to the first.
    const browser = await signedIn(merchant);
    const second = await browser.get(`/merchant/fulfilment/pick-list?shipOn=2026-03-02&after=${cursors[0]}`);
    expect(second.text).not.toContain(`<code>${seen[0]}</code>`);
    expect(second.text).toContain(`<code>${seen[1]}</code>`);
    expect(second.text).toContain('First 100 boxes');
    expect(second.text).toMatch(/Paid and packed boxes to ship that day: <strong>3<\/strong>/);
    // A cursor edited by hand shows the first page.
    expect((await browser.get('/merchant/fulfilment/pick-list?shipOn=2026-03-02&after=bm9wZQ')).text).toContain(`<code>${seen[0]}</code>`);
  });

  test("when the merchant opens a day's pick list, then the screen shows the service's lines and the CSV downloads are the API's, byte for byte", async () => {
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const shopper = await subscribeShopper(app, merchant, {}, 'month-1');
    await recordPaidInvoice(stripeDeps(), buildPaidInvoice(shopper.subscription.stripeSubscriptionId as string, clock.now(), 2600));
    const api = (await request(app).get('/api/v1/pick-list?shipOn=2026-03-02').set(merchant.auth).expect(200)).body;
    expect(api.orderCount).toBe(1);

    const browser = await signedIn(merchant);
    const page = await browser.get('/merchant/fulfilment/pick-list?shipOn=2026-03-02');
    expect(page.status).toBe(200);
    expect(page.text).toContain(api.orders[0].orderId);
    expect(page.text).toContain(`<code>${api.skus[0].sku}</code>`);
    expect(page.text).toContain(`href="/merchant/subscribers/${shopper.subscription.id}"`);
    for (const part of ['lines', 'totals']) {
      const fromApi = await request(app).get(`/api/v1/pick-list?shipOn=2026-03-02&format=csv&part=${part}`).set(merchant.auth).expect(200);
      const fromPage = await browser.agent.get(`/merchant/fulfilment/pick-list.csv?shipOn=2026-03-02&part=${part}`);
      expect(fromPage.status).toBe(200);
      expect(fromPage.text).toBe(fromApi.text);
      expect(fromPage.headers['content-type']).toBe(fromApi.headers['content-type']);
      expect(fromPage.headers['content-disposition']).toBe(fromApi.headers['content-disposition']);
    }
    // Today's is the default; a date that is not one is said beside the field, and a bad CSV query is a 400.
    expect((await browser.get('/merchant/fulfilment/pick-list')).text).toContain(api.orders[0].orderId);
    const bad = await browser.get('/merchant/fulfilment/pick-list?shipOn=2026-02-30');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Enter a date as YYYY-MM-DD');
    expect((await browser.agent.get('/merchant/fulfilment/pick-list.csv?shipOn=nope')).status).toBe(400);

    // Ticked boxes are packed, through the orders service, as the merchant.
    await browser.get('/merchant/fulfilment/pick-list?shipOn=2026-03-02');
    const packed = await browser.post('/merchant/fulfilment/pack', { orderId: api.orders[0].orderId, shipOn: '2026-03-02' });
    expect(packed.status).toBe(200);
    expect(packed.text).toMatch(/<strong>1<\/strong> box packed now, of 1 row/);
    expect((await request(app).get(`/api/v1/orders/${api.orders[0].orderId}`).set(merchant.auth).expect(200)).body.status).toBe('packed');
    const facts = await factsAbout({ subjectId: api.orders[0].orderId });
    expect(facts.find((f) => f.type === 'box.packed')?.actor).toMatchObject({ kind: 'merchant' });
    const none = await browser.post('/merchant/fulfilment/pack', { shipOn: '2026-03-02' });
    expect(none.status).toBe(400);
    expect(none.text).toContain('Tick the boxes to mark packed');
  });

  test('when 500 boxes are shipped from one pasted CSV with duplicates and bad rows, then each good row ships once, every row is reported, and sending it again ships nothing', async () => {
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const other = await createMerchant({}, clock);
    const ids = await boxesOf(merchant, 500);
    const [unpaid] = await boxesOf(merchant, 1, 'reserved');
    const [theirs] = await boxesOf(other, 1);
    const row = (id: string) =>
      `${id},UPS,1Z${id.slice(4, 20).toUpperCase()},https://www.ups.com/track?loc=en_US&tracknum=1Z${id.slice(4, 20).toUpperCase()}&requester=boxcycle&reference=${id}`;
    const lines = [
      'orderId,carrier,trackingNumber,trackingUrl',
      ...ids.map(row),
      ...ids.slice(0, 20).map(row), // duplicates
      `${ids[0]},DHL,999`, // a duplicate with other tracking: still the same box
      `${ids[1]},UPS`, // bad: no tracking number
      `${ids[2]},UPS,1Z1,javascript:alert(1)`, // bad: not an http(s) URL
      ',UPS,1Z2', // bad: no order id
      `${ids[3]},UPS,1Z3,https://ups.example/1,extra`, // bad: too many columns
      'ord_doesnotexist0000000,UPS,1Z4',
      `${theirs},UPS,1Z5`,
      `${unpaid},UPS,1Z6`,
    ];
    const csv = lines.join('\r\n');
    expect(Buffer.byteLength(new URLSearchParams({ rows: csv }).toString())).toBeGreaterThan(100 * 1024); // over the other pages' limit

    const browser = await signedIn(merchant);
    await browser.get('/merchant/fulfilment/ship');
    const first = await browser.post('/merchant/fulfilment/ship', { rows: csv, confirm: 'yes' });
    expect(first.status).toBe(200);
    const count = (text: string, outcome: string) => text.split(`<tr class="outcome-${outcome}">`).length - 1;
    expect(count(first.text, 'done')).toBe(500);
    expect(count(first.text, 'duplicate')).toBe(21);
    expect(count(first.text, 'bad_row')).toBe(4);
    expect(count(first.text, 'not_found')).toBe(2);
    expect(count(first.text, 'not_ready')).toBe(1);
    expect(first.text).toMatch(/<strong>500<\/strong> boxes shipped now, of 528 rows/);
    expect(first.text).toContain('a row needs the order id, the carrier and the tracking number');
    expect(first.text).toContain('the tracking URL must be an http(s) address');
    expect(first.text).toContain('the order id is missing');
    expect(first.text).toContain('a row has at most 4 columns');
    expect(first.text).toContain('The same box as line 2: applied once');
    expect(first.text).toContain('Not shipped: this box is not paid yet');

    expect(await BoxOrderModel.countDocuments({ merchantId: merchant.id, status: 'shipped' })).toBe(500);
    const shippedOnce = await BoxOrderModel.findById(ids[0]).lean();
    expect(shippedOnce!.history.filter((entry) => entry.status === 'shipped')).toHaveLength(1);
    expect(shippedOnce!.shipment).toMatchObject({ carrier: 'UPS', trackingNumber: `1Z${ids[0]!.slice(4, 20).toUpperCase()}` });
    expect((await factsAbout({ subjectId: ids[0] })).filter((f) => f.type === 'box.shipped')).toHaveLength(1);
    expect((await BoxOrderModel.findById(theirs).lean())!.status).toBe('paid'); // another store's box: not found, untouched
    expect((await BoxOrderModel.findById(unpaid).lean())!.status).toBe('reserved');

    const again = await browser.post('/merchant/fulfilment/ship', { rows: csv, confirm: 'yes' });
    expect(again.status).toBe(200);
    expect(count(again.text, 'done')).toBe(0);
    expect(count(again.text, 'already')).toBe(500);
    expect(again.text).toMatch(/<strong>0<\/strong> boxes shipped now, of 528 rows\.\s*500 already shipped: nothing changed\./);
    expect((await factsAbout({ subjectId: ids[0] })).filter((f) => f.type === 'box.shipped')).toHaveLength(1);
  });

  test('when the ship form is sent without confirming or without rows, then nothing ships and the form says why, keeping what was pasted', async () => {
    const merchant = await createMerchant({}, clock);
    const [id] = await boxesOf(merchant, 1);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/fulfilment/ship');
    const unconfirmed = await browser.post('/merchant/fulfilment/ship', { rows: `${id},UPS,1Z9` });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toContain('Tick this box to confirm');
    expect(unconfirmed.text).toContain(`${id},UPS,1Z9</textarea>`);
    const empty = await browser.post('/merchant/fulfilment/ship', { rows: '  ', confirm: 'yes' });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('Paste at least one row');
    expect((await BoxOrderModel.findById(id).lean())!.status).toBe('paid');
  });

  test('when the rows come as an uploaded CSV file, then they ship the same way; a file too large is a 413, a forged token a 403, a file with pasted rows a 400', async () => {
    const merchant = await createMerchant({}, clock);
    const [a, b] = await boxesOf(merchant, 2);
    const browser = await signedIn(merchant);
    const form = await browser.get('/merchant/fulfilment/ship');
    expect(form.text).toContain('enctype="multipart/form-data"');
    const token = /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!;
    const upload = (file: Buffer, fields: Record<string, string> = {}) => {
      let req = browser.agent.post('/merchant/fulfilment/ship').set('accept', 'text/html');
      for (const [name, value] of Object.entries({ _csrf: token, confirm: 'yes', ...fields })) req = req.field(name, value);
      return req.attach('file', file, { filename: 'tracking.csv', contentType: 'text/csv' });
    };
    const file = Buffer.from(`\uFEFFOrder ID,Carrier,Tracking number\r\n${a},USPS,9400100000000000000001\r\n${b},USPS,9400100000000000000002\r\n`);

    const both = await upload(file, { rows: `${a},UPS,1Z1` });
    expect(both.status).toBe(400);
    expect(both.text).toContain('Paste rows or choose a file, not both');
    const forged = await upload(file, { _csrf: 'forged' });
    expect(forged.status).toBe(403);
    const tooLarge = await upload(Buffer.alloc(1_100_000, 'x'));
    expect(tooLarge.status).toBe(413);
    expect((await BoxOrderModel.findById(a).lean())!.status).toBe('paid');

    const shipped = await upload(file);
    expect(shipped.status).toBe(200);
    expect(shipped.text).toMatch(/<strong>2<\/strong> boxes shipped now, of 2 rows/);
    expect((await BoxOrderModel.findById(b).lean())!.shipment).toMatchObject({ carrier: 'USPS', trackingNumber: '9400100000000000000002' });
    const again = await upload(file);
    expect(again.text).toMatch(/<strong>0<\/strong> boxes shipped now, of 2 rows\.\s*2 already shipped: nothing changed\./);
  });

  test('when shipped boxes are ticked as delivered, then they are delivered once; the held boxes page lists held ones with their subscriber', async () => {
    const merchant = await createMerchant({}, clock);
    const [a, b] = await boxesOf(merchant, 2);
    const [held] = await boxesOf(merchant, 1, 'held');
    const browser = await signedIn(merchant);
    await browser.get('/merchant/fulfilment/ship');
    await browser.post('/merchant/fulfilment/ship', { rows: `${a},UPS,1ZA\n${b},UPS,1ZB`, confirm: 'yes' });

    const list = await browser.get('/merchant/fulfilment/deliveries');
    expect(list.text).toContain(`value="${a}"`);
    expect(list.text).toContain(`value="${b}"`);
    const delivered = await browser.agent
      .post('/merchant/fulfilment/deliveries')
      .type('form')
      .send(
        `orderId=${a}&orderId=${a}&rows=${encodeURIComponent(`${b}\n${held}\nord_nope`)}&confirm=yes&_csrf=${/name="_csrf" value="([^"]+)"/.exec(list.text)![1]}`,
      );
    expect(delivered.status).toBe(200);
    expect(delivered.text).toMatch(/<strong>2<\/strong> boxes delivered now, of 5 rows/);
    expect(delivered.text).toContain('Not delivered: this box is held: its payment is failing');
    expect((await BoxOrderModel.findById(a).lean())!.status).toBe('delivered');
    const again = await browser.post('/merchant/fulfilment/deliveries', { rows: `${a}`, confirm: 'yes' });
    expect(again.text).toContain('Already delivered (UPS 1ZA): nothing changed');

    const attention = await browser.get('/merchant/fulfilment/attention');
    expect(attention.status).toBe(200);
    const heldSection = attention.text.split('<h2>Back-ordered')[0]!;
    expect(heldSection).toContain(`<code>${held}</code>`);
    const subscriptionId = (await BoxOrderModel.findById(held).lean())!.subscriptionId;
    expect(heldSection).toContain(`href="/merchant/subscribers/${subscriptionId}"`);
  });

  test('when a form carries a forged CSRF token, then it is refused with 403; signed out, the pages send to sign-in; another store sees none of it', async () => {
    const merchant = await createMerchant({}, clock);
    const [id] = await boxesOf(merchant, 1);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/fulfilment/ship');
    const forged = await browser.post('/merchant/fulfilment/ship', { rows: `${id},UPS,1Z9`, confirm: 'yes' }, { csrf: 'forged-token' });
    expect(forged.status).toBe(403);
    const noToken = await browser.post('/merchant/fulfilment/pack', { orderId: id! }, { csrf: null });
    expect(noToken.status).toBe(403);
    expect((await BoxOrderModel.findById(id).lean())!.status).toBe('paid');

    const stranger = pageClient(app);
    for (const path of [
      '/merchant/fulfilment',
      '/merchant/fulfilment/pick-list',
      '/merchant/fulfilment/ship',
      '/merchant/fulfilment/deliveries',
      '/merchant/fulfilment/attention',
    ]) {
      const res = await stranger.get(path);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/merchant/sign-in?next=${encodeURIComponent(path)}`);
    }
    expect((await stranger.agent.get('/merchant/fulfilment/pick-list.csv?shipOn=2026-03-02')).status).toBe(303);

    const otherStore = await signedIn(await createMerchant({}, clock));
    const theirList = await otherStore.get(`/merchant/fulfilment/pick-list?shipOn=2026-03-02`);
    expect(theirList.text).not.toContain(id);
    await otherStore.get('/merchant/fulfilment/pick-list');
    const packTheirs = await otherStore.post('/merchant/fulfilment/pack', { orderId: id! });
    expect(packTheirs.text).toContain('No box of your store has this id');
    expect((await BoxOrderModel.findById(id).lean())!.status).toBe('paid');
  });
});
