import { CustomerModel } from '../../../src/customers/customer.model';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { factsAbout } from '../../helpers/facts';
import { queuedMessages } from '../../helpers/messages';
import { pageClient } from '../../helpers/pages';
import { DEMO_HANDLE, demoStore, runWorker, signedInShopper, signInMailbox, subscribeOnStorefront } from '../../helpers/portal';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** The shopper's shipping address in the portal: shown, changed as theirs (confirmed by e-mail), undone. */
describe("the shopper's shipping address", () => {
  useTestDatabase();

  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const mailbox = signInMailbox();
  const { sendSignInMail } = mailbox;
  const testApp = buildTestApp({ clock, sendSignInMail });
  const { app } = testApp;
  const base = `/shop/${DEMO_HANDLE}`;
  const page = `${base}/account/address`;
  let planId: string;

  beforeAll(async () => {
    planId = (await demoStore(clock)).plans[0]!._id;
  });

  async function signedIn(email: string) {
    const { subscriptionId } = await subscribeOnStorefront(testApp, { email }, planId);
    const browser = await signedInShopper(app, mailbox, email);
    const customerId = (await SubscriptionModel.findById(subscriptionId).lean())!.customerId;
    return { browser, customerId };
  }

  const NEW = { line1: "12 O'Neil Lane", line2: 'Apt 4', city: 'Brooklyn', region: 'NY', postalCode: '11201', country: 'US' };

  test('when a shopper changes their address, then it is theirs (a fact by them, a confirmation e-mail), the receipt offers undo, and undo puts the old one back', async () => {
    const { browser, customerId } = await signedIn('moving@example.com');
    const before = (await CustomerModel.findById(customerId).lean())!.shippingAddress;
    const account = await browser.get(`${base}/account`);
    expect(account.text).toContain(`href="${page}">Change</a>`);
    const form = await browser.get(page);
    expect(form.status).toBe(200);
    expect(form.text).toContain(`value="${before.line1}"`);

    const saved = await browser.post(page, NEW);
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toMatch(new RegExp(`^${page}\\?done=cust_[0-9a-z]{20}%3A\\d{8}#receipt$`));
    expect((await CustomerModel.findById(customerId).lean())!.shippingAddress).toEqual(NEW);
    const receipt = await browser.get(saved.headers.location!);
    expect(receipt.text).toContain('Done: boxes not paid yet go to 12 O&#39;Neil Lane, Apt 4, 11201 Brooklyn, NY, United States');
    const changes = (await factsAbout({ subjectId: customerId })).filter((f) => f.type === 'customer.address_changed');
    expect(changes).toEqual([expect.objectContaining({ actor: { kind: 'shopper', id: customerId }, data: { from: before, to: NEW } })]);
    await runWorker(testApp);
    const [confirmation] = await queuedMessages({ customerId, template: 'subscription.changed' });
    expect(confirmation?.subject).toBe('Your shipping address is changed');

    // The same address again changes nothing and says so.
    const again = await browser.post(page, NEW);
    expect(again.headers.location).toBe(`${page}?unchanged=1#receipt`);
    expect((await factsAbout({ subjectId: customerId })).filter((f) => f.type === 'customer.address_changed')).toHaveLength(1);

    const undone = await browser.post(`${page}/undo`, { factId: changes[0]!._id });
    expect(undone.status).toBe(303);
    expect((await CustomerModel.findById(customerId).lean())!.shippingAddress).toEqual(before);
    expect((await browser.get(undone.headers.location!)).text).toContain('Your previous address is back.');
  });

  test('when the form is incomplete or forged, then it is refused beside the field or with 403, and nothing changes', async () => {
    const { browser, customerId } = await signedIn('careless@example.com');
    const before = (await CustomerModel.findById(customerId).lean())!.shippingAddress;
    await browser.get(page);
    const missing = await browser.post(page, { ...NEW, line1: '' });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('Enter your street and number');
    expect(missing.text).toContain('value="Brooklyn"');
    expect((await browser.post(page, { ...NEW, country: 'XX' })).status).toBe(400);
    expect((await browser.post(page, { ...NEW, extra: 'field' })).status).toBe(400);
    expect((await browser.post(page, NEW, { csrf: 'forged' })).status).toBe(403);
    expect((await CustomerModel.findById(customerId).lean())!.shippingAddress).toEqual(before);
  });

  test("when a shopper tries to undo someone else's address change, then nothing changes; signed out, the page asks to sign in", async () => {
    const ana = await signedIn('ana-addr@example.com');
    const bo = await signedIn('bo-addr@example.com');
    await bo.browser.get(page);
    await bo.browser.post(page, NEW);
    const boChange = (await factsAbout({ subjectId: bo.customerId })).find((f) => f.type === 'customer.address_changed')!;
    await ana.browser.get(page);
    expect((await ana.browser.post(`${page}/undo`, { factId: boChange._id })).status).toBe(400);
    expect((await CustomerModel.findById(bo.customerId).lean())!.shippingAddress).toEqual(NEW);
    const anonymous = await pageClient(app).get(page);
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.location).toBe(`${base}/sign-in?next=${encodeURIComponent(page)}`);
  });

  test('when a shopper sends only the next box elsewhere, then that box of that subscription goes there (theirs, with undo on its receipt) and their own address stays', async () => {
    const { browser, customerId } = await signedIn('holiday@example.com');
    const subscription = (await SubscriptionModel.findOne({ customerId }).lean())!;
    const own = (await CustomerModel.findById(customerId).lean())!.shippingAddress;
    const form = await browser.get(page);
    expect(form.text).toContain(`name="scope" value="${subscription._id}"`);
    const sent = await browser.post(page, { ...NEW, scope: subscription._id });
    expect(sent.status).toBe(303);
    const subscriptionPage = `${base}/subscriptions/${subscription._id}`;
    expect(sent.headers.location).toMatch(new RegExp(`^${subscriptionPage}\\?done=sub_[0-9a-z]{20}%3A\\d{8}#receipt$`));
    const receipt = await browser.get(sent.headers.location!);
    expect(receipt.text).toMatch(/Done: the box of [^<]+ was sent to 12 O&#39;Neil Lane, Brooklyn\./);
    expect(receipt.text).toContain('It goes to 12 O&#39;Neil Lane, Apt 4, 11201 Brooklyn, NY, United States (this box only).');
    expect((await CustomerModel.findById(customerId).lean())!.shippingAddress).toEqual(own);
    expect((await factsAbout({ subjectId: subscription._id })).at(-1)).toMatchObject({
      type: 'subscription.box_address_set',
      actor: { kind: 'shopper', id: customerId },
      data: { address: NEW },
    });

    await runWorker(testApp);
    const [told] = await queuedMessages({ customerId, template: 'subscription.changed', subject: 'Your box goes to another address' });
    expect(told?.text).toMatch(/Your box of .+ will go to: 12 O'Neil Lane, Apt 4, 11201, Brooklyn, NY, US\. The boxes after it go to your usual address\./);
    expect(told?.text).toContain('/a/'); // its undo link

    const factId = /name="factId" value="([^"]+)"/.exec(receipt.text)![1]!;
    expect((await browser.post(`${subscriptionPage}/undo`, { factId })).status).toBe(303);
    expect((await browser.get(subscriptionPage)).text).toContain('It goes to your address.');

    // Someone else's subscription as the scope: not found, nothing changes.
    const other = await signedIn('other-holiday@example.com');
    const theirs = (await SubscriptionModel.findOne({ customerId: other.customerId }).lean())!;
    await browser.get(page);
    expect((await browser.post(page, { ...NEW, scope: theirs._id })).status).toBe(404);
    expect((await factsAbout({ subjectId: theirs._id })).filter((f) => f.type === 'subscription.box_address_set')).toEqual([]);
  });
});
