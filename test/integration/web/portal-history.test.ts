import request from 'supertest';
import { FactModel, factId } from '../../../src/events/fact.model';
import { actors } from '../../../src/events/fact-types';
import { LoyaltyEntryModel } from '../../../src/loyalty/loyalty.model';
import { evaluateTier, loyaltyProgramOf, putLoyaltyProgram } from '../../../src/loyalty/loyalty.service';
import { createApiKey, updateMerchant } from '../../../src/merchants/merchant.service';
import { updateCustomer } from '../../../src/customers/customer.service';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { moveOrder } from '../../../src/orders/order.service';
import { createPerk } from '../../../src/perks/perk.service';
import { saveReferralProgram } from '../../../src/referrals/referral.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { skipBox, unskipBox } from '../../../src/subscriptions/subscription.service';
import { factsAbout } from '../../helpers/facts';
import { pageClient } from '../../helpers/pages';
import { DEMO_HANDLE, demoStore, signedInShopper, signInMailbox, subscribeOnStorefront } from '../../helpers/portal';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/**
 * The portal's history pages of a subscription: its orders (with rating a delivered box), its rewards (with
 * redeeming points) and its activity. Only the shopper sees theirs; every form needs its CSRF token; a bad
 * input is a 400 with the field named, a rule broken a readable refusal, never a 5xx.
 */
