import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** The store's settings page: one form through the API's own update, refusals beside their fields. */
describe("the merchant's settings page", () => {
  useTestDatabase();
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const { app } = buildTestApp({ clock });

  async function signedIn(merchant: TestMerchant) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    expect((await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant/settings' })).status).toBe(303);
    return browser;
  }
  const me = async (merchant: TestMerchant) => (await request(app).get('/api/v1/merchants/me').set(merchant.auth).expect(200)).body;
  const formOf = (html: string) => {
    const fields: Record<string, string> = {};
    for (const m of html.matchAll(/<input id="([^"]+)" name="([^"]+)"[^>]*?value="([^"]*)"/g))
      fields[m[2]!] = m[3]!.replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    fields.reasons = /<textarea id="reasons"[^>]*>([^<]*)<\/textarea>/.exec(html)![1]!;
    fields.dunningOutcome = /name="dunningOutcome" value="(\w+)" checked/.exec(html)![1]!;
    if (/name="skipNext" checked/.test(html)) fields.skipNext = 'on';
    return fields;
  };

  test('when a merchant saves the form, then the store has the new rules, a fee per currency and its look, exactly as the API shows them', async () => {
    const merchant = await createMerchant({ name: 'Kettle' }, clock);
    const browser = await signedIn(merchant);
    const page = await browser.get('/merchant/settings');
    expect(page.status).toBe(200);
    const form = formOf(page.text);
    expect(form.skipNext).toBe('on'); // on by default; unticked below
    delete form.skipNext;
    const saved = await browser.post('/merchant/settings', {
      ...form,
      name: 'Kettle & Crumb',
      accentColor: '#7A3E1D',
      cutoffDays: '4',
      reasons: 'too_expensive\nmoving\nother',
      pauseCycles: '1',
      discountPercentOff: '15',
      dunningOutcome: 'pause',
      feeCurrency0: 'usd',
      feeAmount0: '4.50',
      feeCurrency1: 'JPY',
      feeAmount1: '500',
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/merchant/settings?saved=1');
    expect(await me(merchant)).toMatchObject({
      name: 'Kettle & Crumb',
      brand: { accentColor: '#7a3e1d' },
      subscriptionSettings: {
        cutoffDays: 4,
        cancellationReasons: ['too_expensive', 'moving', 'other'],
        saveOffers: { skipNext: false, pauseCycles: 1, discountPercentOff: 15 },
        dunningOutcome: 'pause',
        shippingFees: [
          { currency: 'USD', amountMinor: 450 },
          { currency: 'JPY', amountMinor: 500 },
        ],
      },
    });
    const again = await browser.get('/merchant/settings?saved=1');
    expect(again.text).toContain('Saved.');
    expect(again.text).toContain('value="4.50"');
    expect(again.text).toContain('value="500"');
  });

  test('when a value is refused, then it says why beside its field, keeps what was typed and changes nothing', async () => {
    const merchant = await createMerchant({ name: 'Crumb' }, clock);
    const browser = await signedIn(merchant);
    const form = formOf((await browser.get('/merchant/settings')).text);
    const before = await me(merchant);
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ feeCurrency0: 'USD', feeAmount0: '4.505' }, 'feeAmount0', /Enter an amount such as 5\.00/],
      [{ feeCurrency0: 'XYZ', feeAmount0: '4' }, 'feeCurrency0', /Enter a currency code/],
      [{ feeCurrency0: 'USD', feeAmount0: '1', feeCurrency1: 'USD', feeAmount1: '2' }, 'feeCurrency1', /USD has a fee already/],
      [{ accentColor: '#ffff00' }, 'accentColor', /too light/],
      [{ reasons: 'Too Expensive' }, 'reasons', /lower_snake_case/],
      [{ cutoffDays: 'soon' }, 'cutoffDays', /Enter a number of days/],
      [{ cutoffDays: '0' }, 'cutoffDays', /./],
      [{ handle: 'Not A Handle' }, 'handle', /./],
    ];
    for (const [change, field, message] of cases) {
      const refused = await browser.post('/merchant/settings', { ...form, ...change });
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(new RegExp(`id="${field}-error">[^<]*`));
      expect(new RegExp(`id="${field}-error">([^<]*)<`).exec(refused.text)![1]).toMatch(message);
    }
    expect((await browser.post('/merchant/settings', { ...form, surprise: 'x' })).status).toBe(400);
    expect(await me(merchant)).toEqual(before);
  });

  test('when nobody is signed in, or the form token is forged, then nothing is shown or changed', async () => {
    const merchant = await createMerchant({ name: 'Closed' }, clock);
    const anonymous = await pageClient(app).get('/merchant/settings');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.location).toBe('/merchant/sign-in?next=%2Fmerchant%2Fsettings');
    const browser = await signedIn(merchant);
    const form = formOf((await browser.get('/merchant/settings')).text);
    expect((await browser.post('/merchant/settings', { ...form, name: 'Hijacked' }, { csrf: 'forged' })).status).toBe(403);
    expect((await me(merchant)).name).toBe('Closed');
  });
});
