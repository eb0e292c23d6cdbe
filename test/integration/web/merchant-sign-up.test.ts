import request from 'supertest';
import { MerchantModel } from '../../../src/merchants/merchant.model';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant } from '../../factories/merchant.factory';
import { queuedMessages } from '../../helpers/messages';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** Opening a store from the browser: the form, the e-mailed link, the page that asks before it opens the store. */
describe("a merchant's sign-up in the browser", () => {
  useTestDatabase();
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const { app } = buildTestApp({ clock, mailCaught: true });
  const form = {
    name: 'Kettle & Crumb',
    email: 'owner@kettle.example',
    password: 'plum lantern orbit sixty',
    defaultCurrency: 'EUR',
    timezone: 'Europe/Paris',
  };

  test('when someone signs up, then the e-mail links to a page that opens the store only when its button is pressed, once; the browser is then signed in and sees the first API key', async () => {
    const browser = pageClient(app);
    expect((await browser.get('/merchant/sign-in')).text).toContain('href="/merchant/sign-up"');
    await browser.get('/merchant/sign-up');
    const sent = await browser.post('/merchant/sign-up', form);
    expect(sent.status).toBe(202);
    expect(sent.text).toContain('We have sent a message to owner@kettle.example');
    expect(sent.text).toContain('href="/local/mail?to=owner%40kettle.example"');

    const [mail] = await queuedMessages({ template: 'merchant.sign_up_confirmation', to: 'owner@kettle.example' });
    const link = /Open my store: (\S+)/.exec(mail!.text)![1]!;
    expect(link).toMatch(/^http:\/\/localhost:3000\/merchant\/confirm\?token=bxc_[A-Za-z0-9]{32}$/);
    expect(mail!.html).toContain(link);

    const path = new URL(link).pathname + new URL(link).search;
    const page = await browser.get(path);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Open my store');
    expect(await MerchantModel.countDocuments({ email: 'owner@kettle.example' })).toBe(0);

    const token = new URL(link).searchParams.get('token')!;
    const opened = await browser.post('/merchant/confirm', { token });
    expect(opened.status).toBe(201);
    expect(opened.text).toMatch(/<code class="secret">bxk_[A-Za-z0-9_-]+<\/code>/);
    expect(opened.headers['cache-control']).toBe('no-store');
    expect(await MerchantModel.countDocuments({ email: 'owner@kettle.example' })).toBe(1);
    expect((await browser.get('/merchant')).status).toBe(200);

    const again = await pageClient(app).post('/merchant/confirm', { token }, { csrf: null });
    expect(again.status).toBe(403); // no form token: refused before anything
    const other = pageClient(app);
    await other.get(path);
    const spent = await other.post('/merchant/confirm', { token });
    expect(spent.status).toBe(400);
    expect(spent.text).toContain('This link no longer works');
    expect(await MerchantModel.countDocuments({ email: 'owner@kettle.example' })).toBe(1);
  });

  test('when the form is wrong, then it says why beside the field and keeps what was typed (never the password); an address that has a store gets the same answer', async () => {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-up');
    const weak = await browser.post('/merchant/sign-up', { ...form, email: 'weak@kettle.example', password: 'password1234' });
    expect(weak.status).toBe(400);
    expect(weak.text).toMatch(/id="password-error"/);
    expect(weak.text).toContain('value="weak@kettle.example"');
    expect(weak.text).not.toContain('password1234');
    expect((await browser.post('/merchant/sign-up', { ...form, email: 'x@kettle.example', timezone: 'Mars/Olympus' })).status).toBe(400);
    expect((await browser.post('/merchant/sign-up', { ...form, surprise: 'field' })).status).toBe(400);

    const existing = await createMerchant({ name: 'Old Store' }, clock);
    const taken = await browser.post('/merchant/sign-up', { ...form, email: existing.email });
    expect(taken.status).toBe(202);
    expect(await queuedMessages({ template: 'merchant.sign_up_attempted', to: existing.email })).toHaveLength(1);
    const [told] = await queuedMessages({ template: 'merchant.sign_up_attempted', to: existing.email });
    expect(told!.text).toContain('http://localhost:3000/merchant/sign-in');
  });

  test('when the confirm page is opened with no token or a malformed one, then it says the link is not complete', async () => {
    expect((await request(app).get('/merchant/confirm').set('accept', 'text/html')).status).toBe(400);
    expect((await request(app).get('/merchant/confirm?token=nope').set('accept', 'text/html')).text).toContain('This link is not complete');
  });
});
