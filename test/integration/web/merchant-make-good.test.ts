import { LoyaltyEntryModel } from '../../../src/loyalty/loyalty.model';
import { putLoyaltyProgram } from '../../../src/loyalty/loyalty.service';
import { MerchantModel } from '../../../src/merchants/merchant.model';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import type { Plan } from '../../../src/plans/plan.model';
import { MakeGoodGrantModel, MakeGoodModel } from '../../../src/retention/make-good.model';
import { newId } from '../../../src/shared/ids';
import { hashPassword } from '../../../src/shared/password';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { createMerchant } from '../../factories/merchant.factory';
import { factsAbout } from '../../helpers/facts';
import { pageClient } from '../../helpers/pages';
import { demoStore, signedInShopper, signInMailbox, subscribeOnStorefront } from '../../helpers/portal';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * Making good a mistake from the merchant's pages: the form, the preview of the affected boxes, the confirmed
 * send and its report per subscriber; a second send gives nobody anything twice; refusals beside their fields;
 * other stores, shoppers and forged forms open and change nothing.
 */
describe("the merchant's make-good pages", () => {
  useTestDatabase();
  const clock = new FakeClock('2026-04-22T14:00:00Z');
  const mailbox = signInMailbox();
  const testApp = buildTestApp({ clock, sendSignInMail: mailbox.sendSignInMail });
  const { app } = testApp;
  const password = 'correct horse battery staple';
  const email = 'demo@boxcycle.example';
  const SHIP_ON = '2026-04-20';
  let merchantId: string;
  const subs: Record<string, string> = {};

  beforeAll(async () => {
    const { merchant, plans } = await demoStore(clock);
    merchantId = merchant._id;
    const [coffee] = plans as [Plan];
    await MerchantModel.updateOne({ _id: merchantId }, { $set: { passwordHash: await hashPassword(password) } });
    await putLoyaltyProgram(clock, merchantId, {
      enabled: true,
      pointsPerUnit: 1,
      redemption: { points: 100, creditMinor: 500 },
      autoApply: false,
      expiry: null,
      tierBasis: 'paid_boxes',
      tiers: [],
    });
    subs.ana = (await subscribeOnStorefront(testApp, { email: 'ana.muller@example.com', name: 'Ana Müller' }, coffee._id)).subscriptionId;
    subs.bo = (await subscribeOnStorefront(testApp, { email: 'bo@example.com', name: 'Bo Jensen' }, coffee._id)).subscriptionId;
    for (const id of [subs.ana, subs.bo]) {
      const subscription = (await SubscriptionModel.findById(id).lean())!;
      await BoxOrderModel.create({
        _id: newId('ord'),
        merchantId,
        subscriptionId: id,
        customerId: subscription.customerId,
        planId: coffee._id,
        cycleKey: '2026-04-20-x',
        shipOn: SHIP_ON,
        status: 'shipped',
        lines: [{ kind: 'plan', description: 'Coffee', sku: 'MG-SKU', quantity: 1, unitAmountMinor: 2600, amountMinor: 2600, stock: 'consumed' }],
        omittedLines: [],
        amountDueMinor: 2600,
        amountPaidMinor: 2600,
        currency: 'USD',
        shippingAddress: { line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
        amountRefundedMinor: 0,
        creditNotes: [],
        history: [{ status: 'shipped', at: clock.now() }],
        paidAt: clock.now(),
        createdAt: clock.now(),
      });
    }
  });

  async function signedIn(as = { email, password }) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    const done = await browser.post('/merchant/sign-in', { email: as.email, password: as.password, next: '/merchant' });
    expect(done.status).toBe(303);
    return browser;
  }

  /** The form's fields as the page fills them, with changes. */
  async function formFields(browser: Awaited<ReturnType<typeof signedIn>>, changes: Record<string, string>) {
    const page = await browser.get('/merchant/fulfilment/make-good');
    expect(page.status).toBe(200);
    const value = (name: string) => new RegExp(`name="${name}"[^>]* value="([^"]*)"`).exec(page.text)?.[1] ?? '';
    return {
      attempt: value('attempt'),
      fromOn: value('fromOn'),
      toOn: value('toOn'),
      sku: '',
      planId: '',
      kind: 'points',
      points: '',
      amount: '',
      currency: value('currency'),
      addonId: '',
      quantity: '1',
      subject: 'Sorry about your April box',
      body: 'The beans were stale.\n\nThat is on us.',
      ...changes,
    };
  }

  const cells = (html: string) =>
    [...html.matchAll(/<tr class="outcome-(\w+)">\s*<td><a href="\/merchant\/subscribers\/(sub_[0-9a-z]+)">/g)].map((m) => [m[2], m[1]]);

  test('when the merchant picks the boxes by ship date, checks the preview and confirms, then each subscriber gets the points once and the report says so; sending again gives nothing twice', async () => {
    const browser = await signedIn();
    const fulfilment = await browser.get('/merchant/fulfilment');
    expect(fulfilment.text).toContain('href="/merchant/fulfilment/make-good"');

    const fields = await formFields(browser, { fromOn: SHIP_ON, toOn: SHIP_ON, points: '150' });
    expect(fields.currency).toBe('USD');
    const made = await browser.post('/merchant/fulfilment/make-good', fields);
    expect(made.status).toBe(303);
    const previewPath = made.headers.location as string;
    expect(previewPath).toMatch(/^\/merchant\/fulfilment\/make-good\/mkg_[0-9a-z]{20}$/);
    // The same form sent twice is the same make-good.
    expect((await browser.post('/merchant/fulfilment/make-good', fields)).headers.location).toBe(previewPath);

    const preview = await browser.get(previewPath);
    expect(preview.status).toBe(200);
    expect(preview.text).toMatch(/<strong>2<\/strong> boxes of <strong>2<\/strong> subscribers/);
    expect(preview.text).toContain('150 loyalty points');
    expect(preview.text).toContain(`href="/merchant/subscribers/${subs.ana}"`);

    const unconfirmed = await browser.post(`${previewPath}/send`, {});
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toMatch(/id="confirm-error">Tick this box to confirm/);
    expect(await MakeGoodGrantModel.countDocuments({})).toBe(0);

    const sent = await browser.post(`${previewPath}/send`, { confirm: 'yes' });
    expect(sent.status).toBe(303);
    expect(sent.headers.location).toBe(`${previewPath}/report#receipt`);
    const report = await browser.get(`${previewPath}/report`);
    expect(report.text).toMatch(/gave it to <strong>2<\/strong> subscribers now/);
    expect(cells(report.text).sort()).toEqual(
      [
        [subs.ana, 'given'],
        [subs.bo, 'given'],
      ].sort(),
    );
    expect(report.text).toContain('Ana Müller');

    await browser.get(previewPath);
    expect((await browser.post(`${previewPath}/send`, { confirm: 'yes' })).status).toBe(303);
    const again = await browser.get(`${previewPath}/report`);
    expect(again.text).toContain('2 had it already: nothing was given twice.');
    expect(cells(again.text).map((c) => c[1])).toEqual(['already_given', 'already_given']);
    const entries = (await LoyaltyEntryModel.find({ merchantId }).lean()).filter((e) => e.source.includes('make-good:'));
    expect(entries.map((e) => e.points)).toEqual([150, 150]);
    const given = (await factsAbout({ subscriptionId: subs.ana })).filter((f) => f.type === 'make_good.given');
    expect(given).toHaveLength(1);
    expect(given[0]!.actor.kind).toBe('merchant');
    // The subscriber's page shows it on the timeline.
    const subscriber = await browser.get(`/merchant/subscribers/${subs.ana}`);
    expect(subscriber.text).toContain('<strong>You</strong>: The store apologised (&#34;Sorry about your April box&#34;) and gave 150 points.');
    // The form sent again after it went out opens its report.
    const resent = await browser.post('/merchant/fulfilment/make-good', fields);
    expect(resent.headers.location).toBe(`${previewPath}/report`);
  });

  test('when the form is filled wrongly, then each refusal is said beside its field with what was typed kept, and nothing is made', async () => {
    const browser = await signedIn();
    const before = await MakeGoodModel.countDocuments({});
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ kind: 'credit', amount: '' }, 'amount', /Type the amount of credit/],
      [{ kind: 'credit', amount: '5.123' }, 'amount', /Type an amount such as 24\.00/],
      [{ kind: 'points', points: 'lots' }, 'points', /whole number of points/],
      [{ fromOn: '2026-04-20', toOn: '2026-04-01', points: '5' }, 'toOn', /The last ship date must be on or after the first ship date/],
      [{ fromOn: '20/04/2026', points: '5' }, 'fromOn', /./],
      [{ kind: 'free_addon', addonId: '' }, 'addonId', /Choose the extra to give/],
      [{ kind: 'free_addon', addonId: 'addon_nope' }, 'addonId', /The extra is not one of your extras on sale/],
      [{ planId: 'plan_nope', points: '5' }, 'planId', /The plan is not one of your plans/],
      [{ kind: 'credit', amount: '5.00', currency: 'EUR' }, 'amount', /must be USD/],
      [{ kind: 'gold', points: '5' }, 'kind', /Choose what to give/],
      [{ subject: '', points: '5' }, 'subject', /Write a subject/],
    ];
    for (const [changes, field, message] of cases) {
      const res = await browser.post('/merchant/fulfilment/make-good', await formFields(browser, changes));
      expect([res.status, field]).toEqual([400, field]);
      expect(new RegExp(`id="${field.replace('.', '\\.')}-error">([^<]*)<`).exec(res.text)?.[1]).toMatch(message);
    }
    const extra = await browser.post('/merchant/fulfilment/make-good', { ...(await formFields(browser, { points: '5' })), admin: 'yes' });
    expect(extra.status).toBe(400);
    expect(extra.text).toContain('This form has fields it should not have.');
    const typed = await browser.post('/merchant/fulfilment/make-good', await formFields(browser, { points: 'lots', subject: 'O’Neil & <co>' }));
    expect(typed.text).toContain('value="O’Neil &amp; &lt;co&gt;"');
    expect(await MakeGoodModel.countDocuments({})).toBe(before);
  });

  test("when another store, a shopper's portal cookie or a forged form asks, then nothing opens and nothing is sent", async () => {
    const browser = await signedIn();
    const made = await browser.post('/merchant/fulfilment/make-good', await formFields(browser, { fromOn: SHIP_ON, toOn: SHIP_ON, points: '20' }));
    const path = made.headers.location as string;
    await browser.get(path);
    expect((await browser.post(`${path}/send`, { confirm: 'yes' }, { csrf: 'forged' })).status).toBe(403);
    expect((await browser.post(`${path}/send`, { confirm: 'yes' }, { csrf: null })).status).toBe(403);

    const stranger = await createMerchant({ name: 'Other Beans' }, clock);
    const theirs = await signedIn({ email: stranger.email, password: stranger.password });
    await theirs.get('/merchant/fulfilment/make-good');
    for (const p of [path, `${path}/report`, '/merchant/fulfilment/make-good/mkg_nope', '/merchant/fulfilment/make-good/mkg_aaaaaaaaaaaaaaaaaaaa/report']) {
      expect([p, (await theirs.get(p)).status]).toEqual([p, 404]);
    }
    expect((await theirs.post(`${path}/send`, { confirm: 'yes' })).status).toBe(404);
    // Their "Change" link to our make-good opens an empty form of their own.
    expect((await theirs.get(`/merchant/fulfilment/make-good?from=${path.split('/').at(-1)}`)).text).not.toContain('Sorry about your April box');

    const shopper = await signedInShopper(app, mailbox, 'ana.muller@example.com');
    for (const p of ['/merchant/fulfilment/make-good', path, `${path}/report`]) {
      const res = await shopper.get(p);
      expect(res.status).toBe(303);
      expect(res.headers.location).toContain('/merchant/sign-in');
    }
    const shopperSend = await shopper.post(`${path}/send`, { confirm: 'yes' });
    expect(shopperSend.status).toBe(303);
    expect(shopperSend.headers.location).toContain('/merchant/sign-in');
    const signedOut = await pageClient(app).get(path);
    expect(signedOut.headers.location).toBe(`/merchant/sign-in?next=${encodeURIComponent(path)}`);

    const id = path.split('/').at(-1)!;
    expect(await MakeGoodGrantModel.countDocuments({ makeGoodId: id })).toBe(0);
  });
});
