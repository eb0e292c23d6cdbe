import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { buildAddonInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** The merchant's catalog pages (/merchant/catalog): plans, add-ons and stock, on the API's own services. */
describe('the merchant’s catalog pages', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const { app } = buildTestApp({ clock });

  async function signedIn(merchant: TestMerchant) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' });
    return browser;
  }

  const api = (merchant: TestMerchant, path: string) => request(app).get(`/api/v1${path}`).set(merchant.auth);

  const newPlanForm = (overrides: Record<string, string> = {}) => ({
    name: 'House blend box',
    description: 'Fresh beans',
    currency: 'USD',
    'variants.0.name': 'Whole bean',
    'variants.0.sku': 'HB-WB',
    'variants.1.name': 'Ground',
    'variants.1.sku': 'HB-GR',
    'variants.2.name': '',
    'variants.2.sku': '',
    'cadences.0.intervalCount': '2',
    'cadences.0.interval': 'week',
    'cadences.0.price': '18.00',
    'cadences.1.intervalCount': '1',
    'cadences.1.interval': 'month',
    'cadences.1.price': '19.5',
    'cadences.2.intervalCount': '1',
    'cadences.2.interval': 'month',
    'cadences.2.price': '',
    trialDays: '7',
    discountType: 'percent',
    discountValue: '20',
    ...overrides,
  });

  test('when a merchant creates a plan with two variants and two cadences from the form, then it is listed and is the same plan the API shows, mirrored to Stripe', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const browser = await signedIn(merchant);
    const form = await browser.get('/merchant/catalog/plans/new');
    expect(form.status).toBe(200);
    expect(form.text).toContain('name="variants.2.sku"'); // three rows to fill, no JavaScript needed

    const created = await browser.post('/merchant/catalog/plans', newPlanForm());
    expect(created.status).toBe(303);
    const planId = /\/merchant\/catalog\/plans\/(plan_[0-9a-z]+)\?done=created#receipt$/.exec(created.headers.location as string)?.[1];
    expect(planId).toBeDefined();

    const plan = (await api(merchant, `/plans/${planId}`).expect(200)).body;
    expect(plan).toMatchObject({
      name: 'House blend box',
      description: 'Fresh beans',
      currency: 'USD',
      trialDays: 7,
      firstBoxDiscount: { type: 'percent', percentOff: 20 },
      variants: [
        { name: 'Whole bean', sku: 'HB-WB', status: 'active' },
        { name: 'Ground', sku: 'HB-GR', status: 'active' },
      ],
      cadences: [
        { key: 'week-2', price: { amountMinor: 1800, currency: 'USD' } },
        { key: 'month-1', price: { amountMinor: 1950, currency: 'USD' } },
      ],
    });
    expect(['pending', 'synced']).toContain(plan.stripe.state);

    const page = await browser.get(created.headers.location as string);
    expect(page.text).toContain('The plan is created.');
    expect(page.text).toContain('$18.00');
    expect(page.text).toContain('HB-GR');
    expect(page.text).toContain('20% off');

    const list = await browser.get('/merchant/catalog');
    expect(list.status).toBe(200);
    expect(list.text).toContain(`href="/merchant/catalog/plans/${planId}"`);
    expect(list.text).toContain('2 variants');
    expect(list.text).toContain('Every 2 weeks: $18.00');
    expect(list.text).toContain('Every month: $19.50');
    expect(list.text).toContain('<a href="/merchant/catalog">Catalog</a>'); // in the site's navigation
  });

  test('when a plan in yen is typed, then its prices are whole yen; a price with cents is refused beside its field', async () => {
    const merchant = await createMerchant({ name: 'Tokyo Beans' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/catalog/plans/new');
    const refused = await browser.post(
      '/merchant/catalog/plans',
      newPlanForm({ currency: 'JPY', 'cadences.0.price': '1800', 'cadences.1.price': '19.50', discountType: 'none' }),
    );
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('<p class="field-error" id="cadences.1.price-error">Type a whole amount, such as 500 (JPY has no smaller unit)</p>');
    const created = await browser.post(
      '/merchant/catalog/plans',
      newPlanForm({ currency: 'jpy', 'cadences.0.price': '1800', 'cadences.1.price': '1950', discountType: 'none' }),
    );
    expect(created.status).toBe(303);
    const planId = /plans\/(plan_[0-9a-z]+)/.exec(created.headers.location as string)![1];
    const plan = (await api(merchant, `/plans/${planId}`).expect(200)).body;
    expect(plan.cadences.map((c: { price: { amountMinor: number; currency: string } }) => c.price)).toMatchObject([
      { amountMinor: 1800, currency: 'JPY' },
      { amountMinor: 1950, currency: 'JPY' },
    ]);
  });

  test('when a price is not an amount or a variant has no SKU, then nothing is created and each refusal is beside its field, with what was typed kept', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/catalog/plans/new');
    const refused = await browser.post(
      '/merchant/catalog/plans',
      newPlanForm({ name: 'Typed <b>name</b>', 'variants.1.sku': '', 'cadences.1.price': '19,5x', 'variants.0.sku': 'HB WB' }),
    );
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('<p class="field-error" id="cadences.1.price-error">Type an amount such as 24.00</p>');
    expect(refused.text).toContain('<p class="field-error" id="variants.1.sku-error">Type the variant’s SKU</p>');
    expect(refused.text).toContain('<p class="field-error" id="variants.0.sku-error">Must be 1-64 letters, digits, dots, dashes or underscores</p>');
    expect(refused.text).toContain('aria-describedby="cadences.1.price-error"');
    expect(refused.text).toContain('value="19,5x"');
    expect(refused.text).toContain('value="Typed &lt;b&gt;name&lt;/b&gt;"');
    expect(refused.text).toContain('value="Ground"');
    expect((await api(merchant, '/plans').expect(200)).body.data).toEqual([]);

    // Two variants with one SKU: the schema's rule, beside the SKU.
    const same = await browser.post('/merchant/catalog/plans', newPlanForm({ 'variants.1.sku': 'HB-WB' }));
    expect(same.status).toBe(400);
    expect(same.text).toContain('Each variant needs its own sku');

    // "Add a variant row" re-renders with what was typed and one more row; nothing is created.
    const more = await browser.post('/merchant/catalog/plans', { ...newPlanForm(), more: 'variants' });
    expect(more.status).toBe(200);
    expect(more.text).toContain('name="variants.3.sku"');
    expect(more.text).toContain('value="HB-GR"');
    expect((await api(merchant, '/plans').expect(200)).body.data).toEqual([]);
  });

  test('when the merchant gives a cadence a new price, then new subscribers get it, the subscriber keeps the old one (listed), and the migration moves them after a confirmation', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const { planId, subscription } = await subscribeShopper(app, merchant, {}, 'month-1');
    const browser = await signedIn(merchant);
    const edit = await browser.get(`/merchant/catalog/plans/${planId}/edit`);
    expect(edit.status).toBe(200);
    expect(edit.text).toContain('Existing subscribers keep the price they have');
    expect(edit.text).toContain('name="price.month-1" value="26.00"');

    const refused = await browser.post(`/merchant/catalog/plans/${planId}`, {
      name: 'Coffee box',
      description: '',
      trialDays: '0',
      discountType: 'none',
      discountValue: '',
      'price.week-2': '24.00',
      'price.month-1': '-2',
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('<p class="field-error" id="price.month-1-error">Type an amount such as 24.00</p>');

    const saved = await browser.post(`/merchant/catalog/plans/${planId}`, {
      name: 'Coffee box',
      description: 'Fresh beans',
      trialDays: '0',
      discountType: 'none',
      discountValue: '',
      'price.week-2': '24.00',
      'price.month-1': '28.00',
      'newVariant.name': 'Espresso',
      'newVariant.sku': 'ESP-1',
      'newCadence.intervalCount': '3',
      'newCadence.interval': 'month',
      'newCadence.price': '70.00',
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe(`/merchant/catalog/plans/${planId}?done=updated#receipt`);
    const plan = (await api(merchant, `/plans/${planId}`).expect(200)).body;
    expect(plan.name).toBe('Coffee box');
    expect(plan.cadences.map((c: { key: string; price: { amountMinor: number } }) => [c.key, c.price.amountMinor])).toEqual([
      ['week-2', 2400],
      ['month-1', 2800],
      ['month-3', 7000],
    ]);
    expect(plan.variants.map((v: { sku: string }) => v.sku)).toContain('ESP-1');
    expect((await api(merchant, `/subscriptions/${subscription.id}`).expect(200)).body.box.price.amountMinor).toBe(2600);

    const page = await browser.get(`/merchant/catalog/plans/${planId}`);
    expect(page.text).toMatch(/<td>\$28\.00<\/td>\s*<td>\s*<ul class="bare"><li>\$26\.00 <span class="muted">\(set /);
    expect(page.text).toContain(`href="/merchant/catalog/plans/${planId}/price-migration?cadence=month-1"`);

    const confirm = await browser.get(`/merchant/catalog/plans/${planId}/price-migration?cadence=month-1`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('still paying an older price ($26.00) moves to $28.00');
    expect((await browser.get(`/merchant/catalog/plans/${planId}/price-migration?cadence=month-9`)).status).toBe(404);
    const moved = await browser.post(`/merchant/catalog/plans/${planId}/price-migration`, { cadence: 'month-1' });
    expect(moved.status).toBe(303);
    expect(moved.headers.location).toBe(`/merchant/catalog/plans/${planId}?done=migrated&moved=1#receipt`);
    expect((await browser.get(moved.headers.location as string)).text).toContain('1 subscriber moves to the current price from their next open box.');
    const after = (await api(merchant, `/subscriptions/${subscription.id}/events`).expect(200)).body.data;
    const migrated = after.find((fact: { type: string }) => fact.type === 'subscription.price_migrated');
    expect(migrated.actor).toMatchObject({ kind: 'merchant' }); // done by the merchant, through this browser session
  });

  test('when the merchant archives a plan, then a confirmation page comes first; after it the plan takes no new subscribers, and it can be offered again', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const planId = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body.id;
    const browser = await signedIn(merchant);
    const confirm = await browser.get(`/merchant/catalog/plans/${planId}/archive`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Its subscribers keep their subscription, their price and their boxes.');
    expect((await api(merchant, `/plans/${planId}`).expect(200)).body.status).toBe('active'); // opening the page changes nothing
    const archived = await browser.post(`/merchant/catalog/plans/${planId}/archive`, {});
    expect(archived.status).toBe(303);
    expect((await api(merchant, `/plans/${planId}`).expect(200)).body.status).toBe('archived');
    expect((await browser.get(archived.headers.location as string)).text).toContain('The plan is archived');
    await browser.post(`/merchant/catalog/plans/${planId}/unarchive`, {});
    expect((await api(merchant, `/plans/${planId}`).expect(200)).body.status).toBe('active');
  });

  test('when the merchant creates an add-on and adjusts its stock, then it is stored as the API shows it, and a removal below zero is refused beside the quantity', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/catalog/addons/new');
    const bad = await browser.post('/merchant/catalog/addons', {
      name: 'Mug',
      description: '',
      sku: 'MUG-1',
      kind: 'one_time',
      currency: 'USD',
      price: 'twelve',
      stock: '5',
      releasesOn: '',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<p class="field-error" id="price-error">Type an amount such as 24.00</p>');
    expect(bad.text).toContain('value="twelve"');

    const created = await browser.post('/merchant/catalog/addons', {
      name: 'Mug',
      description: 'Stoneware',
      sku: 'MUG-1',
      kind: 'recurring',
      currency: 'USD',
      price: '12.00',
      stock: '5',
      releasesOn: '2026-06-01',
    });
    expect(created.status).toBe(303);
    const addonId = /addons\/(addon_[0-9a-z]+)/.exec(created.headers.location as string)![1];
    expect((await api(merchant, `/addons/${addonId}`).expect(200)).body).toMatchObject({
      name: 'Mug',
      kind: 'recurring',
      releasesOn: '2026-06-01',
      price: { amountMinor: 1200, currency: 'USD' },
      stock: { tracked: true, onHand: 5, reserved: 0 },
    });
    const dup = await browser.post('/merchant/catalog/addons', { name: 'Mug 2', sku: 'MUG-1', kind: 'one_time', currency: 'USD', price: '1.00' });
    expect(dup.status).toBe(409);
    expect(dup.text).toContain('<p class="field-error" id="sku-error">Another add-on of yours has this SKU</p>');

    await browser.get(`/merchant/catalog/addons/${addonId}`);
    const added = await browser.post(`/merchant/catalog/addons/${addonId}/stock`, { adjustBy: '7', reason: 'received' });
    expect(added.status).toBe(303);
    const tooMany = await browser.post(`/merchant/catalog/addons/${addonId}/stock`, { adjustBy: '-13', reason: 'counted' });
    expect(tooMany.status).toBe(409);
    expect(tooMany.text).toContain('<p class="field-error" id="stock.adjustBy-error">Only 12 on hand; cannot remove 13.</p>');
    expect(tooMany.text).toContain('value="-13"');
    const noReason = await browser.post(`/merchant/catalog/addons/${addonId}/stock`, { adjustBy: '-2', reason: ' ' });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain('id="stock.reason-error"');
    expect((await api(merchant, `/addons/${addonId}`).expect(200)).body.stock.onHand).toBe(12);

    const edited = await browser.post(`/merchant/catalog/addons/${addonId}`, { name: 'Mug', description: 'Stoneware', price: '14.50', releasesOn: '' });
    expect(edited.status).toBe(303);
    expect((await api(merchant, `/addons/${addonId}`).expect(200)).body).toMatchObject({ price: { amountMinor: 1450 }, releasesOn: null });

    expect((await browser.get(`/merchant/catalog/addons/${addonId}/archive`)).text).toContain('Shoppers can no longer add it to their boxes.');
    await browser.post(`/merchant/catalog/addons/${addonId}/archive`, {});
    expect((await api(merchant, `/addons/${addonId}`).expect(200)).body.status).toBe('archived');
    const list = await browser.get('/merchant/catalog/addons');
    expect(list.text).toContain('$14.50');
    expect(list.text).toContain('Archived');
  });

  test('when the merchant adjusts a plan SKU’s stock, then it starts being counted, and a removal below zero is refused beside that SKU’s quantity', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const input = buildPlanInput();
    const sku = input.variants[0]!.sku;
    await request(app).post('/api/v1/plans').set(merchant.auth).send(input).expect(201);
    const browser = await signedIn(merchant);
    const stock = await browser.get('/merchant/catalog/stock');
    expect(stock.status).toBe(200);
    expect(stock.text).toContain(`<code>${sku}</code>`);
    expect(stock.text).toContain('Not counted');

    const received = await browser.post(`/merchant/catalog/stock/${sku}`, { adjustBy: '10', reason: 'received' });
    expect(received.status).toBe(303);
    expect((await api(merchant, `/stock-items/${sku}`).expect(200)).body).toMatchObject({ onHand: 10, reserved: 0 });
    expect((await browser.get(received.headers.location as string)).text).toContain(`${sku}: The stock is adjusted.`);

    const refused = await browser.post(`/merchant/catalog/stock/${sku}`, { adjustBy: '-11', reason: 'counted' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain(`<p class="field-error" id="sku-${sku}-adjustBy-error">Only 10 on hand; cannot remove 11.</p>`);
    const notNumber = await browser.post(`/merchant/catalog/stock/${sku}`, { adjustBy: '1.5', reason: 'counted' });
    expect(notNumber.status).toBe(400);
    expect(notNumber.text).toContain('Type a whole number of units: 12 received, -3 removed');
    expect((await api(merchant, `/stock-items/${sku}`).expect(200)).body.onHand).toBe(10);
  });

  test('when a merchant asks for another store’s plan, add-on or SKU, then it is not found, for every page and form', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const other = await createMerchant({ name: 'Other Beans' }, clock);
    const input = buildPlanInput();
    const theirPlan = (await request(app).post('/api/v1/plans').set(other.auth).send(input).expect(201)).body.id;
    const theirAddon = (await request(app).post('/api/v1/addons').set(other.auth).send(buildAddonInput()).expect(201)).body.id;
    const mine = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body.id;
    const browser = await signedIn(merchant);
    expect((await browser.get(`/merchant/catalog/plans/${mine}`)).status).toBe(200); // the pages exist: a 404 below is about whose id it is
    for (const path of [
      `/merchant/catalog/plans/${theirPlan}`,
      `/merchant/catalog/plans/${theirPlan}/edit`,
      `/merchant/catalog/plans/${theirPlan}/archive`,
      `/merchant/catalog/plans/${theirPlan}/price-migration?cadence=month-1`,
      `/merchant/catalog/addons/${theirAddon}`,
      `/merchant/catalog/addons/${theirAddon}/archive`,
      '/merchant/catalog/plans/plan_nope',
    ]) {
      expect([path, (await browser.get(path)).status]).toEqual([path, 404]);
    }
    for (const [path, fields] of [
      [`/merchant/catalog/plans/${theirPlan}`, { name: 'Mine now' }],
      [`/merchant/catalog/plans/${theirPlan}/archive`, {}],
      [`/merchant/catalog/plans/${theirPlan}/unarchive`, {}],
      [`/merchant/catalog/plans/${theirPlan}/price-migration`, { cadence: 'month-1' }],
      [`/merchant/catalog/addons/${theirAddon}`, { price: '0.00' }],
      [`/merchant/catalog/addons/${theirAddon}/stock`, { adjustBy: '-1', reason: 'x' }],
      [`/merchant/catalog/addons/${theirAddon}/archive`, {}],
      [`/merchant/catalog/stock/${input.variants[0]!.sku}`, { adjustBy: '5', reason: 'received' }],
    ] as const) {
      expect([path, (await browser.post(path, fields)).status]).toEqual([path, 404]);
    }
    expect((await api(other, `/plans/${theirPlan}`).expect(200)).body).toMatchObject({ name: input.name, status: 'active' });
    expect((await api(other, `/addons/${theirAddon}`).expect(200)).body).toMatchObject({ status: 'active', stock: { onHand: 10 } });
    expect((await browser.get('/merchant/catalog')).text).not.toContain(theirPlan);
  });

  test('when nobody is signed in, then every catalog page sends them to sign in; a form without this site’s token is refused before anything changes', async () => {
    const anonymous = pageClient(app);
    await anonymous.get('/merchant/sign-in');
    const away = await anonymous.get('/merchant/catalog/plans/new');
    expect(away.status).toBe(303);
    expect(away.headers.location).toBe('/merchant/sign-in?next=%2Fmerchant%2Fcatalog%2Fplans%2Fnew');
    const post = await anonymous.post('/merchant/catalog/plans', newPlanForm());
    expect(post.status).toBe(303);
    expect(post.headers.location).toBe('/merchant/sign-in?next=%2Fmerchant');

    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/catalog/plans/new');
    const forged = await browser.post('/merchant/catalog/plans', newPlanForm(), { csrf: 'forged-token' });
    expect(forged.status).toBe(403);
    const missing = await browser.post('/merchant/catalog/addons', { name: 'Mug', sku: 'MUG-9', kind: 'one_time', price: '1.00' }, { csrf: null });
    expect(missing.status).toBe(403);
    expect((await api(merchant, '/plans').expect(200)).body.data).toEqual([]);
    expect((await api(merchant, '/addons').expect(200)).body.data).toEqual([]);
  });
});
