import { LoyaltyAccountModel, LoyaltyEntryModel } from '../../../src/loyalty/loyalty.model';
import { putLoyaltyProgram } from '../../../src/loyalty/loyalty.service';
import { loyaltyAccountId } from '../../../src/loyalty/loyalty-standing.service';
import { MerchantModel } from '../../../src/merchants/merchant.model';
import type { Plan } from '../../../src/plans/plan.model';
import { hashPassword } from '../../../src/shared/password';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { factsAbout } from '../../helpers/facts';
import { pageClient } from '../../helpers/pages';
import { demoStore, signedInShopper, signInMailbox, subscribeOnStorefront } from '../../helpers/portal';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * The merchant's subscribers: the list (search by e-mail and name, each filter, the next page), a subscriber's
 * page, and the changes made for the shopper, each recorded as the merchant's; other stores' subscriptions and
 * shoppers' cookies open nothing; a forged form is refused; a bad input is said beside its field.
 */
describe("the merchant's subscribers pages", () => {
  useTestDatabase();
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const mailbox = signInMailbox();
  const testApp = buildTestApp({ clock, sendSignInMail: mailbox.sendSignInMail });
  const { app } = testApp;
  const password = 'correct horse battery staple';
  const email = 'demo@boxcycle.example';
  let merchantId: string;
  let coffee: Plan;
  let vitamins: Plan;
  const subs: Record<string, string> = {};

  beforeAll(async () => {
    const { merchant, plans } = await demoStore(clock);
    merchantId = merchant._id;
    [coffee, vitamins] = plans as [Plan, Plan];
    await MerchantModel.updateOne({ _id: merchantId }, { $set: { passwordHash: await hashPassword(password) } });
    subs.ana = (await subscribeOnStorefront(testApp, { email: 'ana.muller@example.com', name: 'Ana Müller' }, coffee._id)).subscriptionId;
    subs.bo = (await subscribeOnStorefront(testApp, { email: 'bo@example.com', name: 'Bo Jensen' }, vitamins._id)).subscriptionId;
    subs.cy = (await subscribeOnStorefront(testApp, { email: 'cy@example.com', name: 'Cy Twombly' }, coffee._id)).subscriptionId;
  });

  async function signedIn(as = { email, password }) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    const done = await browser.post('/merchant/sign-in', { email: as.email, password: as.password, next: '/merchant/subscribers' });
    expect(done.status).toBe(303);
    return browser;
  }

  const rowsOf = (html: string) => [...html.matchAll(/href="\/merchant\/subscribers\/(sub_[0-9a-z]{20})"/g)].map((m) => m[1]);

  test('when the merchant opens Subscribers, then every subscription is listed with its shopper, box, status, next charge and tenure', async () => {
    const browser = await signedIn();
    const list = await browser.get('/merchant/subscribers');
    expect(list.status).toBe(200);
    expect(list.text).toContain('<a href="/merchant/subscribers">Subscribers</a>');
    expect(rowsOf(list.text).sort()).toEqual([subs.ana, subs.bo, subs.cy].sort());
    expect(list.text).toContain('Ana Müller');
    expect(list.text).toContain('ana.muller@example.com');
    expect(list.text).toContain(coffee.name);
    expect(list.text).toContain('1 paid box · under a month');
  });

  test('when the merchant searches by e-mail or by name (any word, any case, accents or not), then only the matching shoppers are listed', async () => {
    const browser = await signedIn();
    expect(rowsOf((await browser.get('/merchant/subscribers?q=BO%40exam')).text)).toEqual([subs.bo]);
    expect(rowsOf((await browser.get('/merchant/subscribers?q=muller')).text)).toEqual([subs.ana]);
    expect(rowsOf((await browser.get('/merchant/subscribers?q=ana%20m%C3%BC')).text)).toEqual([subs.ana]);
    expect(rowsOf((await browser.get('/merchant/subscribers?q=twom')).text)).toEqual([subs.cy]);
    const none = await browser.get('/merchant/subscribers?q=nobody');
    expect(rowsOf(none.text)).toEqual([]);
    expect(none.text).toContain('No subscriptions match.');
    // A regex in the search is text, not a pattern.
    expect((await browser.get('/merchant/subscribers?q=.*')).status).toBe(200);
    expect(rowsOf((await browser.get('/merchant/subscribers?q=.*')).text)).toEqual([]);
  });

  test('when the merchant filters by status, plan, tier and tenure, then each narrows the list', async () => {
    const browser = await signedIn();
    await SubscriptionModel.updateOne({ _id: subs.cy }, { $set: { status: 'paused' } });
    try {
      expect(rowsOf((await browser.get('/merchant/subscribers?status=paused')).text)).toEqual([subs.cy]);
      expect(rowsOf((await browser.get(`/merchant/subscribers?plan=${vitamins._id}`)).text)).toEqual([subs.bo]);
      expect(rowsOf((await browser.get(`/merchant/subscribers?plan=${coffee._id}&status=active`)).text)).toEqual([subs.ana]);
    } finally {
      await SubscriptionModel.updateOne({ _id: subs.cy }, { $set: { status: 'active' } });
    }
    // Tenure: Bo started 14 months ago.
    const fourteenMonthsAgo = new Date('2025-03-01T12:00:00Z');
    const bo = (await SubscriptionModel.findById(subs.bo).lean())!;
    await SubscriptionModel.collection.updateOne({ _id: subs.bo as never }, { $set: { createdAt: fourteenMonthsAgo } });
    try {
      expect(rowsOf((await browser.get('/merchant/subscribers?tenure=over-12')).text)).toEqual([subs.bo]);
      expect(rowsOf((await browser.get('/merchant/subscribers?tenure=under-3')).text).sort()).toEqual([subs.ana, subs.cy].sort());
      expect(rowsOf((await browser.get('/merchant/subscribers?tenure=3-12')).text)).toEqual([]);
    } finally {
      await SubscriptionModel.collection.updateOne({ _id: subs.bo as never }, { $set: { createdAt: bo.createdAt } });
    }
    // Tier: Ana holds gold.
    const ana = (await SubscriptionModel.findById(subs.ana).lean())!;
    await LoyaltyAccountModel.create({
      _id: loyaltyAccountId(merchantId, ana.customerId),
      merchantId,
      customerId: ana.customerId,
      tierKey: 'gold',
      tierSince: clock.now(),
      tierHistory: [],
      createdAt: clock.now(),
    });
    expect(rowsOf((await browser.get('/merchant/subscribers?tier=gold')).text)).toEqual([subs.ana]);
    expect(rowsOf((await browser.get('/merchant/subscribers?tier=gold&q=bo')).text)).toEqual([]);
    expect(rowsOf((await browser.get('/merchant/subscribers?tier=silver')).text)).toEqual([]);
  });

  test('when there are more subscriptions than a page, then the next page continues where the first ended, with none twice', async () => {
    const other = await createMerchant({ name: 'Many Beans' }, clock);
    const made: string[] = [];
    for (let i = 0; i < 27; i += 1) {
      made.push((await subscribeShopper(app, other)).subscription.id);
      clock.advance(1000);
    }
    const browser = await signedIn(other);
    const first = await browser.get('/merchant/subscribers');
    const firstRows = rowsOf(first.text);
    expect(firstRows).toHaveLength(25);
    const next = /href="([^"]+after=[^"]+)" rel="next"/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = await browser.get(next);
    const secondRows = rowsOf(second.text);
    expect(secondRows).toHaveLength(2);
    expect(new Set([...firstRows, ...secondRows])).toEqual(new Set(made));
    expect(second.text).not.toContain('rel="next"');
    // A cursor edited by hand shows the first page, never a 5xx.
    expect((await browser.get('/merchant/subscribers?after=bm90LWEtY3Vyc29y')).status).toBe(200);
  });

  test('when the merchant opens a subscriber, then the page shows the shopper, the subscription, the next box, the timeline, orders and messages sent', async () => {
    const browser = await signedIn();
    const page = await browser.get(`/merchant/subscribers/${subs.ana}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Ana Müller');
    expect(page.text).toContain('ana.muller@example.com');
    expect(page.text).toContain('1 Main St');
    expect(page.text).toContain(coffee.name);
    expect(page.text).toMatch(/<h2 id="next-box">|<h2 id="next-h">Next box<\/h2>/);
    expect(page.text).toContain('Charged on');
    // The timeline, worded for the merchant: the shopper subscribed, Stripe took the payment.
    expect(page.text).toMatch(/<strong>(The shopper|Stripe)<\/strong>/);
    // The paid first box and the confirmation sent to the shopper.
    expect(page.text).toMatch(/<td>paid<\/td>|<td>packed<\/td>/);
    expect(page.text).toContain('<h2 id="messages-h">Messages sent</h2>');
    expect(page.text).not.toContain('No messages.');
  });

  test('when the merchant skips, brings back, pauses, resumes, swaps, cancels and reactivates for the shopper, then each ends on a receipt and is recorded as done by the merchant', async () => {
    const browser = await signedIn();
    const base = `/merchant/subscribers/${subs.cy}`;
    const page = await browser.get(base);
    const cycleKey = /name="cycleKey" value="(\d{4}-\d{2}-\d{2})"/.exec(page.text)![1]!;
    const expectReceipt = async (path: string, fields: Record<string, string>, type: string) => {
      const done = await browser.post(`${base}/${path}`, fields);
      expect(done.status).toBe(303);
      expect(done.headers.location).toMatch(new RegExp(`^${base}\\?done=`));
      const receipt = await browser.get(done.headers.location as string);
      expect(receipt.text).toContain('id="receipt"');
      const facts = await factsAbout({ subjectId: subs.cy });
      const last = facts.at(-1)!;
      expect(last.type).toBe(type);
      expect(last.actor.kind).toBe('merchant');
    };
    await expectReceipt('skip', { cycleKey }, 'subscription.skipped');
    await expectReceipt('unskip', { cycleKey }, 'subscription.unskipped');
    await expectReceipt('pause', { how: 'cycles', cycles: '2' }, 'subscription.paused');
    await expectReceipt('resume', {}, 'subscription.resumed');
    const cy = (await SubscriptionModel.findById(subs.cy).lean())!;
    const otherVariant = coffee.variants.find((v) => v.status === 'active' && v._id !== cy.box.variantId)!;
    await expectReceipt('swap', { variantId: otherVariant._id }, 'subscription.swapped');
    expect((await browser.get(`${base}/cancel`)).text).toContain('Yes, cancel this subscription for the shopper');
    await expectReceipt(
      'cancel',
      { mode: 'period_end', reason: 'too_expensive', comment: 'asked by phone', confirm: 'yes' },
      'subscription.cancellation_scheduled',
    );
    await expectReceipt('reactivate', {}, 'subscription.reactivated');
    // The merchant reads their own changes as "You".
    expect((await browser.get(base)).text).toContain('<strong>You</strong>');
  });

  test('when the merchant adjusts points with a reason, then the ledger has the adjustment (once, even if pressed twice) and the page says so', async () => {
    await putLoyaltyProgram(clock, merchantId, {
      enabled: true,
      pointsPerUnit: 1,
      redemption: { points: 100, creditMinor: 500 },
      autoApply: false,
      expiry: null,
      tierBasis: 'paid_boxes',
      tiers: [],
    });
    const browser = await signedIn();
    const base = `/merchant/subscribers/${subs.bo}`;
    const page = await browser.get(base);
    const attempt = /name="attempt" value="([^"]+)"/.exec(page.text)![1]!;
    const done = await browser.post(`${base}/points`, { points: '50', reason: 'Sorry for the late box', attempt });
    expect(done.status).toBe(303);
    expect(done.headers.location).toMatch(/\?adjusted=lye_/);
    const receipt = await browser.get(done.headers.location as string);
    expect(receipt.text).toContain('50 points added (Sorry for the late box)');
    await browser.post(`${base}/points`, { points: '50', reason: 'Sorry for the late box', attempt });
    const bo = (await SubscriptionModel.findById(subs.bo).lean())!;
    const adjustments = await LoyaltyEntryModel.find({ merchantId, customerId: bo.customerId, kind: 'adjust' }).lean();
    expect(adjustments.map((entry) => [entry.points, entry.description])).toEqual([[50, 'Sorry for the late box']]);
    // Recorded as the merchant's, once, on the subscription's timeline.
    const facts = (await factsAbout({ customerId: bo.customerId })).filter((f) => f.type === 'loyalty.points_adjusted');
    expect(facts.map((f) => [f.actor.kind, f.subscriptionId, f.data])).toEqual([['merchant', subs.bo, { points: 50, reason: 'Sorry for the late box' }]]);
  });

  test('when a form has a bad value (unknown reason, points not a number, no confirmation), then it answers 400 beside the field, never a 5xx', async () => {
    const browser = await signedIn();
    const base = `/merchant/subscribers/${subs.ana}`;
    await browser.get(base);
    const points = await browser.post(`${base}/points`, { points: 'lots', reason: 'x', attempt: 'abcdefgh12' });
    expect(points.status).toBe(400);
    expect(points.text).toContain('id="points-error">Type a whole number of points');
    const pause = await browser.post(`${base}/pause`, { how: 'cycles', cycles: '99' });
    expect(pause.status).toBe(400);
    expect(pause.text).toContain('id="cycles-error">Choose from 1 to 12 boxes');
    await browser.get(`${base}/cancel`);
    const reason = await browser.post(`${base}/cancel`, { mode: 'now', reason: 'no_such_reason', confirm: 'yes' });
    expect(reason.status).toBe(400);
    expect(reason.text).toContain('id="reason-error">Choose one of your reasons');
    const unconfirmed = await browser.post(`${base}/cancel`, { mode: 'now', reason: 'too_expensive' });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toContain('id="confirm-error">Tick the box to confirm');
    const swap = await browser.post(`${base}/swap`, { variantId: 'var_nope' });
    expect(swap.status).toBe(400);
    const extra = await browser.post(`${base}/resume`, { sneaky: '1' });
    expect(extra.status).toBe(400);
    const list = await browser.get('/merchant/subscribers?status=gone');
    expect(list.status).toBe(400);
    expect(list.text).toContain('id="status-error"');
    expect((await SubscriptionModel.findById(subs.ana).lean())!.cancellation).toBeUndefined();
  });

  test("when another merchant or a shopper's portal cookie asks for these pages, or a form is forged, then nothing opens and nothing changes", async () => {
    const stranger = await createMerchant({ name: 'Other Beans' }, clock);
    const theirs = await signedIn(stranger);
    expect((await theirs.get(`/merchant/subscribers/${subs.ana}`)).status).toBe(404);
    expect((await theirs.get(`/merchant/subscribers/${subs.ana}/cancel`)).status).toBe(404);
    expect((await theirs.post(`/merchant/subscribers/${subs.ana}/resume`, {})).status).toBe(404);
    expect((await theirs.get('/merchant/subscribers/sub_nope')).status).toBe(404);
    expect(rowsOf((await theirs.get('/merchant/subscribers?q=ana')).text)).toEqual([]);

    const shopper = await signedInShopper(app, mailbox, 'ana.muller@example.com');
    const asShopper = await shopper.get(`/merchant/subscribers/${subs.ana}`);
    expect(asShopper.status).toBe(303);
    expect(asShopper.headers.location).toContain('/merchant/sign-in');
    expect((await shopper.get('/merchant/subscribers')).status).toBe(303);

    const browser = await signedIn();
    const page = await browser.get(`/merchant/subscribers/${subs.ana}`);
    const cycleKey = /name="cycleKey" value="(\d{4}-\d{2}-\d{2})"/.exec(page.text)![1]!;
    const before = (await factsAbout({ subjectId: subs.ana })).length;
    expect((await browser.post(`/merchant/subscribers/${subs.ana}/skip`, { cycleKey }, { csrf: 'forged' })).status).toBe(403);
    expect((await browser.post(`/merchant/subscribers/${subs.ana}/skip`, { cycleKey }, { csrf: null })).status).toBe(403);
    expect((await factsAbout({ subjectId: subs.ana })).length).toBe(before);
  });
});
