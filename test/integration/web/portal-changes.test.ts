import { createAddon } from '../../../src/addons/addon.service';
import { catalogKinds } from '../../../src/catalog/catalog-kinds';
import { syncPendingCatalogItems } from '../../../src/catalog/catalog-sync-job.service';
import { adjustVariantStock } from '../../../src/inventory/stock-item.service';
import { createPromoCode } from '../../../src/promotions/promotion.service';
import { MerchantModel } from '../../../src/merchants/merchant.model';
import type { Plan } from '../../../src/plans/plan.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { DEFAULT_SUBSCRIPTION_SETTINGS } from '../../../src/subscriptions/subscription-settings';
import { offerFor, reasonWords } from '../../../src/web/shop/cancel.pages';
import { factsAbout } from '../../helpers/facts';
import { pageClient } from '../../helpers/pages';
import { DEMO_HANDLE, demoStore, signedInShopper, signInMailbox, subscribeOnStorefront } from '../../helpers/portal';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * The portal's "change the box" and cancel pages: who may open them, the CSRF token on every form, and each
 * change made as the shopper with its fact and receipt; refusals beside their fields, never a 5xx.
 */
describe("the shopper's box changes and cancellation", () => {
  useTestDatabase();

  const clock = new FakeClock('2026-05-04T14:00:00Z'); // 10:00 in New York
  const mailbox = signInMailbox();
  const { sendSignInMail } = mailbox;
  const testApp = buildTestApp({ clock, sendSignInMail });
  const { app } = testApp;
  const base = `/shop/${DEMO_HANDLE}`;
  let coffee: Plan;
  let vitamins: Plan;
  let merchantId: string;
  let other: string;
  const addons: Record<string, string> = {};

  beforeAll(async () => {
    const { plans, merchant } = await demoStore(clock);
    [coffee, vitamins] = plans as [Plan, Plan];
    merchantId = merchant._id;
    // The store's own reasons, one of them its own code.
    await MerchantModel.updateOne(
      { _id: merchantId },
      { $set: { subscriptionSettings: { cancellationReasons: [...DEFAULT_SUBSCRIPTION_SETTINGS.cancellationReasons, 'too_strong'] } } },
    );
    const catalog = { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
    const add = async (name: string, kind: 'one_time' | 'recurring', priceMinor: number, stock: number | null) =>
      (await createAddon(catalog, merchantId, { name, sku: name.toUpperCase().replace(/\W+/g, '-'), kind, priceMinor, stock, description: `A ${name}` })).id;
    addons.filters = await add('Paper filters', 'recurring', 300, null);
    addons.mug = await add('Enamel mug', 'one_time', 1200, 5);
    addons.grinder = await add('Hand grinder', 'one_time', 4500, 0);
    await syncPendingCatalogItems(catalog, catalogKinds());
    // Espresso grind is sold out: tracked, none on hand.
    await adjustVariantStock(clock, merchantId, 'COF-GE-500', 1);
    await adjustVariantStock(clock, merchantId, 'COF-GE-500', -1);
    other = (await subscribeOnStorefront(testApp, { email: 'other@example.com' }, coffee._id)).subscriptionId;
  });

  /** A new shopper subscribed to the coffee box, signed in at the store in their own browser. */
  async function shopper(email: string) {
    const { subscriptionId } = await subscribeOnStorefront(testApp, { email }, coffee._id);
    const browser = await signedInShopper(app, mailbox, email);
    return { browser, id: subscriptionId, page: `${base}/subscriptions/${subscriptionId}` };
  }

  const lastFact = async (id: string) => (await factsAbout({ subjectId: id })).at(-1)!;

  /** The receipt the change ended on: the subscription's page, saying what was done. */
  async function receiptOf(browser: ReturnType<typeof pageClient>, answer: { status: number; headers: Record<string, string> }, page: string) {
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toMatch(new RegExp(`^${page}\\?done=sub_[0-9a-z]{20}%3A\\d{8}#receipt$`));
    const shown = await browser.get(answer.headers.location!);
    expect(shown.status).toBe(200);
    return /<div class="ok" role="status" id="receipt">\s*<p>(Done: [^<]*)<\/p>/.exec(shown.text)?.[1];
  }

  test('when the owner opens the change and cancel pages, then they answer; another shopper’s or a made-up subscription is not found, and nobody signed in goes to sign in', async () => {
    const { browser, id, page } = await shopper('pages@example.com');
    const home = await browser.get(page);
    expect(home.text).toContain(`href="${page}/change">Change the box</a>`);
    expect(home.text).toContain(`href="${page}/cancel">Cancel my subscription</a>`);
    for (const path of ['change', 'cancel']) {
      expect((await browser.get(`${page}/${path}`)).status).toBe(200);
      expect((await browser.get(`${base}/subscriptions/${other}/${path}`)).status).toBe(404);
      expect((await browser.get(`${base}/subscriptions/sub_${'0'.repeat(20)}/${path}`)).status).toBe(404);
      expect((await browser.get(`${base}/subscriptions/not-an-id/${path}`)).status).toBe(404);
      const anonymous = await pageClient(app).get(`${page}/${path}`);
      expect(anonymous.status).toBe(303);
      expect(anonymous.headers.location).toBe(`${base}/sign-in?next=${encodeURIComponent(`${page}/${path}`)}`);
    }
    // Forms of another's subscription are not found either, and change nothing.
    await browser.get(`${page}/change`);
    const before = (await factsAbout({ subjectId: other })).length;
    expect((await browser.post(`${base}/subscriptions/${other}/change/cadence`, { cadence: 'month-1' })).status).toBe(404);
    expect((await browser.post(`${base}/subscriptions/${other}/cancel`, { reason: 'other' })).status).toBe(404);
    expect((await factsAbout({ subjectId: other })).length).toBe(before);
    expect(id).not.toBe(other);
  });

  test('when a form comes without its token, or with a wrong one, then it is refused (403) and nothing changes', async () => {
    const { browser, id, page } = await shopper('csrf@example.com');
    await browser.get(`${page}/change`);
    const before = (await factsAbout({ subjectId: id })).length;
    const forms: Array<[string, Record<string, string>]> = [
      ['change/swap', { choice: `${coffee._id}:${coffee.variants[1]!._id}` }],
      ['change/cadence', { cadence: 'month-1' }],
      ['change/charge-date', { date: '2026-05-20' }],
      ['change/extras', { addonId: addons.filters!, quantity: '1', kind: 'one_time' }],
      ['change/extras/remove', { lineId: 'sadd_00000000000000000000' }],
      ['change/second-choice', { variantId: coffee.variants[1]!._id }],
      ['cancel/offer', { reason: 'other' }],
      ['cancel/confirm', { reason: 'other' }],
      ['cancel/save', { type: 'skip_next' }],
      ['cancel', { reason: 'other' }],
    ];
    for (const [path, fields] of forms) {
      const missing = await browser.post(`${page}/${path}`, fields, { csrf: null });
      expect([path, missing.status]).toEqual([path, 403]);
      expect((await browser.post(`${page}/${path}`, fields, { csrf: 'A'.repeat(43) })).status).toBe(403);
    }
    expect((await factsAbout({ subjectId: id })).length).toBe(before);
  });

  test('when a shopper swaps their box, then an out-of-stock variant is shown but cannot be chosen, even forged; the swap is theirs with a receipt', async () => {
    const { browser, id, page } = await shopper('swap@example.com');
    const form = await browser.get(`${page}/change`);
    const [whole, filter, espresso] = coffee.variants.map((v) => `${coffee._id}:${v._id}`) as [string, string, string];
    expect(form.text).toMatch(new RegExp(`value="${whole}" checked>\\s*Whole bean, 2 × 250 g\\s*<span class="tag">your box</span>`));
    expect(form.text).toMatch(new RegExp(`value="${espresso}" disabled>\\s*Ground for espresso, 2 × 250 g\\s*<span class="tag out">out of stock</span>`));
    expect(form.text).toContain('$24.00 a box');
    expect(form.text).not.toContain(vitamins._id); // every two weeks: the vitamin box does not come at that rhythm

    const forged = await browser.post(`${page}/change/swap`, { choice: espresso });
    expect(forged.status).toBe(409);
    expect(forged.text).toContain('<p class="field-error" id="choice-error">Ground for espresso, 2 × 250 g is out of stock; choose another</p>');
    expect((await browser.post(`${page}/change/swap`, { choice: whole })).text).toContain('This is already what comes in your box');
    const missing = await browser.post(`${page}/change/swap`, {});
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('Choose what comes in your box');
    expect((await browser.post(`${page}/change/swap`, { choice: `${coffee._id}:var_nope` })).status).toBe(400);
    expect((await browser.post(`${page}/change/swap`, { choice: whole, extra: 'x' })).status).toBe(400);
    expect((await lastFact(id)).type).not.toBe('subscription.swapped');

    const swapped = await browser.post(`${page}/change/swap`, { choice: filter });
    expect(await receiptOf(browser, swapped, page)).toBe('Done: what comes in the boxes was changed, from the box of May 18, 2026.');
    expect(await lastFact(id)).toMatchObject({
      type: 'subscription.swapped',
      actor: { kind: 'shopper', id: expect.stringMatching(/^cust_/) },
      data: { to: { variantId: coffee.variants[1]!._id } },
    });
  });

  test('when a shopper changes how often, then the prices are in their language, the change is theirs, and boxes of that rhythm can be swapped to', async () => {
    const { browser, id, page } = await shopper('cadence@example.com');
    const form = await browser.get(`${page}/change`);
    expect(form.text).toMatch(/value="week-2" checked>\s*Every 2 weeks <span class="muted">· \$24\.00 a box<\/span>/);
    expect(form.text).toMatch(/value="month-1">\s*Every month <span class="muted">· \$26\.00 a box<\/span>/);
    const german = await browser.agent.get(`${page}/change`).set('accept', 'text/html').set('accept-language', 'de-DE');
    expect(german.text).toMatch(/26,00\s\$ a box/); // "26,00 $", with a no-break space

    const invalid = await browser.post(`${page}/change/cadence`, { cadence: 'fortnightly' });
    expect(invalid.status).toBe(400);
    expect(invalid.text).toContain('<p class="field-error" id="cadence-error">must be a cadence key such as month-1 or week-2</p>');
    expect((await browser.post(`${page}/change/cadence`, {})).text).toContain('Choose how often');
    const notOffered = await browser.post(`${page}/change/cadence`, { cadence: 'month-3' });
    expect(notOffered.status).toBe(400);
    expect(notOffered.text).toContain('<p class="field-error" id="cadence-error">is not offered by this plan</p>');
    expect((await browser.post(`${page}/change/cadence`, { cadence: 'week-2' })).text).toContain('This is already how often your box comes');

    const changed = await browser.post(`${page}/change/cadence`, { cadence: 'month-1' });
    expect(await receiptOf(browser, changed, page)).toBe('Done: how often boxes come was changed from every 2 weeks to every month.');
    expect(await lastFact(id)).toMatchObject({ type: 'subscription.cadence_changed', actor: { kind: 'shopper' }, data: { from: 'week-2', to: 'month-1' } });

    // Monthly now: the vitamin box comes at that rhythm, at its own price.
    const again = await browser.get(`${page}/change`);
    expect(again.text).toContain(`value="${vitamins._id}:${vitamins.variants[0]!._id}"`);
    expect(again.text).toMatch(/Daily vitamin box <span class="muted">· \$39\.00 a box<\/span>/);
    const swapped = await browser.post(`${page}/change/swap`, { choice: `${vitamins._id}:${vitamins.variants[1]!._id}` });
    expect(swapped.status).toBe(303);
    expect(await lastFact(id)).toMatchObject({ type: 'subscription.swapped', actor: { kind: 'shopper' }, data: { to: { planId: vitamins._id } } });
  });

  test('when a shopper moves the next charge, then the page states the range; outside it or not a date is refused beside the field', async () => {
    const { browser, id, page } = await shopper('date@example.com');
    const form = await browser.get(`${page}/change`);
    // Next charge Monday, May 18; 14 days either way, but a box before May 8 would already be locked.
    expect(form.text).toContain('min="2026-05-08" max="2026-06-01" value="2026-05-18"');
    expect(form.text).toContain('Choose a date from <strong>Friday, May 8, 2026</strong> to <strong>Monday, June 1, 2026</strong>');
    expect(form.text).toContain('it locks 3 days before its charge');

    const tooFar = await browser.post(`${page}/change/charge-date`, { date: '2026-06-02' });
    expect(tooFar.status).toBe(400);
    expect(tooFar.text).toContain('<p class="field-error" id="date-error">Choose a date from 2026-05-08 to 2026-06-01</p>');
    expect(tooFar.text).toContain('value="2026-06-02"'); // what was typed stays
    expect((await browser.post(`${page}/change/charge-date`, { date: '2026-05-07' })).status).toBe(400);
    const garbage = await browser.post(`${page}/change/charge-date`, { date: '18/05/2026' });
    expect(garbage.status).toBe(400);
    expect(garbage.text).toContain('<p class="field-error" id="date-error">Choose a date</p>');
    expect((await browser.post(`${page}/change/charge-date`, { date: '2026-05-18' })).text).toContain('Your next charge is already on this date');

    const moved = await browser.post(`${page}/change/charge-date`, { date: '2026-05-22' });
    expect(await receiptOf(browser, moved, page)).toBe('Done: the charge date was moved from May 18, 2026 to May 22, 2026.');
    expect(await lastFact(id)).toMatchObject({
      type: 'subscription.charge_date_changed',
      actor: { kind: 'shopper' },
      data: { from: '2026-05-18', to: '2026-05-22' },
    });
  });

  test('when a shopper adds extras, then each is for the next box or every box as chosen, sold-out ones cannot be added, and one can be removed', async () => {
    const { browser, id, page } = await shopper('extras@example.com');
    const form = await browser.get(`${page}/change`);
    expect(form.text).toMatch(
      /value="[^"]+" disabled>\s*Hand grinder <span class="muted">· \$45\.00 each<\/span>\s*<span class="tag">one box only<\/span>\s*<span class="tag out">out of stock<\/span>/,
    );
    expect(form.text).toMatch(/>\s*Paper filters <span class="muted">· \$3\.00 each<\/span>/);

    const soldOut = await browser.post(`${page}/change/extras`, { addonId: addons.grinder!, quantity: '1', kind: 'one_time' });
    expect(soldOut.status).toBe(409);
    expect(soldOut.text).toContain('<p class="field-error" id="addonId-error">Hand grinder is out of stock</p>');
    const recurringMug = await browser.post(`${page}/change/extras`, { addonId: addons.mug!, quantity: '1', kind: 'recurring' });
    expect(recurringMug.status).toBe(400);
    expect(recurringMug.text).toContain('<p class="field-error" id="kind-error">Enamel mug comes in one box only</p>');
    expect((await browser.post(`${page}/change/extras`, { addonId: addons.mug!, quantity: '6', kind: 'one_time' })).text).toContain('At most 5');
    expect((await browser.post(`${page}/change/extras`, { quantity: '1', kind: 'one_time' })).text).toContain('Choose an extra');
    const unknown = await browser.post(`${page}/change/extras`, { addonId: 'addon_nope', quantity: '1', kind: 'one_time' });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('Choose one of the extras shown');

    const once = await browser.post(`${page}/change/extras`, { addonId: addons.filters!, quantity: '2', kind: 'one_time' });
    expect(await receiptOf(browser, once, page)).toBe('Done: an extra was added to the box of May 18, 2026.');
    expect(await lastFact(id)).toMatchObject({
      type: 'subscription.addon_added',
      actor: { kind: 'shopper' },
      data: { addonId: addons.filters, kind: 'one_time', quantity: 2 },
    });
    const every = await browser.post(`${page}/change/extras`, { addonId: addons.filters!, quantity: '1', kind: 'recurring' });
    expect(every.status).toBe(303);
    const after = await browser.get(`${page}/change`);
    expect(after.text).toContain('Paper filters × 2 — in the box of Monday, May 18, 2026 only');
    expect(after.text).toContain('Paper filters — in every box from Monday, May 18, 2026');

    const lines = (await SubscriptionModel.findById(id).lean())!.addons;
    expect(lines.map((line) => line.kind)).toEqual(['one_time', 'recurring']);
    const removed = await browser.post(`${page}/change/extras/remove`, { lineId: lines[0]!._id });
    expect(removed.status).toBe(303);
    expect(await lastFact(id)).toMatchObject({ type: 'subscription.addon_removed', actor: { kind: 'shopper' }, data: { lineId: lines[0]!._id } });
    const gone = await browser.post(`${page}/change/extras/remove`, { lineId: lines[0]!._id });
    expect(gone.status).toBe(400);
    expect(gone.text).toContain('That extra is not in your box any more.');
  });

  test('when a shopper sets a second choice and clears it, then both are theirs; their own variant or another plan’s is refused', async () => {
    const { browser, id, page } = await shopper('second@example.com');
    const form = await browser.get(`${page}/change`);
    expect(form.text).toMatch(/value="[^"]+">\s*Ground for espresso, 2 × 250 g\s*<span class="tag out">out of stock now<\/span>/);
    expect(form.text).toMatch(/value="" checked> No second choice/);
    const own = await browser.post(`${page}/change/second-choice`, { variantId: coffee.variants[0]!._id });
    expect(own.status).toBe(400);
    expect(own.text).toContain('<p class="field-error" id="variantId-error">Choose one of the variants shown</p>');
    expect((await browser.post(`${page}/change/second-choice`, { variantId: vitamins.variants[0]!._id })).status).toBe(400);
    expect((await browser.post(`${page}/change/second-choice`, { variantId: '' })).text).toContain('You have no second choice');

    const set = await browser.post(`${page}/change/second-choice`, { variantId: coffee.variants[1]!._id });
    expect(set.status).toBe(303);
    expect(await lastFact(id)).toMatchObject({
      type: 'subscription.second_choice_set',
      actor: { kind: 'shopper' },
      data: { variantId: coffee.variants[1]!._id },
    });
    expect((await browser.get(`${page}/change`)).text).toMatch(new RegExp(`value="${coffee.variants[1]!._id}" checked>`));
    const cleared = await browser.post(`${page}/change/second-choice`, { variantId: '' });
    expect(cleared.status).toBe(303);
    expect(await lastFact(id)).toMatchObject({ type: 'subscription.second_choice_set', actor: { kind: 'shopper' }, data: { variantId: null } });
  });

  test('when a shopper cancels, then they give a reason, see one offer with "continue to cancel", confirm what happens, and the page then offers to reactivate', async () => {
    const { browser, id, page } = await shopper('cancel@example.com');
    const start = await browser.get(`${page}/cancel`);
    expect(start.text).toContain('<legend>Why are you cancelling?</legend>');
    expect(start.text).toContain('value="too_expensive" required> It costs too much');
    expect(start.text).toContain('value="too_strong" required> Too strong'); // the store's own reason
    expect(start.text).toContain('Continue to cancel');

    const noReason = await browser.post(`${page}/cancel/offer`, { comment: 'hm' });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain('<p class="field-error" id="reason-error">Choose a reason</p>');
    expect(noReason.text).toContain('>hm</textarea>');
    const forged = await browser.post(`${page}/cancel/offer`, { reason: 'no_such_reason' });
    expect(forged.status).toBe(400);
    expect(forged.text).toContain('Choose one of the reasons shown');
    expect((await browser.post(`${page}/cancel/offer`, { reason: 'other', comment: 'x'.repeat(1001) })).text).toContain('Keep it under 1,000 characters');
    expect((await browser.post(`${page}/cancel`, { reason: 'no_such_reason' })).status).toBe(400);

    const offer = await browser.post(`${page}/cancel/offer`, { reason: 'too_expensive', comment: 'Beans got pricey' });
    expect(offer.status).toBe(200);
    expect(offer.text).toContain('Take 20% off your box of Monday, May 18, 2026');
    expect(offer.text).toContain('No thanks, continue to cancel');
    expect(offer.text.match(/<form method="post"/g)!.length).toBe(3); // the offer, continue, and sign out

    const confirm = await browser.post(`${page}/cancel/confirm`, { reason: 'too_expensive', comment: 'Beans got pricey' });
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Your subscription ends on <strong>Monday, May 18</strong>. That box and later ones are not charged or sent.');
    expect(confirm.text).toContain('Boxes you have already paid for still come.');
    // Nothing has changed yet: the offer shown is recorded, for the save-offer metrics, and that is all.
    expect(await lastFact(id)).toMatchObject({
      type: 'subscription.save_offer_shown',
      actor: { kind: 'shopper' },
      data: { type: 'discount', reason: 'too_expensive' },
    });
    expect((await SubscriptionModel.findById(id).lean())!.cancellation).toBeUndefined();

    const cancelled = await browser.post(`${page}/cancel`, { reason: 'too_expensive', comment: 'Beans got pricey' });
    expect(await receiptOf(browser, cancelled, page)).toBe('Done: the subscription was set to end on May 18, 2026.');
    expect(await lastFact(id)).toMatchObject({
      type: 'subscription.cancellation_scheduled',
      actor: { kind: 'shopper' },
      data: { reason: 'too_expensive', comment: 'Beans got pricey', mode: 'period_end' },
    });
    const after = await browser.get(page);
    expect(after.text).toContain('This subscription ends on Monday, May 18; boxes until then still come.');
    expect(after.text).toContain('Reactivate my subscription');
    expect((await browser.get(`${page}/cancel`)).text).toContain('This subscription already ends on Monday, May 18.');
    expect((await browser.get(`${page}/change`)).text).toContain('This subscription is set to end; reactivate it to move its charge date.');

    expect((await browser.post(`${page}/reactivate`, {})).status).toBe(303);
    expect(await lastFact(id)).toMatchObject({ type: 'subscription.reactivated', actor: { kind: 'shopper' } });
  });

  test('when a shopper takes the offer instead, then the offer is applied as theirs with a receipt, and nothing is cancelled', async () => {
    const { browser, id, page } = await shopper('stays@example.com');
    await browser.get(`${page}/cancel`);
    const offer = await browser.post(`${page}/cancel/offer`, { reason: 'too_much_product' });
    expect(offer.text).toContain('Skip your box of Monday, May 18, 2026 instead');
    const taken = await browser.post(`${page}/cancel/save`, { type: 'skip_next', reason: 'too_much_product', comment: '' });
    expect(await receiptOf(browser, taken, page)).toBe('Done: the box of May 18, 2026 was skipped.');
    expect(await lastFact(id)).toMatchObject({
      type: 'subscription.skipped',
      actor: { kind: 'shopper' },
      data: { cycleKey: '2026-05-18', saveOffer: 'skip_next' },
    });

    // The discount, then: once per subscription; a second try is refused readably.
    expect((await browser.post(`${page}/cancel/save`, { type: 'discount', reason: 'too_expensive' })).status).toBe(303);
    expect(await lastFact(id)).toMatchObject({ type: 'subscription.save_offer_accepted', actor: { kind: 'shopper' }, data: { type: 'discount' } });
    const again = await browser.post(`${page}/cancel/save`, { type: 'discount', reason: 'too_expensive' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('The discount offer is not available for this subscription.');
    expect((await browser.post(`${page}/cancel/save`, { type: 'free_box' })).status).toBe(400);
    expect((await SubscriptionModel.findById(id).lean())!.cancellation).toBeUndefined();
  });

  test('when a shopper applies a promo code, then an unknown one is refused beside the field; a good one is theirs with a receipt and shows as running, one at a time', async () => {
    const { browser, id, page } = await shopper('promo@example.com');
    await createPromoCode({ clock, stripe: createStripeGateway(testStripe()), logger: silentLogger }, merchantId, {
      code: 'THANKS15',
      description: '15% off your next box',
      percentOff: 15,
      duration: 'once',
      firstBoxOnly: false,
    });
    const change = await browser.get(`${page}/change`);
    expect(change.text).toContain('id="promo-code"');

    const unknown = await browser.post(`${page}/change/promo-code`, { code: 'NOPE' });
    expect(unknown.status).toBe(422);
    expect(unknown.text).toMatch(/id="code-error"[^>]*>[^<]*NOPE/);
    const empty = await browser.post(`${page}/change/promo-code`, { code: '' });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('Type the promo code');

    const applied = await browser.post(`${page}/change/promo-code`, { code: 'thanks15' });
    expect(await receiptOf(browser, applied, page)).toMatch(/^Done: the promo code THANKS15 was applied: 15% off from the box of /);
    expect(await lastFact(id)).toMatchObject({ type: 'subscription.promo_code_applied', actor: { kind: 'shopper' }, data: { code: 'THANKS15' } });
    const after = await browser.get(`${page}/change`);
    expect(after.text).toContain('<strong>THANKS15</strong>: 15% off your next box');
    expect(after.text).not.toContain('action="' + page + '/change/promo-code"');
  });
});

describe('the one offer shown before cancelling', () => {
  const offers = [
    { type: 'skip_next' as const, description: '', cycleKey: '2026-05-18' },
    { type: 'pause' as const, description: '', cycles: 2 },
    { type: 'discount' as const, description: '', percentOff: 20, cycleKey: '2026-05-18' },
  ];

  test('when the reason is known, then the offer that answers it is chosen; otherwise the store’s first', () => {
    expect(offerFor('too_expensive', offers)?.type).toBe('discount');
    expect(offerFor('not_using_it', offers)?.type).toBe('pause');
    expect(offerFor('too_much_product', offers)?.type).toBe('skip_next');
    expect(offerFor('too_expensive', offers.slice(0, 2))?.type).toBe('skip_next');
    expect(offerFor('quality', offers.slice(1))?.type).toBe('pause');
    expect(offerFor('quality', [])).toBeUndefined();
  });

  test('when a reason is the store’s own code, then it reads as words', () => {
    expect(reasonWords('switching_brand')).toBe('I am switching to another brand');
    expect(reasonWords('too_strong')).toBe('Too strong');
  });
});