describe("the portal's orders, rewards and activity pages", () => {
  useTestDatabase();

  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const mailbox = signInMailbox();
  const { sendSignInMail } = mailbox;
  const testApp = buildTestApp({ clock, sendSignInMail });
  const { app } = testApp;
  const base = `/shop/${DEMO_HANDLE}`;
  let merchantId: string;
  let ana: string;
  let bo: string;
  let anaCustomer: string;
  let planId: string;
  let anaBrowser: ReturnType<typeof pageClient>;
  let boBrowser: ReturnType<typeof pageClient>;
  const pages = (id: string) => ['orders', 'rewards', 'activity'].map((page) => `${base}/subscriptions/${id}/${page}`);

  const signedIn = (email: string) => signedInShopper(app, mailbox, email);

  async function anaOrder() {
    return (await BoxOrderModel.findOne({ subscriptionId: ana }).lean())!;
  }

  beforeAll(async () => {
    const { merchant, plans } = await demoStore(clock);
    merchantId = merchant._id;
    planId = plans[0]!._id;
    await putLoyaltyProgram(clock, merchantId, {
      enabled: true,
      pointsPerUnit: 10,
      redemption: { points: 50, creditMinor: 250 },
      autoApply: false,
      expiry: null,
      tierBasis: 'paid_boxes',
      tiers: [
        { key: 'silver', name: 'Silver', threshold: 1, earnMultiplierPercent: 150 },
        { key: 'gold', name: 'Gold', threshold: 4, earnMultiplierPercent: 200 },
      ],
    });
    await saveReferralProgram(clock, merchantId, {
      enabled: true,
      welcomeOffer: { type: 'percent', percentOff: 20 },
      referrerReward: { type: 'points', points: 500 },
      review: { maxReferralsPer30Days: 10 },
    });
    await createPerk(clock, merchantId, { name: 'Free shipping for regulars', eligibility: { minPaidBoxes: 3 }, benefit: { kind: 'free_shipping' } });
    await createPerk(clock, merchantId, { name: 'Gold tasting notes', eligibility: { tierKeys: ['gold'] }, benefit: { kind: 'free_shipping' } });
    ana = (await subscribeOnStorefront(testApp, { email: 'ana@example.com' }, plans[0]!._id)).subscriptionId;
    bo = (await subscribeOnStorefront(testApp, { email: 'bo@example.com' }, plans[0]!._id)).subscriptionId;
    anaCustomer = (await anaOrder()).customerId;
    await evaluateTier({ clock, logger: silentLogger }, (await loyaltyProgramOf(merchantId))!, anaCustomer);
    anaBrowser = await signedIn('ana@example.com');
    boBrowser = await signedIn('bo@example.com');
  });

  test('when the owner opens each page, then it answers 200; another shopper or a made-up id gets 404; signed out, the sign-in page', async () => {
    for (const path of pages(ana)) {
      const page = await anaBrowser.get(path);
      expect(page.status).toBe(200);
      expect(page.text).toContain('aria-current="page"');
      expect((await boBrowser.get(path)).status).toBe(404);
      const anonymous = await pageClient(app).get(path);
      expect(anonymous.status).toBe(303);
      expect(anonymous.headers.location).toBe(`${base}/sign-in?next=${encodeURIComponent(path)}`);
    }
    for (const path of pages('sub_00000000000000000000').concat(pages('not-an-id'))) expect((await anaBrowser.get(path)).status).toBe(404);
    // Pages of a cursor that is not one of ours: the first page, or a 400 — never a 5xx.
    expect((await anaBrowser.get(`${pages(ana)[0]}?before=%3Cb%3E`)).status).toBe(200);
    expect((await anaBrowser.get(`${pages(ana)[0]}?before=AAAAAAAAAAAA`)).status).toBe(400);
    expect((await anaBrowser.get(`${pages(ana)[2]}?before=AAAAAAAAAAAA`)).status).toBe(400);
  });

  test('when the shopper looks at their orders, then each box shows its status in words, its dates, what it contained and its amounts; a surprise gift only once shipped', async () => {
    const order = await anaOrder();
    // A surprise gift in the box (as the gift campaign puts it at the cut-off).
    await BoxOrderModel.updateOne(
      { _id: order._id },
      { $push: { lines: { kind: 'gift', key: 'gift:x', description: 'Secret tin of biscuits', quantity: 1, unitAmountMinor: 0, amountMinor: 0 } } },
    );
    const before = await anaBrowser.get(pages(ana)[0]!);
    expect(before.text).toContain('Box of Monday, May 4, 2026');
    expect(before.text).toContain('Paid, being packed');
    expect(before.text).toContain('Single-origin coffee box');
    expect(before.text).toContain('<td class="total">$12.00</td>'); // the first box, half price
    expect(before.text).not.toContain('Secret tin of biscuits');
    expect(before.text).not.toContain('Rate this box');

    clock.advance(3_600_000);
    await moveOrder({ clock, actor: actors.merchant() }, merchantId, order._id, 'shipped', {
      shipment: {
        carrier: 'USPS',
        trackingNumber: '9400 1000',
        trackingUrl: 'https://tools.usps.com/go/TrackConfirmAction?tLabels=94001000',
        shippedAt: clock.now(),
      },
    });
    const shipped = await anaBrowser.get(pages(ana)[0]!);
    expect(shipped.text).toContain('On its way');
    expect(shipped.text).toContain('Secret tin of biscuits');
    expect(shipped.text).toContain('href="https://tools.usps.com/go/TrackConfirmAction?tLabels=94001000"');
    expect(shipped.text).toContain('9400 1000');
    expect(shipped.text).toMatch(/<dt>Shipped<\/dt><dd>Monday, May 4<\/dd>/);
  });

  test('when the shopper rates a box, then a box not delivered is refused readably, bad input is named, and a delivered box keeps the rating as theirs, shown back and to the merchant', async () => {
    const order = await anaOrder();
    const rate = (fields: Record<string, string>, options: { csrf?: string | null } = {}) =>
      anaBrowser.post(`${base}/subscriptions/${ana}/orders/${order._id}/rate`, fields, options);
    await anaBrowser.get(pages(ana)[0]!);
    const early = await rate({ score: '5' });
    expect(early.status).toBe(409);
    expect(early.text).toContain('A box can be rated once it is delivered.');

    await moveOrder({ clock, actor: actors.merchant() }, merchantId, order._id, 'delivered');
    expect((await rate({ score: '4' }, { csrf: null })).status).toBe(403);
    expect((await rate({ score: '4' }, { csrf: 'forged' })).status).toBe(403);
    const missing = await rate({ comment: 'Nice' });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain(`id="score-${order._id}-error">Choose from 1 to 5 stars<`);
    expect(missing.text).toContain('>Nice</textarea>'); // what was typed stays
    expect((await rate({ score: '9' })).status).toBe(400);
    expect((await rate({ score: '4', extra: 'x' })).status).toBe(400);
    expect((await rate({ score: '4', comment: 'x'.repeat(1001) })).text).toContain('Keep it under 1000 characters');
    // Another shopper's box, from this page: not found.
    const boOrder = (await BoxOrderModel.findOne({ subscriptionId: bo }).lean())!;
    expect((await anaBrowser.post(`${base}/subscriptions/${ana}/orders/${boOrder._id}/rate`, { score: '1' })).status).toBe(404);
    expect((await anaBrowser.post(`${base}/subscriptions/${bo}/orders/${boOrder._id}/rate`, { score: '1' })).status).toBe(404);
    expect((await anaBrowser.post(`${base}/subscriptions/${ana}/orders/ord_nope/rate`, { score: '1' })).status).toBe(404);

    const rated = await rate({ score: '4', comment: 'Lovely, but <b>bold</b>' });
    expect(rated.status).toBe(303);
    expect(rated.headers.location).toBe(`${base}/subscriptions/${ana}/orders?rated=${order._id}#order-${order._id}`);
    const page = await anaBrowser.get(rated.headers.location as string);
    expect(page.text).toContain('Thank you for rating your box of Monday, May 4, 2026.');
    expect(page.text).toContain('You rated it <strong>4/5</strong>: “Lovely, but &lt;b&gt;bold&lt;/b&gt;”');
    expect(page.text).toContain('Change your rating');

    const facts = (await factsAbout({ subjectId: order._id })).filter((f) => f.type === 'box.rated');
    expect(facts.map((f) => [f.actor.kind, f.actor.id, f.data.score])).toEqual([['shopper', anaCustomer, 4]]);
    const key = await createApiKey(clock, merchantId, 'test');
    const api = (await request(app).get(`/api/v1/orders/${order._id}`).set('authorization', `Bearer ${key.secret}`).expect(200)).body;
    expect(api.rating).toEqual({ score: 4, comment: 'Lovely, but <b>bold</b>', ratedAt: clock.now().toISOString() });
  });

  test('when the shopper looks at their rewards, then points, tier, the next tier and how far, perks and why not yet, and their referral code and link show', async () => {
    const page = await anaBrowser.get(pages(ana)[1]!);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<strong>120</strong> points'); // $12.00 paid × 10 points
    expect(page.text).toContain('Every 50 points give $2.50 off your coming boxes.');
    expect(page.text).toContain('You are a <strong>Silver</strong> member');
    expect(page.text).toContain('Next: Gold');
    expect(page.text).toContain('2× points on every box');
    expect(page.text).toContain('<li>Gold tasting notes</li>');
    expect(page.text).toContain('3 more paid boxes within 12 months to get there.');
    expect(page.text).toMatch(/Free shipping for regulars[\s\S]{0,200}Not yet: after 3 paid boxes \(1 so far\)/);
    const code = /<code class="referral-code" id="referral-code">([A-Z2-9]{8})<\/code>/.exec(page.text)![1]!;
    expect(page.text).toContain(`value="http://localhost:3000/shop/${DEMO_HANDLE}?ref=${code}"`);
    expect(page.text).toContain('Friends get 20% off their first box; you get 500 points once their first box is paid.');
    expect(page.text).toContain('No friend has subscribed with your code yet.');
    // The link works: the storefront carries the code to the subscribe form, filled in.
    const friend = pageClient(app);
    expect((await friend.get(`${base}?ref=${code}`)).text).toContain(`href="${base}/subscribe/${planId}?ref=${code}"`);
    expect((await friend.get(`${base}/subscribe/${planId}?ref=${code}`)).text).toMatch(
      new RegExp(`name="referralCode" type="text" autocomplete="off" value="${code}"`),
    );
    expect((await friend.get(`${base}/subscribe/${planId}?ref=%22%3E%3Cb%3E`)).text).toMatch(/name="referralCode" type="text" autocomplete="off" value=""/);
    expect(page.text).toContain('data-copy="referral-link" hidden'); // the copy button needs JavaScript: hidden without
    expect(page.text).toMatch(/<option value="50">50 points for \$2\.50 of credit<\/option>[\s\S]*<option value="100">/);
  });

  test('when the shopper redeems points, then bad input is named, too many is refused, and a redemption (submitted twice) is one entry and one fact of theirs', async () => {
    const path = `${base}/subscriptions/${ana}/rewards/redeem`;
    const page = await anaBrowser.get(pages(ana)[1]!);
    const attempt = /name="attempt" value="([^"]+)"/.exec(page.text)![1]!;
    expect((await anaBrowser.post(path, { points: '50', attempt }, { csrf: null })).status).toBe(403);
    expect((await anaBrowser.post(path, { points: '50', attempt }, { csrf: 'forged' })).status).toBe(403);
    const missing = await anaBrowser.post(path, { attempt });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('id="points-error">Choose how many points<');
    expect((await anaBrowser.post(path, { points: '-50', attempt })).status).toBe(400);
    expect((await anaBrowser.post(path, { points: '50' })).status).toBe(400);
    const notBlock = await anaBrowser.post(path, { points: '70', attempt });
    expect(notBlock.status).toBe(400);
    expect(notBlock.text).toContain('id="points-error">must be a multiple of 50<');
    const tooMany = await anaBrowser.post(path, { points: '5000', attempt });
    expect(tooMany.status).toBe(409);
    expect(tooMany.text).toContain('You do not have that many points.');

    const redeemed = await anaBrowser.post(path, { points: '100', attempt });
    expect(redeemed.status).toBe(303);
    const twice = await anaBrowser.post(path, { points: '100', attempt });
    expect(twice.headers.location).toBe(redeemed.headers.location);
    const receipt = await anaBrowser.get(redeemed.headers.location as string);
    expect(receipt.text).toContain('Done: 100 points were turned into $5.00 of credit for the coming boxes.');
    expect(receipt.text).toContain('<strong>20</strong> points');
    expect(receipt.text).toContain('<strong>$5.00</strong> of credit waits');
    expect(await LoyaltyEntryModel.countDocuments({ customerId: anaCustomer, kind: 'redeem' })).toBe(1);
    const facts = await factsAbout({ customerId: anaCustomer });
    expect(facts.filter((f) => f.type === 'loyalty.points_redeemed').map((f) => [f.actor.kind, f.actor.id, f.subscriptionId, f.data.points])).toEqual([
      ['shopper', anaCustomer, ana, 100],
    ]);
    // Another shopper's entry is no receipt here.
    expect((await anaBrowser.get(`${pages(ana)[1]}?redeemed=lye_00000000000000000000`)).text).not.toContain('Done:');
    // The credit shows on the next box's card, to come off at its cut-off.
    expect((await anaBrowser.get(`${base}/subscriptions/${ana}`)).text).toContain('Your credit of $5.00 comes off its total at the cut-off');
  });

  test("when a perk will be in the next box and the shopper has a time zone of their own, then the next box's card names the perk and gives its charge and cut-off in the shopper's zone", async () => {
    const card = async () => (await anaBrowser.get(`${base}/subscriptions/${ana}`)).text;
    expect(await card()).not.toContain('Your perks in it');
    expect(await card()).toMatch(/Charged on [^<]*(EDT|EST)\./);
    await updateMerchant(clock, merchantId, { subscriptionSettings: { shippingFees: [{ currency: 'USD', amountMinor: 500 }] } });
    await createPerk(clock, merchantId, { name: 'Free shipping', eligibility: {}, benefit: { kind: 'free_shipping' } });
    await updateCustomer({ clock, stripe: createStripeGateway(testStripe()), logger: silentLogger }, merchantId, anaCustomer, { timezone: 'Europe/Berlin' });
    const shown = await card();
    expect(shown).toContain('Your perks in it: Free shipping.');
    expect(shown).toMatch(/Charged on [^<]*GMT\+[12]\./);
    expect(shown).toMatch(/You can change it until [^<]*GMT\+[12]/);
  });

  test('when the shopper opens the activity, then each fact reads who did what and when, newest first, a page at a time; a surprise stays out', async () => {
    const as = { ...testAppDeps(), actor: actors.shopper(anaCustomer) };
    const cycleKey = '2026-06-01';
    for (let i = 0; i < 13; i += 1) {
      clock.advance(60_000);
      await skipBox(as, merchantId, ana, cycleKey);
      await unskipBox(as, merchantId, ana, cycleKey);
    }
    const latest = (await factsAbout({ subjectId: ana })).at(-1)!;
    await FactModel.create({
      _id: factId('gaw_secret', 1),
      merchantId,
      type: 'gift.granted',
      subjectType: 'gift_award',
      subjectId: 'gaw_secret',
      seq: 1,
      at: clock.now(),
      actor: actors.job('gifts.attach-surprise-gifts'),
      data: { cycleKey, description: 'Secret tin of biscuits' },
      customerId: anaCustomer,
      subscriptionId: ana,
      relayedAt: clock.now(),
      done: [],
      state: 'succeeded',
      attempts: 0,
    });

    const first = await anaBrowser.get(pages(ana)[2]!);
    expect(first.status).toBe(200);
    expect(latest.type).toBe('subscription.unskipped');
    expect(first.text).toMatch(/<span class="who">You<\/span>\s*<span class="what">The box of June 1, 2026 was brought back\.<\/span>/);
    expect(first.text).not.toContain('biscuits');
    expect(first.text).not.toContain('surprise');
    expect(first.text).toContain(`<time datetime="${latest.at.toISOString()}">`);
    expect(first.text).toMatch(/EDT<\/time>/); // the store's zone
    expect((first.text.match(/<li( class="mine")?>\s*<time/g) ?? []).length).toBe(25);
    const older = /<a href="([^"]+)">Older<\/a>/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = await anaBrowser.get(older);
    expect(second.status).toBe(200);
    expect(second.text).toContain('Newest</a>');
    // The oldest facts: the subscription made and paid, by the shopper and by Stripe.
    expect(second.text).toMatch(/<span class="who">Stripe \(payments\)<\/span>\s*<span class="what">Your box of May 4, 2026 was paid \(\$12\.00\)\.<\/span>/);
    expect(second.text).toContain('The subscription was made.');
    expect(second.text).toContain('Your box of May 4, 2026 was rated 4/5.');
  });

  function testAppDeps() {
    return { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger, publicUrl: 'http://localhost:3000' };
  }
});
