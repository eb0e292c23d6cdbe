import request from 'supertest';
import { attachSurpriseGifts } from '../../../src/gifts/gift.service';
import { attributeReferral } from '../../../src/referrals/referral.service';
import { newId } from '../../../src/shared/ids';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { buildAddonInput, buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/**
 * The merchant's Retention pages, part A (/merchant/retention): the hub, surprise-gift campaigns (create, the
 * dry run before activation, activate and end with confirmation, the awards after), referrals (the programme,
 * the list by status, approve and reject of held ones) and promo codes (create, redemptions, archive). Each on
 * the API's services: what a page does, the API then shows.
 */
describe('the merchant’s retention pages (gifts, referrals, promo codes)', () => {
  useTestDatabase();
  // A subscription made on Mar 1 (07:00 New York) charges on the 1st; its April box locks on Mar 29 at 11:00Z,
  // so on Mar 28 at noon UTC it is within a campaign's default 48 hours before its cut-off.
  const clock = new FakeClock('2026-03-01T12:00:00Z');
  const { app } = buildTestApp({ clock });
  beforeEach(() => clock.set(new Date('2026-03-01T12:00:00Z')));

  async function signedIn(merchant: TestMerchant) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' });
    return browser;
  }
  const api = (merchant: TestMerchant) => ({
    get: (path: string) => request(app).get(`/api/v1${path}`).set(merchant.auth),
    post: (path: string, body: object = {}) => request(app).post(`/api/v1${path}`).set(merchant.auth).send(body),
    put: (path: string, body: object) => request(app).put(`/api/v1${path}`).set(merchant.auth).send(body),
  });

  /** A store in New York with one active subscriber (named) and an add-on to give. */
  async function giftStore() {
    const merchant = await createMerchant({ name: 'Bean There', timezone: 'America/New_York' }, clock);
    const shopper = await subscribeShopper(app, merchant);
    await SubscriptionModel.updateOne({ _id: shopper.subscription.id }, { $set: { status: 'active' } });
    const addon = (
      await api(merchant)
        .post('/addons', buildAddonInput({ name: 'Tasting spoon', stock: 500 }))
        .expect(201)
    ).body as { id: string };
    return { merchant, shopper, addon };
  }

  const campaignForm = (addonId: string, overrides: Record<string, string> = {}) => ({
    name: 'Spring thank-you',
    giftAddonId: addonId,
    unitCost: '3.00',
    stockBudget: '10',
    costBudget: '100.00',
    startsOn: '2026-03-01',
    endsOn: '',
    planId: '',
    minPaidBoxes: '',
    topSpendPercent: '',
    selection: 'all',
    sharePercent: '',
    minGapCycles: '',
    leadHours: '',
    ...overrides,
  });

  test('when the merchant opens Retention, then the nav links it and the hub links every section with a line of status from real data', async () => {
    const { merchant, addon } = await giftStore();
    const browser = await signedIn(merchant);
    const live = (
      await api(merchant)
        .post('/gift-campaigns', {
          name: 'Live one',
          giftAddonIds: [addon.id],
          unitCostMinor: 300,
          stockBudget: 5,
          costBudgetMinor: 5000,
          startsOn: '2026-03-01',
        })
        .expect(201)
    ).body;
    await api(merchant).post(`/gift-campaigns/${live.id}/activate`).expect(200);
    await api(merchant).post('/promo-codes', { code: 'SPRING', description: '10% off', percentOff: 10 }).expect(201);
    await api(merchant).post('/promo-codes', { code: 'SUMMER', description: '20% off', percentOff: 20 }).expect(201);

    const hub = await browser.get('/merchant/retention');
    expect(hub.status).toBe(200);
    expect(hub.text).toContain('<a href="/merchant/retention">Retention</a>');
    for (const path of ['gifts', 'referrals', 'promo-codes', 'perks', 'loyalty', 'offers']) expect(hub.text).toContain(`href="/merchant/retention/${path}"`);
    expect(hub.text).toContain('1 campaign live');
    expect(hub.text).toContain('No referral waiting for review');
    expect(hub.text).toContain('2 codes usable');
  });

  test('when a campaign is created from the form, then its page shows the dry run (who and what stock) before activation; activate asks first, then the API says it is live and the awards follow', async () => {
    const { merchant, shopper, addon } = await giftStore();
    // Two days before the April box's cut-off: the dry run will pick the subscriber.
    clock.set(new Date('2026-03-28T12:00:00Z'));
    const browser = await signedIn(merchant);
    const form = await browser.get('/merchant/retention/gifts/new');
    expect(form.status).toBe(200);
    expect(form.text).toContain(`<option value="${addon.id}">Tasting spoon`);

    const created = await browser.post('/merchant/retention/gifts', campaignForm(addon.id));
    expect(created.status).toBe(303);
    const campaignId = /\/merchant\/retention\/gifts\/(gcp_[0-9a-z]+)\?done=created#receipt$/.exec(created.headers.location as string)?.[1];
    expect(campaignId).toBeDefined();
    expect((await api(merchant).get(`/gift-campaigns/${campaignId}`).expect(200)).body).toMatchObject({
      status: 'draft',
      giftAddonIds: [addon.id],
      unitCost: { amountMinor: 300, currency: 'USD' },
      stockBudget: 10,
      costBudget: { amountMinor: 10_000, currency: 'USD' },
      startsOn: '2026-03-01',
    });

    // The dry run picks the subscriber, and nothing is given.
    const page = await browser.get(created.headers.location as string);
    expect(page.status).toBe(200);
    expect(page.text).toContain('The campaign is created as a draft');
    expect(page.text).toContain('Dry run: what activating would give');
    expect(page.text).toContain('1 box would get a gift, of 1 eligible box.');
    expect(page.text).toContain('1 gift from the stock budget (9 left after), $3.00 of the cost budget ($97.00 left after).');
    expect(page.text).toContain(`href="/merchant/subscribers/${shopper.subscription.id}"`);
    expect(page.text).toContain(`href="/merchant/retention/gifts/${campaignId}/activate"`);

    const confirm = await browser.get(`/merchant/retention/gifts/${campaignId}/activate`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('1 box would get a gift');
    expect(confirm.text).toContain('Yes, activate the campaign');
    expect((await api(merchant).get(`/gift-campaigns/${campaignId}`)).body.status).toBe('draft'); // asking changes nothing

    expect((await browser.post(`/merchant/retention/gifts/${campaignId}/activate`, {}, { csrf: 'forged' })).status).toBe(403);
    expect((await api(merchant).get(`/gift-campaigns/${campaignId}`)).body.status).toBe('draft');

    const activated = await browser.post(`/merchant/retention/gifts/${campaignId}/activate`, {});
    expect(activated.status).toBe(303);
    expect(activated.headers.location).toBe(`/merchant/retention/gifts/${campaignId}?done=activated#receipt`);
    expect((await api(merchant).get(`/gift-campaigns/${campaignId}`)).body.status).toBe('active');

    await attachSurpriseGifts({ clock, logger: silentLogger }, { merchantId: merchant.id });
    const after = await browser.get(`/merchant/retention/gifts/${campaignId}?done=activated`);
    expect(after.text).toContain('The campaign is live');
    expect(after.text).toMatch(/<span class="status award-granted">Granted<\/span>/);
    expect(after.text).toContain('(1 granted)');

    const end = await browser.get(`/merchant/retention/gifts/${campaignId}/end`);
    expect(end.text).toContain('Yes, end the campaign');
    expect((await browser.post(`/merchant/retention/gifts/${campaignId}/end`, {})).status).toBe(303);
    expect((await api(merchant).get(`/gift-campaigns/${campaignId}`)).body.status).toBe('ended');
    // An ended campaign cannot be activated again: said, not a 5xx.
    const again = await browser.post(`/merchant/retention/gifts/${campaignId}/activate`, {});
    expect(again.status).toBe(409);
    expect(again.text).toContain('cannot be made active');
  });

  test('when the campaign form is wrong, then nothing is created and each refusal is beside its field in the merchant’s words, with what was typed kept', async () => {
    const { merchant, addon } = await giftStore();
    const other = await createMerchant({}, clock);
    const theirAddon = (
      await api(other)
        .post('/addons', buildAddonInput({ name: 'Not yours' }))
        .expect(201)
    ).body as { id: string };
    const browser = await signedIn(merchant);
    await browser.get('/merchant/retention/gifts/new');

    const refused = await browser.post(
      '/merchant/retention/gifts',
      campaignForm(addon.id, {
        name: '',
        unitCost: 'three',
        stockBudget: '0',
        startsOn: '2026-03-10',
        endsOn: '2026-03-01',
        selection: 'random_share',
        sharePercent: '',
      }),
    );
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('<p class="field-error" id="name-error">Give the campaign a name (up to 120 characters)</p>');
    expect(refused.text).toContain('<p class="field-error" id="unitCost-error">Type an amount such as 24.00</p>');
    expect(refused.text).toContain('<p class="field-error" id="stockBudget-error">Type how many gifts at most, from 1 to 10,000</p>');
    expect(refused.text).toContain('<p class="field-error" id="endsOn-error">The last date must be on or after the first date</p>');
    expect(refused.text).toContain('<p class="field-error" id="sharePercent-error">');
    expect(refused.text).toContain('value="three"');

    const notYours = await browser.post('/merchant/retention/gifts', campaignForm(theirAddon.id));
    expect(notYours.status).toBe(400);
    expect(notYours.text).toContain('<p class="field-error" id="giftAddonId-error">Choose one of your add-ons as the gift</p>');

    const stray = await browser.post('/merchant/retention/gifts', { ...campaignForm(addon.id), admin: 'yes' });
    expect(stray.status).toBe(400);
    expect(stray.text).toContain('This form has fields it should not have.');
    expect((await api(merchant).get('/gift-campaigns').expect(200)).body.data).toEqual([]);
  });

  test('when another store, or nobody signed in, asks for a campaign, a referral or a promo code, then nothing is shown or changed', async () => {
    const { merchant, addon } = await giftStore();
    const campaign = (
      await api(merchant)
        .post('/gift-campaigns', { name: 'Mine', giftAddonIds: [addon.id], unitCostMinor: 300, stockBudget: 5, costBudgetMinor: 5000, startsOn: '2026-03-01' })
        .expect(201)
    ).body;
    const code = (await api(merchant).post('/promo-codes', { code: 'MINE10', description: '10% off', percentOff: 10 }).expect(201)).body;
    const { referralId } = await heldReferral(merchant);

    const other = await signedIn(await createMerchant({ name: 'Other store' }, clock));
    for (const path of [
      `/merchant/retention/gifts/${campaign.id}`,
      `/merchant/retention/gifts/${campaign.id}/activate`,
      `/merchant/retention/gifts/${campaign.id}/end`,
      `/merchant/retention/referrals/${referralId}/reject`,
      `/merchant/retention/promo-codes/${code.id}`,
      `/merchant/retention/promo-codes/${code.id}/archive`,
    ]) {
      expect([path, (await other.get(path)).status]).toEqual([path, 404]);
    }
    await other.get('/merchant/retention');
    for (const path of [
      `/merchant/retention/gifts/${campaign.id}/activate`,
      `/merchant/retention/gifts/${campaign.id}/end`,
      `/merchant/retention/referrals/${referralId}/approve`,
      `/merchant/retention/referrals/${referralId}/reject`,
      `/merchant/retention/promo-codes/${code.id}/archive`,
    ]) {
      expect([path, (await other.post(path, {})).status]).toEqual([path, 404]);
    }
    expect((await other.get('/merchant/retention/gifts')).text).not.toContain(campaign.id);
    expect((await other.get('/merchant/retention/referrals?status=held')).text).not.toContain(referralId);
    expect((await other.get('/merchant/retention/promo-codes')).text).not.toContain('MINE10');

    const nobody = pageClient(app);
    for (const path of [
      '/merchant/retention',
      '/merchant/retention/gifts',
      `/merchant/retention/gifts/${campaign.id}`,
      '/merchant/retention/referrals',
      `/merchant/retention/promo-codes/${code.id}`,
    ]) {
      const away = await nobody.get(path);
      expect([path, away.status]).toEqual([path, 303]);
      expect(away.headers.location).toContain('/merchant/sign-in?next=');
    }
    await nobody.get('/merchant/sign-in');
    expect((await nobody.post(`/merchant/retention/gifts/${campaign.id}/activate`, {})).headers.location).toContain('/merchant/sign-in');

    expect((await api(merchant).get(`/gift-campaigns/${campaign.id}`)).body.status).toBe('draft');
    expect((await api(merchant).get(`/referrals/${referralId}`)).body.status).toBe('held');
    expect((await api(merchant).get(`/promo-codes/${code.id}`)).body.status).toBe('active');
  });

  /** A referral held for review: the friend ships to the referrer's address. */
  async function heldReferral(merchant: TestMerchant) {
    await api(merchant)
      .put('/referral-program', { enabled: true, welcomeOffer: { type: 'percent', percentOff: 20 }, referrerReward: { type: 'points', points: 500 } })
      .expect(200);
    const address = { line1: `${Math.floor(Math.random() * 1e6)} Oak Avenue`, city: 'Springfield', postalCode: '62704', country: 'US' };
    const referrer = (
      await api(merchant)
        .post('/customers', buildCustomerInput({ name: 'Ana Referrer', shippingAddress: address }))
        .expect(201)
    ).body;
    const friend = (
      await api(merchant)
        .post('/customers', buildCustomerInput({ name: 'Ben Friend', shippingAddress: address }))
        .expect(201)
    ).body;
    const code = (await api(merchant).get(`/customers/${referrer.id}/referral-code`).expect(200)).body.code as string;
    const { referralId } = await attributeReferral(
      { clock },
      { merchantId: merchant.id, code, friendCustomerId: friend.id, friendSubscriptionId: newId('sub') },
    );
    return { referralId };
  }

  test('when a referral is held, then the list filtered by status shows it with why; approve makes it pending, reject asks first and records the reason, as the API does', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const first = await heldReferral(merchant);
    const browser = await signedIn(merchant);

    const held = await browser.get('/merchant/retention/referrals?status=held');
    expect(held.status).toBe(200);
    expect(held.text).toContain('Waiting for review');
    expect(held.text).toContain('Held: the friend ships to the referrer’s address');
    expect(held.text).toContain('Ben Friend');
    expect(held.text).toContain(`action="/merchant/retention/referrals/${first.referralId}/approve"`);
    expect((await browser.get('/merchant/retention/referrals?status=rewarded')).text).not.toContain(first.referralId);

    expect((await browser.post(`/merchant/retention/referrals/${first.referralId}/approve`, {}, { csrf: 'forged' })).status).toBe(403);
    const approved = await browser.post(`/merchant/retention/referrals/${first.referralId}/approve`, {});
    expect(approved.status).toBe(303);
    expect((await api(merchant).get(`/referrals/${first.referralId}`)).body.status).toBe('pending');
    expect((await browser.get(approved.headers.location as string)).text).toContain('The referral is approved');

    const second = await heldReferral(merchant);
    const confirm = await browser.get(`/merchant/retention/referrals/${second.referralId}/reject`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Yes, reject the referral');
    expect((await api(merchant).get(`/referrals/${second.referralId}`)).body.status).toBe('held');
    const tooLong = await browser.post(`/merchant/retention/referrals/${second.referralId}/reject`, { note: 'x'.repeat(501) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('<p class="field-error" id="note-error">Keep the reason under 500 characters</p>');
    const rejected = await browser.post(`/merchant/retention/referrals/${second.referralId}/reject`, { note: 'Same household' });
    expect(rejected.status).toBe(303);
    expect((await api(merchant).get(`/referrals/${second.referralId}`)).body).toMatchObject({ status: 'rejected', reviewNote: 'Same household' });
  });

  test('when the merchant saves the referral programme from the form, then the API shows it; a bad value is refused beside its field', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const browser = await signedIn(merchant);
    const form = await browser.get('/merchant/retention/referrals/programme');
    expect(form.status).toBe(200);
    const bad = await browser.post('/merchant/retention/referrals/programme', {
      enabled: 'on',
      welcomeType: 'percent',
      welcomeValue: '150',
      rewardType: 'credit',
      rewardValue: 'lots',
      maxReferralsPer30Days: '5',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<p class="field-error" id="welcomeValue-error">Type a whole percent from 1 to 100</p>');
    expect(bad.text).toContain('<p class="field-error" id="rewardValue-error">Type an amount such as 24.00</p>');
    await api(merchant).get('/referral-program').expect(404);

    const saved = await browser.post('/merchant/retention/referrals/programme', {
      enabled: 'on',
      welcomeType: 'amount',
      welcomeValue: '5.00',
      rewardType: 'credit',
      rewardValue: '10',
      maxReferralsPer30Days: '5',
    });
    expect(saved.status).toBe(303);
    expect((await api(merchant).get('/referral-program').expect(200)).body).toMatchObject({
      enabled: true,
      welcomeOffer: { type: 'amount', amountOffMinor: 500 },
      referrerReward: { type: 'credit', creditMinor: 1000 },
      review: { maxReferralsPer30Days: 5 },
    });
    const list = await browser.get(saved.headers.location as string);
    expect(list.text).toContain('The friend gets $5.00 off their first box.');
  });

  test('when a promo code is created from the form, then the API has it; its page lists its redemptions; archive asks first, then no one can apply it', async () => {
    const merchant = await createMerchant({ name: 'Bean There', timezone: 'America/New_York' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/retention/promo-codes/new');
    const refused = await browser.post('/merchant/retention/promo-codes', {
      code: 'no spaces',
      description: '',
      discountType: 'percent',
      discountValue: '0',
      duration: 'repeating',
      durationInBoxes: '',
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('<p class="field-error" id="code-error">Type 3 to 32 letters, digits or dashes, such as SPRING-10</p>');
    expect(refused.text).toContain('<p class="field-error" id="description-error">');
    expect(refused.text).toContain('<p class="field-error" id="discountValue-error">Type a whole percent from 1 to 100</p>');
    expect(refused.text).toContain('<p class="field-error" id="durationInBoxes-error">For a number of boxes, type how many: from 2 to 52</p>');

    const created = await browser.post('/merchant/retention/promo-codes', {
      code: 'spring-5',
      description: '$5 off your first three boxes',
      discountType: 'amount',
      discountValue: '5',
      currency: '',
      duration: 'repeating',
      durationInBoxes: '3',
      maxRedemptions: '100',
      expiresOn: '2026-04-30',
    });
    expect(created.status).toBe(303);
    const codeId = /promo-codes\/([^?]+)\?done=created/.exec(created.headers.location as string)![1]!;
    expect((await api(merchant).get(`/promo-codes/${codeId}`).expect(200)).body).toMatchObject({
      code: 'SPRING-5',
      amountOff: { amountMinor: 500, currency: 'USD' },
      duration: 'repeating',
      durationInBoxes: 3,
      maxRedemptions: 100,
      expiresAt: '2026-05-01T04:00:00.000Z', // the end of Apr 30 in New York
    });
    const taken = await browser.post('/merchant/retention/promo-codes', {
      code: 'SPRING-5',
      description: 'again',
      discountType: 'percent',
      discountValue: '10',
    });
    expect(taken.status).toBe(409);
    expect(taken.text).toContain('Another promo code of yours has this code');

    const shopper = await subscribeShopper(app, merchant);
    await api(merchant).post(`/subscriptions/${shopper.subscription.id}/promo-code`, { code: 'SPRING-5' }).expect(200);
    const page = await browser.get(`/merchant/retention/promo-codes/${codeId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`href="/merchant/subscribers/${shopper.subscription.id}"`);
    expect(page.text).toContain('1 of 100 uses');

    const confirm = await browser.get(`/merchant/retention/promo-codes/${codeId}/archive`);
    expect(confirm.text).toContain('Yes, archive the code');
    expect((await api(merchant).get(`/promo-codes/${codeId}`)).body.status).toBe('active');
    expect((await browser.post(`/merchant/retention/promo-codes/${codeId}/archive`, {}, { csrf: null })).status).toBe(403);
    const archived = await browser.post(`/merchant/retention/promo-codes/${codeId}/archive`, {});
    expect(archived.status).toBe(303);
    expect((await api(merchant).get(`/promo-codes/${codeId}`)).body).toMatchObject({ status: 'archived', usable: false });
    expect((await browser.get(archived.headers.location as string)).text).toContain('The promo code is archived');
  });
});
