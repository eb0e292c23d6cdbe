import request from 'supertest';
import { FakeClock } from '../../src/shared/time';
import { buildAddonInput, buildPlanInput } from '../factories/catalog.factory';
import { createMerchant } from '../factories/merchant.factory';
import { type BrowserRun, checkAccessibility, DESKTOP, screenshot, startBrowser, TABLET } from '../helpers/browser';
import { buildTestApp } from '../helpers/test-app';
import { useTestDatabase } from '../helpers/test-env';

jest.setTimeout(120_000);

describe('the merchant runs perks, loyalty tiers and offers, in Chromium', () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const testApp = buildTestApp({ clock });

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
  });
  afterAll(async () => run?.close());

  test('when a merchant creates a perk, edits the loyalty tiers and creates an offer, then each is saved as the API shows it; every page is clean for axe at laptop and tablet widths', async () => {
    const merchant = await createMerchant({ name: 'Bean There' }, clock);
    await request(testApp.app)
      .post('/api/v1/plans')
      .set(merchant.auth)
      .send(buildPlanInput({ name: 'House box' }))
      .expect(201);
    await request(testApp.app)
      .post('/api/v1/addons')
      .set(merchant.auth)
      .send(buildAddonInput({ name: 'Ceramic mug' }))
      .expect(201);
    for (const [index, viewport] of [DESKTOP, TABLET].entries()) {
      const { page, problems, context } = await run.newVisitor(viewport);
      const check = async (name: string) => {
        expect([name, await checkAccessibility(page)]).toEqual([name, []]);
        await screenshot(page, `retention-b-${name}`);
      };
      await page.goto('/merchant/sign-in?next=%2Fmerchant%2Fretention%2Fperks');
      await page.getByLabel('E-mail').fill(merchant.email);
      await page.getByLabel('Password').fill(merchant.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/merchant/retention/perks');
      if (index === 0) await check('perks-empty');

      // A perk: a free mug every third box, for the House box's subscribers; first with a mistake.
      await page.getByRole('link', { name: 'New perk' }).click();
      await page.getByLabel(/^Name/).fill(`Mug every third box ${index}`);
      await page.getByLabel('A free add-on, every so many boxes').check();
      await page.getByLabel('Free add-on', { exact: true }).first().selectOption({ label: 'Ceramic mug' });
      await page.getByLabel(/In every Nth box/).fill('0');
      await page.getByLabel('House box').check();
      await page.getByRole('button', { name: 'Create the perk' }).click();
      await page.getByText('Nothing was saved').waitFor();
      expect(await page.getByLabel(/In every Nth box/).inputValue()).toBe('0');
      expect(await page.getByLabel('House box').isChecked()).toBe(true);
      await check('perk-new-refused');
      await page.getByLabel(/In every Nth box/).fill('3');
      await page.getByRole('button', { name: 'Create the perk' }).click();
      await page.getByRole('status').waitFor();
      expect(await page.getByRole('status').textContent()).toContain('The perk is created');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Mug every third box ${index}`);
      await check('perk');
      await page.getByRole('link', { name: 'Perks', exact: true }).click();
      await check('perks');

      // The loyalty programme: set up (first pass) or changed (second), with a mistake first.
      await page.goto('/merchant/retention/loyalty');
      if (index === 0) await check('loyalty-empty');
      await page.getByRole('link', { name: index === 0 ? 'Set up the programme' : 'Change the programme' }).click();
      await page.getByLabel('Spend (USD)').check();
      await page.getByLabel('Tier 1 name').fill('Silver');
      await page.getByLabel('Tier 1 reached at').fill('100');
      await page.getByLabel('Tier 2 name').fill('Gold');
      await page.getByLabel('Tier 2 reached at').fill('50');
      await page.getByLabel('Tier 2 earn rate (%)').fill(index === 0 ? '150' : '200');
      await page.getByRole('button', { name: 'Save the programme' }).click();
      await page.getByText('Must be listed lowest first, with rising thresholds').first().waitFor();
      expect(await page.getByLabel('Tier 2 reached at').inputValue()).toBe('50');
      await check('loyalty-refused');
      await page.getByLabel('Tier 2 reached at').fill('250');
      await page.getByRole('button', { name: 'Save the programme' }).click();
      await page.getByRole('status').waitFor();
      expect(await page.getByRole('status').textContent()).toContain('The loyalty programme is saved');
      await check('loyalty');

      // An offer: $5.00 off a box of $60.00 or more.
      await page.goto('/merchant/retention/offers');
      if (index === 0) await check('offers-empty');
      await page.getByRole('link', { name: 'New offer' }).click();
      await page.getByLabel('Name', { exact: true }).fill(`Big box saver ${index}`);
      await page.getByLabel(/Spend threshold: an amount off/).check();
      await page.getByLabel(/Spend to reach/).fill('60');
      await page.getByLabel(/^Amount off \(USD, at most/).fill('5');
      await page.getByRole('button', { name: 'Create the offer' }).click();
      await page.getByRole('status').waitFor();
      expect(await page.getByRole('status').textContent()).toContain('The offer is created');
      await check('offer');
      await page.getByRole('link', { name: 'Archive…' }).click();
      await check('offer-archive');
      await page.getByRole('link', { name: 'Cancel' }).click();
      await page.getByRole('link', { name: 'Offers', exact: true }).click();
      await check('offers');
      expect(problems).toEqual([]);
      await context.close();
    }
    const perks = (await request(testApp.app).get('/api/v1/perks').set(merchant.auth).expect(200)).body.data;
    expect(perks.map((perk: { benefit: unknown }) => perk.benefit)).toMatchObject([
      { kind: 'free_addon', everyNthBox: 3, quantity: 1 },
      { kind: 'free_addon', everyNthBox: 3, quantity: 1 },
    ]);
    const program = (await request(testApp.app).get('/api/v1/loyalty-program').set(merchant.auth).expect(200)).body;
    expect(program).toMatchObject({
      tierBasis: 'spend',
      tiers: [
        { key: 'silver', threshold: 10000, earnMultiplierPercent: 100 },
        { key: 'gold', threshold: 25000, earnMultiplierPercent: 200 },
      ],
    });
    const offers = (await request(testApp.app).get('/api/v1/offers').set(merchant.auth).expect(200)).body.data;
    expect(offers.map((offer: { threshold: unknown; status: string }) => [offer.status, offer.threshold])).toEqual([
      ['active', { basis: 'box_total', minSpendMinor: 6000, amountOffMinor: 500 }],
      ['active', { basis: 'box_total', minSpendMinor: 6000, amountOffMinor: 500 }],
    ]);
  });
});
