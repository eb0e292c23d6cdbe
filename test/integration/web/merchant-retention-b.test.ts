import request from 'supertest';
import { LoyaltyAccountModel } from '../../../src/loyalty/loyalty.model';
import { loyaltyAccountId } from '../../../src/loyalty/loyalty-standing.service';
import { FakeClock } from '../../../src/shared/time';
import { buildAddonInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { pageClient } from '../../helpers/pages';
import { demoStore, signedInShopper, signInMailbox, subscribeOnStorefront } from '../../helpers/portal';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * The merchant's Retention pages, part B: perks, the loyalty programme and its tiers, offers — on the API's
 * own services and schemas; other stores' ids, signed-out visitors and shoppers open nothing; forged forms are
 * refused; a bad input is said beside its field and is never a 5xx.
 */
describe('the merchant’s perks, loyalty and offers pages', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const mailbox = signInMailbox();
  const testApp = buildTestApp({ clock, sendSignInMail: mailbox.sendSignInMail });
  const { app } = testApp;

  async function signedIn(merchant: TestMerchant) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' });
    return browser;
  }

  const api = (merchant: TestMerchant, path: string) => request(app).get(`/api/v1${path}`).set(merchant.auth);
  const post = (merchant: TestMerchant, path: string, body: object) => request(app).post(`/api/v1${path}`).set(merchant.auth).send(body);
  const fieldError = (field: string, words: string) => `<p class="field-error" id="${field}-error">${words}</p>`;

  test('when a perk gives an amount, then the amount keeps its currency (the store default unless given), a currency without an amount is refused, and the page says which boxes get it', async () => {
    const merchant = await createMerchant({ name: 'Two currencies' }, clock);
    const inDefault = await post(merchant, '/perks', { name: '$5 off add-ons', benefit: { kind: 'addon_discount', amountOffMinor: 500 } }).expect(201);
    expect(inDefault.body.benefit).toEqual({ kind: 'addon_discount', amountOffMinor: 500, currency: 'USD' });
    const inEuros = await post(merchant, '/perks', {
      name: '€3 off box 6',
      benefit: { kind: 'milestone_bonus', boxNumbers: [6], bonus: { type: 'amount_off', amountOffMinor: 300, currency: 'EUR' } },
    }).expect(201);
    expect(inEuros.body.benefit.bonus).toEqual({ type: 'amount_off', amountOffMinor: 300, currency: 'EUR' });
    const refused = await post(merchant, '/perks', { name: '10% off', benefit: { kind: 'addon_discount', percentOff: 10, currency: 'EUR' } }).expect(400);
    expect(JSON.stringify(refused.body)).toContain('only goes with amountOffMinor');

    const list = await (await signedIn(merchant)).get('/merchant/retention/perks');
    expect(list.text).toContain('$5.00 off the add-ons in each box (boxes in USD)');
    expect(list.text).toContain('€3.00 off (boxes in EUR) in paid box 6');
  });

  test('when a merchant creates a perk from the form, then it is the perk the API shows, listed with what it gives and to whom; archiving asks first, then stops it', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const plan = (await post(merchant, '/plans', buildPlanInput({ name: 'House box' })).expect(201)).body;
    const addon = (await post(merchant, '/addons', buildAddonInput({ name: 'Ceramic mug' })).expect(201)).body;
    const browser = await signedIn(merchant);
    const form = await browser.get('/merchant/retention/perks/new');
    expect(form.status).toBe(200);
    expect(form.text).toContain('<a href="/merchant/retention">Retention</a>');
    expect(form.text).toContain(`value="${addon.id}">Ceramic mug</option>`);
    expect(form.text).toContain(`value="${plan.id}"> House box`);

    const created = await browser.post('/merchant/retention/perks', {
      name: 'A mug every third box',
      description: 'For our regulars',
      kind: 'free_addon',
      'freeAddon.addonId': addon.id,
      'freeAddon.quantity': '',
      'freeAddon.everyNthBox': '3',
      'discount.type': 'percent',
      'discount.value': '',
      'milestone.bonusType': 'points',
      planIds: plan.id,
      minPaidBoxes: '2',
      startsOn: '2026-06-01',
      endsOn: '',
    });
    expect(created.status).toBe(303);
    const perkId = /\/merchant\/retention\/perks\/(prk_[0-9a-z]+)\?done=created#receipt$/.exec(created.headers.location as string)?.[1];
    expect(perkId).toBeDefined();
    expect((await api(merchant, `/perks/${perkId}`).expect(200)).body).toMatchObject({
      name: 'A mug every third box',
      description: 'For our regulars',
      status: 'active',
      eligibility: { planIds: [plan.id], minPaidBoxes: 2, startsOn: '2026-06-01' },
      benefit: { kind: 'free_addon', addonId: addon.id, quantity: 1, everyNthBox: 3 },
    });

    const page = await browser.get(created.headers.location as string);
    expect(page.text).toContain('The perk is created');
    expect(page.text).toContain('A free Ceramic mug in every 3rd box');
    expect(page.text).toContain('On House box');
    expect(page.text).toContain('After 2 paid boxes');
    expect(page.text).toContain('Boxes charged from Monday, June 1, 2026');

    const list = await browser.get('/merchant/retention/perks');
    expect(list.text).toContain(`href="/merchant/retention/perks/${perkId}"`);
    expect(list.text).toContain('A free Ceramic mug in every 3rd box');

    const confirm = await browser.get(`/merchant/retention/perks/${perkId}/archive`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Archive A mug every third box?');
    expect((await api(merchant, `/perks/${perkId}`).expect(200)).body.status).toBe('active'); // asking changed nothing
    const archived = await browser.post(`/merchant/retention/perks/${perkId}/archive`, {});
    expect(archived.status).toBe(303);
    expect(archived.headers.location).toBe(`/merchant/retention/perks/${perkId}?done=archived#receipt`);
    expect((await api(merchant, `/perks/${perkId}`).expect(200)).body.status).toBe('archived');
    expect((await browser.get('/merchant/retention/perks')).text).not.toContain(perkId);
    expect((await browser.get('/merchant/retention/perks?status=archived')).text).toContain(perkId);
    // Archiving twice is the service's refusal, said on a page, not a 5xx.
    expect((await browser.post(`/merchant/retention/perks/${perkId}/archive`, {})).status).toBe(409);
  });

  test('when a perk’s form is wrong, then nothing is created and each refusal is beside its field in words, with what was typed kept', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const other = await createMerchant({ name: 'Other Beans' }, clock);
    const theirAddon = (await post(other, '/addons', buildAddonInput()).expect(201)).body.id;
    const browser = await signedIn(merchant);
    await browser.get('/merchant/retention/perks/new');

    const refused = await browser.post('/merchant/retention/perks', {
      name: '',
      kind: 'addon_discount',
      'discount.type': 'percent',
      'discount.value': '150',
      minPaidBoxes: 'three',
      startsOn: '2026-06-10',
      endsOn: '2026-06-01',
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(fieldError('name', 'Fill this in'));
    expect(refused.text).toContain(fieldError('discount.value', 'Must be at most 100'));
    expect(refused.text).toContain(fieldError('minPaidBoxes', 'Type a whole number of boxes, such as 3, or leave it empty'));
    expect(refused.text).toContain('value="150"');
    expect(refused.text).toContain('value="three"');
    expect(refused.text).toContain('aria-describedby="discount.value-error"');

    const amount = await browser.post('/merchant/retention/perks', {
      name: 'Mug money',
      kind: 'milestone_bonus',
      'milestone.boxNumbers': '3, six',
      'milestone.bonusType': 'amount_off',
      'milestone.amount': '2.505',
    });
    expect(amount.status).toBe(400);
    expect(amount.text).toContain(fieldError('milestone.boxNumbers', 'Type whole box numbers separated by commas, such as 3, 6, 12'));
    expect(amount.text).toContain(fieldError('milestone.amount', 'Type an amount such as 24.00'));

    // The service's refusals (another store's add-on; a window ending before it starts), beside their fields.
    const theirs = await browser.post('/merchant/retention/perks', {
      name: 'Theirs',
      kind: 'free_addon',
      'freeAddon.addonId': theirAddon,
      'freeAddon.everyNthBox': '1',
    });
    expect(theirs.status).toBe(400);
    expect(theirs.text).toContain(fieldError('freeAddon.addonId', 'Names an add-on that is not yours'));
    const window = await browser.post('/merchant/retention/perks', { name: 'Window', kind: 'free_shipping', startsOn: '2026-06-10', endsOn: '2026-06-01' });
    expect(window.status).toBe(400);
    expect(window.text).toContain(fieldError('endsOn', 'Must be on or after the start date'));

    const extra = await browser.post('/merchant/retention/perks', { name: 'Sneaky', kind: 'free_shipping', merchantId: other.id });
    expect(extra.status).toBe(400);
    expect(extra.text).toContain('This form has fields it should not have.');
    expect((await api(merchant, '/perks').expect(200)).body.data).toEqual([]);

    const shipping = await browser.post('/merchant/retention/perks', { name: 'Free shipping', kind: 'free_shipping' });
    expect(shipping.status).toBe(303);
    expect((await api(merchant, '/perks').expect(200)).body.data).toMatchObject([
      { name: 'Free shipping', benefit: { kind: 'free_shipping' }, eligibility: {} },
    ]);
  });

  const programmeForm = (overrides: Record<string, string> = {}) => ({
    enabled: 'on',
    pointsPerUnit: '2',
    'redemption.points': '100',
    'redemption.credit': '5.00',
    autoApply: 'on',
    expires: 'on',
    'expiry.afterMonths': '12',
    'expiry.noticeDays': '14',
    tierBasis: 'spend',
    'tiers.0.name': 'Silver',
    'tiers.0.key': '',
    'tiers.0.threshold': '100',
    'tiers.0.multiplier': '',
    'tiers.1.name': 'Gold',
    'tiers.1.key': 'gold',
    'tiers.1.threshold': '250.50',
    'tiers.1.multiplier': '150',
    'tiers.2.name': '',
    'tiers.2.key': '',
    'tiers.2.threshold': '',
    'tiers.2.multiplier': '',
    ...overrides,
  });

  test('when a merchant sets up the loyalty programme and its tiers from the form, then the API shows the same programme, and the page counts each tier’s shoppers of this store only', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const other = await createMerchant({ name: 'Other Beans' }, clock);
    const browser = await signedIn(merchant);
    const none = await browser.get('/merchant/retention/loyalty');
    expect(none.status).toBe(200);
    expect(none.text).toContain('You have no loyalty programme yet');
    await api(merchant, '/loyalty-program').expect(404);

    const form = await browser.get('/merchant/retention/loyalty/edit');
    expect(form.text).toContain('name="tiers.2.name"');
    const saved = await browser.post('/merchant/retention/loyalty', programmeForm());
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/merchant/retention/loyalty?done=saved#receipt');
    expect((await api(merchant, '/loyalty-program').expect(200)).body).toMatchObject({
      enabled: true,
      currency: 'USD',
      pointsPerUnit: 2,
      redemption: { points: 100, creditMinor: 500 },
      autoApply: true,
      expiry: { afterMonths: 12, noticeDays: 14 },
      tierBasis: 'spend',
      tiers: [
        { key: 'silver', name: 'Silver', threshold: 10000, earnMultiplierPercent: 100 },
        { key: 'gold', name: 'Gold', threshold: 25050, earnMultiplierPercent: 150 },
      ],
    });

    const account = (merchantId: string, customerId: string, tierKey: string) =>
      LoyaltyAccountModel.create({ _id: loyaltyAccountId(merchantId, customerId), merchantId, customerId, tierKey, tierHistory: [], createdAt: clock.now() });
    await account(merchant.id, 'cus_a', 'silver');
    await account(merchant.id, 'cus_b', 'silver');
    await account(merchant.id, 'cus_c', 'gold');
    await account(other.id, 'cus_d', 'gold'); // another store's shopper, in a tier of the same code
    const perk = (
      await post(merchant, '/perks', { name: 'Gold shipping', eligibility: { tierKeys: ['gold'] }, benefit: { kind: 'free_shipping' } }).expect(201)
    ).body;

    const page = await browser.get(saved.headers.location as string);
    expect(page.text).toContain('The loyalty programme is saved');
    expect(page.text).toContain('2 points for each $1.00 paid for a box');
    expect(page.text).toContain('100 points give $5.00 of credit');
    const row = (name: string) => new RegExp(`<th scope="row">${name} <code>[a-z]+</code></th>([\\s\\S]*?)</tr>`).exec(page.text)?.[1] ?? '';
    expect(row('Silver')).toContain('$100.00 spent in 12 months');
    expect(row('Silver')).toMatch(/<td>2<\/td>\s*$/);
    expect(row('Gold')).toContain('$250.50 spent in 12 months');
    expect(row('Gold')).toContain('1.5× points');
    expect(row('Gold')).toContain(`href="/merchant/retention/perks/${perk.id}"`);
    expect(row('Gold')).toMatch(/<td>1<\/td>\s*$/);

    // The edit form shows the programme as it is.
    const edit = await browser.get('/merchant/retention/loyalty/edit');
    expect(edit.text).toContain('id="tiers.1.threshold" name="tiers.1.threshold" value="250.50"');
    expect(edit.text).toContain('id="tiers.0.key" name="tiers.0.key" value="silver"');
  });

  test('when the programme’s form is wrong, then the programme is unchanged and the form comes back with what was typed and each refusal beside its field', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/retention/loyalty/edit');
    const refused = await browser.post(
      '/merchant/retention/loyalty',
      programmeForm({ 'redemption.credit': '5,00', 'tiers.1.multiplier': '50', 'tiers.1.key': 'Gold Tier' }),
    );
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(fieldError('redemption.credit', 'Type an amount such as 24.00'));
    expect(refused.text).toContain(fieldError('tiers.1.multiplier', 'Must be at least 100'));
    expect(refused.text).toContain(fieldError('tiers.1.key', 'Use lower-case letters, digits, _ and - only'));
    expect(refused.text).toContain('value="5,00"');
    expect(refused.text).toContain('value="Gold Tier"');

    // Thresholds that do not rise: the service's rule, beside the tiers.
    const falling = await browser.post('/merchant/retention/loyalty', programmeForm({ 'tiers.1.threshold': '50' }));
    expect(falling.status).toBe(400);
    expect(falling.text).toContain(fieldError('tiers', 'Must be listed lowest first, with rising thresholds'));
    const boxes = await browser.post('/merchant/retention/loyalty', programmeForm({ tierBasis: 'paid_boxes', 'tiers.0.threshold': '6.5' }));
    expect(boxes.status).toBe(400);
    expect(boxes.text).toContain(fieldError('tiers.0.threshold', 'Type a whole number of paid boxes, such as 6'));
    await api(merchant, '/loyalty-program').expect(404);

    // Saved, then changed: expiry off and a tier removed.
    expect((await browser.post('/merchant/retention/loyalty', programmeForm())).status).toBe(303);
    const { expires: _expires, ...noExpiry } = programmeForm({ 'tiers.1.name': '', 'tiers.1.key': '', 'tiers.1.threshold': '', 'tiers.1.multiplier': '' });
    expect((await browser.post('/merchant/retention/loyalty', noExpiry)).status).toBe(303);
    expect((await api(merchant, '/loyalty-program').expect(200)).body).toMatchObject({ expiry: null, tiers: [{ key: 'silver' }] });
  });

  test('when a merchant creates offers of two kinds from the form, then the API shows them, the list groups them by kind, and archiving asks first', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/retention/offers/new');
    const threshold = await browser.post('/merchant/retention/offers', {
      name: 'Big box saver',
      kind: 'threshold',
      'threshold.basis': 'box_total',
      'threshold.minSpend': '60',
      'threshold.amountOff': '5.00',
      'comeback.type': 'percent',
      'reward.type': 'points',
      minPaidBoxes: '1',
    });
    expect(threshold.status).toBe(303);
    const thresholdId = /offers\/(ofr_[0-9a-z]+)\?done=created/.exec(threshold.headers.location as string)![1]!;
    const comeback = await browser.post('/merchant/retention/offers', {
      name: 'Welcome back',
      kind: 'comeback',
      'comeback.withinDays': '90',
      'comeback.type': 'percent',
      'comeback.value': '20',
      'threshold.basis': 'box_total',
      'reward.type': 'points',
    });
    expect(comeback.status).toBe(303);
    const comebackId = /offers\/(ofr_[0-9a-z]+)/.exec(comeback.headers.location as string)![1]!;
    expect((await api(merchant, `/offers/${thresholdId}`).expect(200)).body).toMatchObject({
      kind: 'threshold',
      currency: 'USD',
      eligibility: { minPaidBoxes: 1 },
      threshold: { basis: 'box_total', minSpendMinor: 6000, amountOffMinor: 500 },
    });
    expect((await api(merchant, `/offers/${comebackId}`).expect(200)).body).toMatchObject({
      kind: 'comeback',
      comeback: { withinDays: 90, percentOff: 20, amountOffMinor: null },
    });

    const page = await browser.get(threshold.headers.location as string);
    expect(page.text).toContain('The offer is created');
    expect(page.text).toContain('$5.00 off when a box reaches $60.00');
    const all = await browser.get('/merchant/retention/offers');
    expect(all.text).toContain('<h2 id="kind-threshold">Spend thresholds</h2>');
    expect(all.text).toContain('<h2 id="kind-comeback">Comeback</h2>');
    const comebacks = await browser.get('/merchant/retention/offers?kind=comeback');
    expect(comebacks.text).toContain(comebackId);
    expect(comebacks.text).not.toContain(thresholdId);
    expect(comebacks.text).toContain('20% off the first box of a shopper who subscribes again within 90 days of ending');

    expect((await browser.get(`/merchant/retention/offers/${comebackId}/archive`)).text).toContain('Archive Welcome back?');
    expect((await api(merchant, `/offers/${comebackId}`).expect(200)).body.status).toBe('active');
    expect((await browser.post(`/merchant/retention/offers/${comebackId}/archive`, {})).status).toBe(303);
    expect((await api(merchant, `/offers/${comebackId}`).expect(200)).body.status).toBe('archived');
  });

  test('when an offer’s form is wrong, then nothing is created and each refusal is beside its field', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/retention/offers/new');
    const more = await browser.post('/merchant/retention/offers', {
      name: 'Too generous',
      kind: 'threshold',
      'threshold.minSpend': '10',
      'threshold.amountOff': '20',
    });
    expect(more.status).toBe(400);
    expect(more.text).toContain(fieldError('threshold.amountOff', 'Must not be more than the spend to reach'));
    const comeback = await browser.post('/merchant/retention/offers', {
      name: 'Back',
      kind: 'comeback',
      'comeback.withinDays': '400',
      'comeback.type': 'amount',
      'comeback.value': '',
    });
    expect(comeback.status).toBe(400);
    expect(comeback.text).toContain(fieldError('comeback.withinDays', 'Must be at most 365'));
    expect(comeback.text).toContain(fieldError('comeback.value', 'Type an amount'));
    const reward = await browser.post('/merchant/retention/offers', {
      name: 'Birthday',
      kind: 'birthday',
      'reward.type': 'credit',
      'reward.credit': '2000000',
    });
    expect(reward.status).toBe(400);
    expect(reward.text).toContain(fieldError('reward.credit', 'Must be at most $1,000,000.00'));
    const kind = await browser.post('/merchant/retention/offers', { name: 'What', kind: 'lottery' });
    expect(kind.status).toBe(400);
    expect(kind.text).toContain(fieldError('kind', 'Choose the kind of offer'));
    expect((await api(merchant, '/offers').expect(200)).body.data).toEqual([]);

    // Typed by hand: a field sent twice, an unknown kind or status, a cursor that is not ours — answered, never a 5xx.
    const twice = await browser.agent
      .post('/merchant/retention/offers')
      .set('accept', 'text/html')
      .type('form')
      .send(`_csrf=${encodeURIComponent(/name="_csrf" value="([^"]+)"/.exec(kind.text)![1]!)}&name=a&name=b&kind=comeback`);
    expect(twice.status).toBe(400);
    expect(twice.text).toContain('This form has fields it should not have.');
    expect((await browser.get('/merchant/retention/offers?kind=lottery&after=not-a-cursor')).status).toBe(200);
    expect((await browser.get('/merchant/retention/perks?status=deleted&after=%00%00')).status).toBe(200);
  });

  test('when another store’s merchant asks for a perk or an offer, then every page and form is not found and nothing changes; their programme is their own', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const other = await createMerchant({ name: 'Other Beans' }, clock);
    const perk = (await post(other, '/perks', { name: 'Theirs', benefit: { kind: 'free_shipping' } }).expect(201)).body.id;
    const offer = (await post(other, '/offers', { kind: 'comeback', name: 'Theirs', withinDays: 30, percentOff: 10 }).expect(201)).body.id;
    await request(app)
      .put('/api/v1/loyalty-program')
      .set(other.auth)
      .send({
        enabled: true,
        pointsPerUnit: 1,
        redemption: { points: 100, creditMinor: 500 },
        autoApply: false,
        expiry: null,
        tierBasis: 'paid_boxes',
        tiers: [{ key: 'vip', name: 'Their VIP', threshold: 3, earnMultiplierPercent: 200 }],
      })
      .expect(200);
    const browser = await signedIn(merchant);
    expect((await browser.get('/merchant/retention/perks')).status).toBe(200);
    for (const path of [
      `/merchant/retention/perks/${perk}`,
      `/merchant/retention/perks/${perk}/archive`,
      `/merchant/retention/offers/${offer}`,
      `/merchant/retention/offers/${offer}/archive`,
      '/merchant/retention/perks/prk_nope',
      '/merchant/retention/offers/ofr_nope',
    ]) {
      expect([path, (await browser.get(path)).status]).toEqual([path, 404]);
    }
    for (const path of [`/merchant/retention/perks/${perk}/archive`, `/merchant/retention/offers/${offer}/archive`]) {
      expect([path, (await browser.post(path, {})).status]).toEqual([path, 404]);
    }
    expect((await api(other, `/perks/${perk}`).expect(200)).body.status).toBe('active');
    expect((await api(other, `/offers/${offer}`).expect(200)).body.status).toBe('active');
    expect((await browser.get('/merchant/retention/perks')).text).not.toContain(perk);
    expect((await browser.get('/merchant/retention/offers')).text).not.toContain(offer);
    const loyalty = await browser.get('/merchant/retention/loyalty');
    expect(loyalty.text).toContain('You have no loyalty programme yet');
    expect(loyalty.text).not.toContain('Their VIP');
    expect((await browser.get('/merchant/retention/perks/new')).text).not.toContain('Their VIP');
  });

  test('when nobody or a shopper is signed in, then every page sends them to the merchant’s sign-in; a form without this site’s token is refused and changes nothing', async () => {
    const anonymous = pageClient(app);
    await anonymous.get('/merchant/sign-in');
    for (const path of [
      '/merchant/retention/perks',
      '/merchant/retention/perks/new',
      '/merchant/retention/loyalty',
      '/merchant/retention/loyalty/edit',
      '/merchant/retention/offers',
    ]) {
      const away = await anonymous.get(path);
      expect([path, away.status, away.headers.location]).toEqual([path, 303, `/merchant/sign-in?next=${encodeURIComponent(path)}`]);
    }
    for (const path of ['/merchant/retention/perks', '/merchant/retention/loyalty', '/merchant/retention/offers']) {
      expect([path, (await anonymous.post(path, { name: 'x' })).headers.location]).toEqual([path, '/merchant/sign-in?next=%2Fmerchant']);
    }

    const store = await demoStore(clock);
    await subscribeOnStorefront(testApp, { email: 'ana@example.com' }, store.plans[0]!._id);
    const shopper = await signedInShopper(app, mailbox, 'ana@example.com');
    for (const path of ['/merchant/retention/perks', '/merchant/retention/loyalty', '/merchant/retention/offers/new']) {
      const away = await shopper.get(path);
      expect([path, away.status]).toEqual([path, 303]);
      expect(away.headers.location).toContain('/merchant/sign-in');
    }

    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/retention/perks/new');
    const mine = (await post(merchant, '/perks', { name: 'Mine', benefit: { kind: 'free_shipping' } }).expect(201)).body.id;
    for (const [path, fields] of [
      ['/merchant/retention/perks', { name: 'Forged', kind: 'free_shipping' }],
      [`/merchant/retention/perks/${mine}/archive`, {}],
      ['/merchant/retention/loyalty', programmeForm()],
      ['/merchant/retention/offers', { name: 'Forged', kind: 'comeback', 'comeback.withinDays': '9', 'comeback.type': 'percent', 'comeback.value': '5' }],
    ] as const) {
      expect([path, (await browser.post(path, fields, { csrf: 'forged-token' })).status]).toEqual([path, 403]);
      expect([path, (await browser.post(path, fields, { csrf: null })).status]).toEqual([path, 403]);
    }
    expect((await api(merchant, '/perks').expect(200)).body.data).toMatchObject([{ id: mine, status: 'active' }]);
    expect((await api(merchant, '/offers').expect(200)).body.data).toEqual([]);
    await api(merchant, '/loyalty-program').expect(404);
  });
});
