import request from 'supertest';
import { recordCaughtMail } from '../../../src/messages/caught-mail.service';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** Mail caught on this machine (no SMTP_URL): a store's under /merchant/mail, the installation's own under /local/mail. */
describe('the caught-mail pages', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const { app } = buildTestApp({ clock, mailCaught: true });
  let store: TestMerchant;
  let other: TestMerchant;
  const ids: Record<string, string> = {};

  const caught = (subject: string, to: string, merchantId?: string) =>
    recordCaughtMail(clock, {
      envelopeTo: [to],
      to: [to],
      from: 'Bean There <hello@bean.example>',
      subject,
      headers: [{ name: 'Subject', value: subject }],
      text: `${subject}: the text part`,
      html: `<p style="color:#333">${subject}</p><script>parent.document.title='owned'</script><form action="https://evil.example"><button>Go</button></form>`,
      rawSize: 900,
      ...(merchantId ? { merchantId } : {}),
    });

  beforeAll(async () => {
    store = await createMerchant({ name: 'Bean There' }, clock);
    other = await createMerchant({ name: 'Other Beans' }, clock);
    ids.mine = await caught('Your box ships today', 'ana@example.com', store.id);
    ids.theirs = await caught('Their box', 'bo@example.com', other.id);
    ids.platform = await caught('Confirm your Boxcycle account', 'owner@shop.example');
  });

  async function signedIn(merchant: TestMerchant) {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant/mail' });
    return browser;
  }

  test("when a merchant opens Mail, then they see their store's mail only, each whole, its HTML sandboxed on its own", async () => {
    const browser = await signedIn(store);
    const list = await browser.get('/merchant/mail');
    expect(list.status).toBe(200);
    expect(list.text).toContain('Your box ships today');
    expect(list.text).not.toContain('Their box');
    expect(list.text).not.toContain('Confirm your Boxcycle account');

    const one = await browser.get(`/merchant/mail/${ids.mine}`);
    expect(one.status).toBe(200);
    expect(one.text).toContain('Your box ships today: the text part');
    expect(one.text).toContain(`<iframe class="mail" src="/merchant/mail/${ids.mine}/html" title="The message as HTML" sandbox></iframe>`);
    expect(one.text).not.toContain('<script>parent'); // the markup is not in the page itself

    const html = await browser.get(`/merchant/mail/${ids.mine}/html`);
    expect(html.status).toBe(200);
    expect(html.headers['content-security-policy']).toBe(
      "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; frame-ancestors 'self'",
    );

    for (const path of [`/merchant/mail/${ids.theirs}`, `/merchant/mail/${ids.theirs}/html`, `/merchant/mail/${ids.platform}`, '/merchant/mail/cm_nope']) {
      expect((await browser.get(path)).status).toBe(404);
    }
    expect((await pageClient(app).get('/merchant/mail')).status).toBe(303); // signed out: to sign-in
  });

  test('when someone on this machine asks for an address, then they see everything caught for it (the installation’s and stores’), and nobody else’s', async () => {
    const form = await request(app).get('/local/mail').set('accept', 'text/html');
    expect(form.status).toBe(200);
    const list = await request(app).get('/local/mail?to=Owner@Shop.example').set('accept', 'text/html');
    expect(list.text).toContain('Confirm your Boxcycle account');
    const one = await request(app).get(`/local/mail/${ids.platform}?to=owner%40shop.example`).set('accept', 'text/html');
    expect(one.status).toBe(200);
    expect(one.text).toContain('Confirm your Boxcycle account: the text part');
    // A shopper reads the mail a store sent them (their sign-in link) as their mailbox would show it.
    expect((await request(app).get('/local/mail?to=ana@example.com').set('accept', 'text/html')).text).toContain('Your box ships today');
    expect((await request(app).get(`/local/mail/${ids.mine}?to=ana%40example.com`).set('accept', 'text/html')).status).toBe(200);
    expect((await request(app).get(`/local/mail/${ids.mine}?to=ben%40example.com`).set('accept', 'text/html')).status).toBe(404);
    expect((await request(app).get('/local/mail?to=ben@example.com').set('accept', 'text/html')).text).not.toContain('Your box ships today');
    expect((await request(app).get(`/local/mail/${ids.platform}?to=someone%40else.example`).set('accept', 'text/html')).status).toBe(404);
    expect((await request(app).get('/local/mail?to=not-an-address').set('accept', 'text/html')).text).toContain('Enter an e-mail address');
  });

  test('when mail is sent through SMTP_URL, or the page is asked from another machine, then it does not exist', async () => {
    const sent = buildTestApp({ clock }).app;
    expect((await request(sent).get('/local/mail?to=owner@shop.example').set('accept', 'text/html')).status).toBe(404);
    const browser = pageClient(sent);
    await browser.get('/merchant/sign-in');
    await browser.post('/merchant/sign-in', { email: store.email, password: store.password });
    expect((await browser.get('/merchant/mail')).status).toBe(404);
    // Behind a trusted proxy, the client's address is the forwarded one.
    const proxied = buildTestApp({ clock, mailCaught: true }).app;
    proxied.set('trust proxy', 'loopback');
    expect((await request(proxied).get('/local/mail').set('x-forwarded-for', '203.0.113.9').set('accept', 'text/html')).status).toBe(404);
  });

  test('when mail is caught, then the page that waits for the sign-in e-mail says where to read it; when it is sent, it does not', async () => {
    const { handle } = (await request(app).get('/api/v1/merchants/me').set(store.auth).expect(200)).body;
    const codePage = `/shop/${handle}/sign-in/code?request=ssi_${'a'.repeat(20)}`;
    const caughtHere = await request(app).get(codePage).set('accept', 'text/html');
    expect(caughtHere.status).toBe(200);
    expect(caughtHere.text).toContain('<a href="/local/mail">read your e-mail here</a>');
    const sent = await request(buildTestApp({ clock }).app).get(codePage).set('accept', 'text/html');
    expect(sent.status).toBe(200);
    expect(sent.text).not.toContain('/local/mail');
  });
});
