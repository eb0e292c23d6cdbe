import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** The merchant's account page: the password, and the store's API keys. */
describe("the merchant's account page", () => {
  useTestDatabase();
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const { app } = buildTestApp({ clock });

  async function signedIn(merchant: TestMerchant, password = merchant.password) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    const done = await browser.post('/merchant/sign-in', { email: merchant.email, password, next: '/merchant/account' });
    return { browser, status: done.status };
  }

  test('when a merchant makes a key, then its secret is shown once and works on the API; revoking asks first, then it works no more', async () => {
    const merchant = await createMerchant({ name: 'Keys' }, clock);
    const { browser } = await signedIn(merchant);
    await browser.get('/merchant/account');
    const made = await browser.post('/merchant/account/keys', { name: 'Fulfilment sync' });
    expect(made.status).toBe(201);
    const secret = /<code class="secret">([^<]+)<\/code>/.exec(made.text)![1]!;
    expect((await request(app).get('/api/v1/plans').set('authorization', `Bearer ${secret}`)).status).toBe(200);
    const page = await browser.get('/merchant/account');
    expect(page.text).not.toContain(secret);
    expect(page.text).toContain('Fulfilment sync');
    const revokeLink = new RegExp('<td>Fulfilment sync</td>.*?href="(/merchant/account/keys/key_[0-9a-z]{20}/revoke)"').exec(
      page.text.replace(/\n/g, ' '),
    )![1]!;

    const ask = await browser.get(revokeLink);
    expect(ask.text).toContain('Revoke the key “Fulfilment sync”?');
    const unconfirmed = await browser.post(revokeLink, {});
    expect(unconfirmed.status).toBe(400);
    expect((await request(app).get('/api/v1/plans').set('authorization', `Bearer ${secret}`)).status).toBe(200);
    expect((await browser.post(revokeLink, { confirm: 'yes' })).status).toBe(303);
    expect((await request(app).get('/api/v1/plans').set('authorization', `Bearer ${secret}`)).status).toBe(401);

    const other = await createMerchant({ name: 'Other' }, clock);
    const intruder = (await signedIn(other)).browser;
    const keyPath = revokeLink;
    expect((await intruder.get(keyPath)).status).toBe(404);
    expect((await intruder.get('/merchant/account/keys/not-a-key/revoke')).status).toBe(404);
  });

  test('when a merchant changes the password, then the current one is asked, the new one follows the rules, other browsers are signed out and the old password no longer signs in', async () => {
    const merchant = await createMerchant({ name: 'Secrets' }, clock);
    const { browser } = await signedIn(merchant);
    const { browser: laptop } = await signedIn(merchant);
    await browser.get('/merchant/account');
    const wrong = await browser.post('/merchant/account/password', { currentPassword: 'not it at all', newPassword: 'cobalt thistle harbour nine' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toMatch(/id="currentPassword-error">[^<]*not your current password/);
    const weak = await browser.post('/merchant/account/password', { currentPassword: merchant.password, newPassword: 'password1234' });
    expect(weak.status).toBe(400);
    expect(weak.text).toMatch(/id="newPassword-error"/);

    const changed = await browser.post('/merchant/account/password', { currentPassword: merchant.password, newPassword: 'cobalt thistle harbour nine' });
    expect(changed.status).toBe(303);
    expect((await browser.get('/merchant/account?done=password')).status).toBe(200);
    expect((await laptop.get('/merchant/account')).status).toBe(303);
    expect((await signedIn(merchant)).status).toBe(401);
    expect((await signedIn(merchant, 'cobalt thistle harbour nine')).status).toBe(303);
    expect((await request(app).get('/api/v1/plans').set(merchant.auth)).status).toBe(200); // secret API keys keep working
  });
});
