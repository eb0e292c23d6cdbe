import { paymentDetailsOf } from '../../../src/customers/customer.queries';
import { recordCustomerCard } from '../../../src/customers/customer.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway, type StripeGateway } from '../../../src/stripe/stripe-gateway';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { simulatedId } from '../../../src/web/shop/stripe-simulation';
import { WebhookEventModel } from '../../../src/webhooks/webhook-event.model';
import { pageClient } from '../../helpers/pages';
import { DEMO_HANDLE, demoStore, runWorker, signedInShopper, signInMailbox, subscribeOnStorefront } from '../../helpers/portal';
import { renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp, recordStripeCalls, type TestApp } from '../../helpers/test-app';
import { testConfig, testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * The portal's Payment page: the card on file (and when it expires), the pay-now banner while a payment is
 * owed, and "update card" — through Stripe's billing portal (its payment-method flow) with a real key, and
 * offline through the card-update simulation, which sends Stripe's `payment_method.attached` through the
 * webhook path, so the card on file changes by the same code as in production.
 */
describe("the shopper's portal: Payment", () => {
  useTestDatabase();

  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const mailbox = signInMailbox();
  const { sendSignInMail } = mailbox;
  const testApp = buildTestApp({ clock, sendSignInMail });
  const base = `/shop/${DEMO_HANDLE}`;
  let merchantId: string;
  let planId: string;
  let ana: string;
  let bo: string;

  beforeAll(async () => {
    const { merchant, plans } = await demoStore(clock);
    merchantId = merchant._id;
    planId = plans[0]!._id;
    ana = (await subscribeOnStorefront(testApp, { email: 'ana@example.com' }, plans[0]!._id)).subscriptionId;
    bo = (await subscribeOnStorefront(testApp, { email: 'bo@example.com' }, plans[0]!._id)).subscriptionId;
  });

  const signedIn = (app: TestApp['app'], email: string) => signedInShopper(app, mailbox, email);

  const customerOf = async (subscriptionId: string) => (await SubscriptionModel.findById(subscriptionId).lean())!.customerId;
  const paymentPath = (subscriptionId: string) => `${base}/subscriptions/${subscriptionId}/payment`;
  const textOf = (html: string) =>
    html
      .replace(/<[^>]+>/g, ' ')
      .replace(/&#39;|’/g, "'")
      .replace(/\s+/g, ' ');

  test('when signed out, then the payment page sends to the sign-in page and back', async () => {
    const res = await pageClient(testApp.app).get(paymentPath(ana));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${base}/sign-in?next=${encodeURIComponent(paymentPath(ana))}`);
  });

  test("when another shopper's subscription, or no subscription, is asked for, then the answer is 404 and nothing is sent", async () => {
    const browser = await signedIn(testApp.app, 'ana@example.com');
    expect((await browser.get(paymentPath(ana))).status).toBe(200); // her own
    expect((await browser.get(paymentPath(bo))).status).toBe(404);
    expect((await browser.get(paymentPath('sub_00000000000000000000'))).status).toBe(404);
    expect((await browser.get(paymentPath('nonsense'))).status).toBe(404);
    await browser.get(paymentPath(ana)); // a form token of Ana's own
    expect((await browser.post(`${paymentPath(bo)}/card`, {})).status).toBe(404);
    expect((await browser.get(`${paymentPath(bo)}/card-simulation`)).status).toBe(404);
    expect((await browser.post(`${paymentPath(bo)}/card-simulation`, { card: 'visa' })).status).toBe(404);
    expect(testApp.queued).toEqual([]);
  });

  test('when the shopper has no card, then the page says so; a card on file shows its brand, last 4 and expiry, and says plainly when it expires soon or has expired', async () => {
    const browser = await signedIn(testApp.app, 'bo@example.com');
    const before = await browser.get(paymentPath(bo));
    expect(before.status).toBe(200);
    expect(textOf(before.text)).toContain('No card on file yet.');
    expect(before.text).toContain(`<form method="post" action="${paymentPath(bo)}/card" class="stack">`);
    expect(before.text).toMatch(/name="_csrf" value="[^"]+"/);
    expect(before.text).toContain('<a href="' + paymentPath(bo) + '" aria-current="page">Payment</a>');

    const customerId = await customerOf(bo);
    let seen = 0;
    const cardOnFile = async (expMonth: number, expYear: number) => {
      seen += 1;
      const card = {
        stripePaymentMethodId: `pm_bo${seen}`,
        brand: 'visa',
        last4: '1881',
        expMonth,
        expYear,
        seenAt: new Date(clock.now().getTime() + seen * 1000),
      };
      await recordCustomerCard({ merchantId, customerId }, card, { replaces: true });
      return textOf((await browser.get(paymentPath(bo))).text);
    };

    const fine = await cardOnFile(12, 2030);
    expect(fine).toContain('Visa ending 1881');
    expect(fine).toContain('Expires at the end of December 2030.');
    expect(fine).not.toMatch(/expires soon|expired/);

    // May 2026 now: a card that ends in June expires soon.
    expect(await cardOnFile(6, 2026)).toContain('This card expires soon, at the end of June 2026.');
    // It ended in April: expired.
    expect(await cardOnFile(4, 2026)).toContain('This card expired at the end of April 2026: it cannot pay for your boxes.');
    // It works to the end of this month.
    expect(await cardOnFile(5, 2026)).toContain('This card expires soon, at the end of May 2026.');
  });

  test('when the shopper updates the card offline, then the simulation sends payment_method.attached through the webhook path and the new card is on file', async () => {
    const browser = await signedIn(testApp.app, 'ana@example.com');
    expect(textOf((await browser.get(paymentPath(ana))).text)).toContain('No card on file yet.');

    const pressed = await browser.post(`${paymentPath(ana)}/card`, {});
    expect(pressed.status).toBe(303);
    expect(pressed.headers.location).toBe(`${paymentPath(ana)}/card-simulation`);
    const customerId = await customerOf(ana);
    const stripeCustomerId = (await paymentDetailsOf(merchantId, customerId))!.stripeCustomerId;
    expect(stripeCustomerId).toMatch(/^cus_/);

    const simulation = await browser.get(`${paymentPath(ana)}/card-simulation`);
    expect(simulation.status).toBe(200);
    expect(simulation.text).toContain('<strong>Simulation.</strong>');
    expect(simulation.text).toContain('value="visa"');
    expect(simulation.text).toContain('value="mastercard"');

    // No choice, or one not offered: refused beside the field, nothing sent.
    const none = await browser.post(`${paymentPath(ana)}/card-simulation`, {});
    expect(none.status).toBe(400);
    expect(none.text).toContain('<p class="field-error" id="card-error">Choose a test card</p>');
    expect((await browser.post(`${paymentPath(ana)}/card-simulation`, { card: 'amex' })).status).toBe(400);
    expect((await browser.post(`${paymentPath(ana)}/card-simulation`, { card: 'visa', number: '4242424242424242' })).status).toBe(400);
    expect(testApp.queued).toEqual([]);

    const saved = await browser.post(`${paymentPath(ana)}/card-simulation`, { card: 'mastercard' });
    expect(saved.status).toBe(303);
    const paymentMethodId = /updated=(pm_[0-9a-z]+)$/.exec(saved.headers.location as string)![1]!;
    expect(saved.headers.location).toBe(`${paymentPath(ana)}?updated=${paymentMethodId}`);
    // Stripe's event is in the inbox, queued for the worker; until it runs, the page says the card is on its way.
    const event = await WebhookEventModel.findOne({ type: 'payment_method.attached' }).lean();
    expect(event).toMatchObject({ state: 'pending' });
    expect((event!.payload as { data: { object: unknown } }).data.object).toMatchObject({
      id: paymentMethodId,
      object: 'payment_method',
      customer: stripeCustomerId,
      card: { brand: 'mastercard', last4: '4444', exp_month: 12, exp_year: 2029 },
    });
    expect(textOf((await browser.get(saved.headers.location as string)).text)).toContain('Your new card is being saved');

    await runWorker(testApp);
    const after = textOf((await browser.get(saved.headers.location as string)).text);
    expect(after).toContain('Done: you now pay with your Mastercard ending 4444.');
    expect(after).toContain('Expires at the end of December 2029.');
    expect((await paymentDetailsOf(merchantId, customerId))!.card).toMatchObject({
      stripePaymentMethodId: paymentMethodId,
      brand: 'mastercard',
      last4: '4444',
      expMonth: 12,
      expYear: 2029,
    });

    // A later press with the other card: it becomes the card on file.
    clock.advance(60_000);
    await browser.get(`${paymentPath(ana)}/card-simulation`);
    const again = await browser.post(`${paymentPath(ana)}/card-simulation`, { card: 'visa' });
    await runWorker(testApp);
    expect(textOf((await browser.get(again.headers.location as string)).text)).toContain('Done: you now pay with your Visa ending 4242.');
  });

  test('when a form comes with a forged or no CSRF token, then it is refused and nothing is sent', async () => {
    const browser = await signedIn(testApp.app, 'bo@example.com');
    await browser.get(paymentPath(bo));
    const cardBefore = (await paymentDetailsOf(merchantId, await customerOf(bo)))!.card;
    for (const csrf of ['forged-token', null]) {
      expect((await browser.post(`${paymentPath(bo)}/card`, {}, { csrf })).status).toBe(403);
      expect((await browser.post(`${paymentPath(bo)}/card-simulation`, { card: 'visa' }, { csrf })).status).toBe(403);
    }
    expect(testApp.queued).toEqual([]);
    expect((await paymentDetailsOf(merchantId, await customerOf(bo)))!.card).toEqual(cardBefore);
    // The same forms with the page's own token are taken.
    await browser.get(`${paymentPath(bo)}/card-simulation`);
    expect((await browser.post(`${paymentPath(bo)}/card`, {})).status).toBe(303);
    expect((await browser.post(`${paymentPath(bo)}/card-simulation`, { card: 'visa' })).status).toBe(303);
    await runWorker(testApp);
  });

  test('when the last payment failed, then the page shows the banner with a pay-now link to the open invoice', async () => {
    const cy = (await subscribeOnStorefront(testApp, { email: 'cy@example.com' }, planId)).subscriptionId;
    const browser = await signedIn(testApp.app, 'cy@example.com');
    expect((await browser.get(paymentPath(cy))).text).not.toContain('Pay now');

    const driver = renewalDriver(testApp, createStripeGateway(testStripe()));
    clock.advance(60_000);
    await driver.fail(simulatedId('sub', cy, 'subscription'), clock.now(), 'in_cy_failed', 1);
    expect((await SubscriptionModel.findById(cy).lean())!.status).toBe('past_due');

    const page = await browser.get(paymentPath(cy));
    expect(page.status).toBe(200);
    expect(page.text).toContain(
      '<p class="alert" role="alert">Your last payment did not go through: we will try again, but your box waits until it is paid. <a href="https://invoice.stripe.com/i/acct_test/in_cy_failed">Pay now</a></p>',
    );
  });

  test('when Stripe is real (a test or live key), then "update card" opens a billing portal session on the payment-method flow, keyed, and comes back to the payment page', async () => {
    const sdk = testStripe();
    const wire = recordStripeCalls(sdk);
    const create = jest.spyOn(sdk.billingPortal.sessions, 'create');
    const requested: Array<{ input: Parameters<StripeGateway['createCardUpdateSession']>[0]; key: string }> = [];
    const real = createStripeGateway(sdk);
    const gateway: StripeGateway = {
      ...real,
      createCardUpdateSession: async (input, key) => {
        requested.push({ input, key });
        return real.createCardUpdateSession(input, key);
      },
    };
    const online = buildTestApp({ clock, sendSignInMail, stripeMode: 'stripe-test', stripeGateway: gateway });
    const browser = await signedIn(online.app, 'ana@example.com');
    await browser.get(paymentPath(ana));
    // No simulation where Stripe's page exists.
    expect((await browser.get(`${paymentPath(ana)}/card-simulation`)).status).toBe(404);
    await browser.get(paymentPath(ana));

    const pressed = await browser.post(`${paymentPath(ana)}/card`, {});
    expect(pressed.status).toBe(303);
    const { publicUrl } = testConfig().http;
    const stripeCustomerId = (await paymentDetailsOf(merchantId, await customerOf(ana)))!.stripeCustomerId!;
    const page = `${publicUrl}${paymentPath(ana)}`;
    expect(requested).toEqual([
      {
        input: { customerId: stripeCustomerId, returnUrl: page, completedUrl: `${page}?updated=stripe` },
        key: expect.stringMatching(new RegExp(`^customer:${await customerOf(ana)}:card-update:\\d+:[0-9a-f]{16}$`)),
      },
    ]);
    expect(create).toHaveBeenCalledWith(
      {
        customer: stripeCustomerId,
        return_url: page,
        flow_data: { type: 'payment_method_update', after_completion: { type: 'redirect', redirect: { return_url: `${page}?updated=stripe` } } },
      },
      { idempotencyKey: requested[0]!.key },
    );
    expect(wire).toEqual([{ method: 'POST', path: '/v1/billing_portal/sessions', idempotencyKey: requested[0]!.key }]);
    // Where Stripe's answer says the session is (as a Location header writes it).
    const session = (await create.mock.results[0]!.value) as { url: string };
    expect(pressed.headers.location).toBe(encodeURI(session.url));

    // Pressed again within the minute: the same key (one session); a minute later, a fresh one.
    await browser.get(paymentPath(ana));
    await browser.post(`${paymentPath(ana)}/card`, {});
    clock.advance(60_000);
    await browser.get(paymentPath(ana));
    await browser.post(`${paymentPath(ana)}/card`, {});
    expect(requested.map((r) => r.key)).toEqual([requested[0]!.key, requested[0]!.key, expect.not.stringMatching(requested[0]!.key)]);

    // Back from Stripe: the page says a new card shows once Stripe confirms it.
    expect(textOf((await browser.get(`${paymentPath(ana)}?updated=stripe`)).text)).toContain('Your new card is being saved');
    expect(online.queued).toEqual([]);
  });
});
