import request from 'supertest';
import { queueMessage } from '../../../src/messages/message.service';
import { FakeClock } from '../../../src/shared/time';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { buildOutgoingMessage } from '../../factories/message.factory';
import { queuedMessages } from '../../helpers/messages';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * The merchant's Messages pages: which messages are on and their timing (through the API's own settings
 * service), a preview of each with its HTML sandboxed, "send me a test", and the sent log per shopper.
 */
describe("the merchant's messages pages", () => {
  useTestDatabase();
  // Noon in New York.
  const clock = new FakeClock('2026-06-10T16:00:00Z');
  const { app } = buildTestApp({ clock });
  let store: TestMerchant;
  let other: TestMerchant;
  let ana: { id: string; email: string };
  let ben: { id: string; email: string };
  const ids: Record<string, string> = {};
  const SIGN_IN_LINK = 'http://localhost:3000/shop/bean/sign-in/tok_secret123';

  beforeAll(async () => {
    [store, other] = await Promise.all([createMerchant({ name: 'Bean There' }, clock), createMerchant({ name: 'Other Beans' }, clock)]);
    const customer = async (merchant: TestMerchant) =>
      (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body as { id: string; email: string };
    ana = await customer(store);
    ben = await customer(store);
    const queue = async (name: string, overrides: Parameters<typeof buildOutgoingMessage>[0]) => {
      ids[name] = (await queueMessage({ clock }, buildOutgoingMessage({ merchantId: store.id, ...overrides }))).id;
      clock.advance(1000);
    };
    await queue('anaShipped', { customerId: ana.id, to: ana.email, subject: 'Ana’s box is on its way' });
    await queue('benWinBack', {
      customerId: ben.id,
      to: ben.email,
      template: 'subscription.win_back',
      category: 'marketing',
      subject: 'Come back, Ben',
    });
    await queue('anaSignIn', {
      customerId: ana.id,
      to: ana.email,
      template: 'shopper.sign_in',
      subject: 'Your sign-in code is 482913',
      text: `Sign in: ${SIGN_IN_LINK}\n\nType this code on the one that asked: 482913`,
      html: `<p><a href="${SIGN_IN_LINK}">Sign in</a> or type 482913</p>`,
    });
    const theirs = await queueMessage({ clock }, buildOutgoingMessage({ merchantId: other.id, to: 'zed@example.com', subject: 'Their box ships' }));
    ids.theirs = theirs.id;
  });

  async function signedIn(merchant: TestMerchant, next = '/merchant/messages') {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    expect((await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next })).status).toBe(303);
    return browser;
  }

  /** The form as the page shows it: its text fields and the boxes ticked. */
  const formOf = (html: string) => {
    const fields: Record<string, string> = {};
    for (const m of html.matchAll(/<input id="([^"]+)" name="([^"]+)"[^>]*?value="([^"]*)"/g)) fields[m[2]!] = m[3]!.replace(/&amp;/g, '&');
    for (const m of html.matchAll(/<input type="checkbox" id="[^"]+" name="([^"]+)"[^>]*?checked>/g)) fields[m[1]!] = 'on';
    return fields;
  };
  const settings = async (merchant: TestMerchant) => (await request(app).get('/api/v1/message-settings').set(merchant.auth).expect(200)).body;

  test('when a merchant turns an optional message off and sets its days, then the API shows the new settings, and the colour set elsewhere is kept', async () => {
    const merchant = await createMerchant({ name: 'Kettle' }, clock);
    await request(app).put('/api/v1/message-settings').set(merchant.auth).send({ accentColor: '#aa3300' }).expect(200);
    const browser = await signedIn(merchant);
    const page = await browser.get('/merchant/messages');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<a href="/merchant/messages">Messages</a>');
    expect(page.text).toContain('Reminders');
    expect(page.text).toContain('only to shoppers who agreed to marketing');
    expect(page.text).not.toContain('merchant.sign_up_confirmation'); // the platform's own mail is not the store's
    const form = formOf(page.text);
    expect(form['on:box.receipt']).toBe('on');
    expect(form['on:box.rate_request']).toBeUndefined(); // off until the merchant says
    expect(form['on:subscription.confirmation']).toBeUndefined(); // always sent: no box to untick
    expect(form['days:rateRequestDaysAfterDelivery']).toBe('3');

    delete form['on:box.receipt'];
    const saved = await browser.post('/merchant/messages', {
      ...form,
      'on:box.rate_request': 'on',
      'days:rateRequestDaysAfterDelivery': '7',
      fromName: 'Kettle & Co',
      replyTo: 'help@kettle.example',
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe('/merchant/messages?saved=1#receipt');
    expect((await browser.get('/merchant/messages?saved=1')).text).toContain('id="receipt"');

    const now = await settings(merchant);
    expect(now.messages['box.receipt']).toBe(false);
    expect(now.messages['box.rate_request']).toBe(true);
    expect(now.messages['box.shipped']).toBe(true);
    expect(now.days.rateRequestDaysAfterDelivery).toBe(7);
    expect(now).toMatchObject({ fromName: 'Kettle & Co', replyTo: 'help@kettle.example', fromAddress: null, accentColor: '#aa3300' });
  });

  test('when a value is refused, then it is shown beside its field with what was typed, and nothing is saved', async () => {
    const merchant = await createMerchant({ name: 'Refused' }, clock);
    const browser = await signedIn(merchant);
    const form = formOf((await browser.get('/merchant/messages')).text);
    const refused = await browser.post('/merchant/messages', { ...form, 'days:upcomingBoxDaysBeforeCutoff': '40', fromAddress: 'not-an-address' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('<p class="field-error" id="days:upcomingBoxDaysBeforeCutoff-error">Enter a number of days from 1 to 14</p>');
    expect(refused.text).toMatch(/id="days:upcomingBoxDaysBeforeCutoff"[^>]*value="40"/);
    expect(refused.text).toContain('Nothing was saved: see the fields marked below.');
    const addressRefused = await browser.post('/merchant/messages', { ...form, fromAddress: 'not-an-address' });
    expect(addressRefused.status).toBe(400);
    expect(addressRefused.text).toContain('<p class="field-error" id="fromAddress-error">Enter an e-mail address such as hello@yourshop.com</p>');
    expect(addressRefused.text).toContain('value="not-an-address"');
    expect((await settings(merchant)).updatedAt).toBeNull();
    // A field the form does not have is refused too, never a 5xx.
    expect((await browser.post('/merchant/messages', { ...form, 'on:merchant.sign_up_confirmation': 'on' })).status).toBe(400);
  });

  test('when a merchant previews a message, then they see its subject, its text, and its HTML served on its own under a sandbox policy', async () => {
    const browser = await signedIn(store);
    const page = await browser.get('/merchant/messages/box.shipped');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<iframe class="mail" src="/merchant/messages/box.shipped/html" title="The message as HTML" sandbox></iframe>');
    expect(page.text).toMatch(/<pre class="mail">[^<]*Ana/);
    expect(page.text).toContain('Send me a test');
    const html = await browser.get('/merchant/messages/box.shipped/html');
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toBe(
      "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; frame-ancestors 'self'",
    );
    expect(html.text).toContain('Bean There');
    for (const path of ['/merchant/messages/no.such', '/merchant/messages/merchant.sign_up_confirmation', '/merchant/messages/no.such/html']) {
      expect((await browser.get(path)).status).toBe(404);
    }
  });

  test('when a merchant presses "Send me a test", then one message is queued to their own address and the receipt says where it went', async () => {
    const merchant = await createMerchant({ name: 'Tester' }, clock);
    const browser = await signedIn(merchant);
    await browser.get('/merchant/messages/box.receipt');
    const sent = await browser.post('/merchant/messages/box.receipt/test', {});
    expect(sent.status).toBe(303);
    expect(sent.headers.location).toBe('/merchant/messages/box.receipt?sent=1#receipt');
    const tests = await queuedMessages({ merchantId: merchant.id });
    expect(tests).toHaveLength(1);
    expect(tests[0]).toMatchObject({ template: 'box.receipt', audience: 'merchant', to: merchant.email, subject: expect.stringMatching(/^\[Test\] /) });
    const receipt = await browser.get('/merchant/messages/box.receipt?sent=1');
    expect(receipt.text).toContain(`A test of this message is on its way to <strong>${merchant.email}</strong>`);
    expect((await browser.post('/merchant/messages/no.such/test', {})).status).toBe(404);
    // Each press sends a real message: twenty an hour, as through the API.
    for (let i = 1; i < 20; i++) expect((await browser.post('/merchant/messages/box.receipt/test', {})).status).toBe(303);
    const tooMany = await browser.post('/merchant/messages/box.receipt/test', {});
    expect(tooMany.status).toBe(429);
    expect(tooMany.text).not.toContain('stack');
    expect(await queuedMessages({ merchantId: merchant.id })).toHaveLength(20);
  });

  test("when a merchant reads the sent log, then it lists only their store's messages, newest first, filtered by status, message and shopper", async () => {
    const browser = await signedIn(store, '/merchant/messages/log');
    const log = await browser.get('/merchant/messages/log');
    expect(log.status).toBe(200);
    const order = [ids.anaSignIn!, ids.benWinBack!, ids.anaShipped!].map((id) => log.text.indexOf(`/merchant/messages/log/${id}"`));
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(log.text).not.toContain('Their box ships');
    expect(log.text).toContain('Not sent'); // the win-back without marketing consent
    expect(log.text).not.toContain('482913');
    expect(log.text).not.toContain('tok_secret123');

    const suppressed = await browser.get('/merchant/messages/log?status=suppressed');
    expect(suppressed.text).toContain(ids.benWinBack);
    expect(suppressed.text).not.toContain(ids.anaShipped);
    const shipped = await browser.get('/merchant/messages/log?template=box.shipped');
    expect(shipped.text).toContain(ids.anaShipped);
    expect(shipped.text).not.toContain(ids.benWinBack);
    const anas = await browser.get(`/merchant/messages/log?customer=${ana.id}`);
    expect(anas.text).toContain(ids.anaShipped);
    expect(anas.text).toContain(ids.anaSignIn);
    expect(anas.text).not.toContain(ids.benWinBack);
    expect(anas.text).toContain(ana.email);
    expect((await browser.get(`/merchant/messages/log?customer=${ana.id}&template=box.shipped`)).text).not.toContain(ids.anaSignIn);
    const bad = await browser.get('/merchant/messages/log?status=lost&after=nonsense');
    expect(bad.status).toBe(200);
    expect(bad.text).toContain('<p class="field-error" id="status-error">Choose a status from the list</p>');
  });

  test('when the log is longer than a page, then "Next page" continues where the page stopped, within the filter', async () => {
    const merchant = await createMerchant({ name: 'Busy' }, clock);
    for (let i = 0; i < 27; i++) {
      await queueMessage({ clock }, buildOutgoingMessage({ merchantId: merchant.id, to: 'cy@example.com', subject: `Box number ${i}` }));
      clock.advance(1000);
    }
    const browser = await signedIn(merchant, '/merchant/messages/log');
    const first = await browser.get('/merchant/messages/log?template=box.shipped');
    expect(first.text).toContain('Box number 26');
    expect(first.text).not.toContain('Box number 1<');
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    expect(next).toContain('template=box.shipped');
    const second = await browser.get(next);
    expect(second.text).toContain('Box number 1<');
    expect(second.text).toContain('Box number 0<');
    expect(second.text).not.toContain('Box number 26');
    expect(second.text).not.toContain('rel="next"');
  });

  test('when a merchant opens a message, then they see its delivery and both parts; a sign-in message hides its link and code and its HTML is not served', async () => {
    const browser = await signedIn(store, '/merchant/messages/log');
    const shipped = await browser.get(`/merchant/messages/log/${ids.anaShipped}`);
    expect(shipped.status).toBe(200);
    expect(shipped.text).toContain('Ana’s box is on its way');
    expect(shipped.text).toContain('Your box has shipped, O&#39;Neil.');
    expect(shipped.text).toContain('Queued');
    expect(shipped.text).toContain(`<iframe class="mail" src="/merchant/messages/log/${ids.anaShipped}/html" title="The message as HTML" sandbox></iframe>`);
    const html = await browser.get(`/merchant/messages/log/${ids.anaShipped}/html`);
    expect(html.status).toBe(200);
    expect(html.headers['content-security-policy']).toContain('sandbox');
    expect(html.text).toContain('<b>shipped</b>');

    const signIn = await browser.get(`/merchant/messages/log/${ids.anaSignIn}`);
    expect(signIn.status).toBe(200);
    expect(signIn.text).toContain('Sign in: [sign-in link hidden]');
    expect(signIn.text).not.toContain('tok_secret123');
    expect(signIn.text).not.toContain('482913');
    expect(signIn.text).not.toContain('<iframe');
    expect((await browser.get(`/merchant/messages/log/${ids.anaSignIn}/html`)).status).toBe(404);
  });

  test("when a merchant asks for another store's message, or a made-up one, then it is not found", async () => {
    const browser = await signedIn(store, '/merchant/messages/log');
    for (const path of [`/merchant/messages/log/${ids.theirs}`, `/merchant/messages/log/${ids.theirs}/html`, '/merchant/messages/log/msg_nope']) {
      expect((await browser.get(path)).status).toBe(404);
    }
    const theirs = await signedIn(other, '/merchant/messages/log');
    expect((await theirs.get(`/merchant/messages/log/${ids.anaShipped}`)).status).toBe(404);
    expect((await theirs.get(`/merchant/messages/log?customer=${ana.id}`)).text).toContain('No messages match.');
  });

  test('when a form comes with a forged token, then it is refused; when signed out, the pages send to sign-in', async () => {
    const merchant = await createMerchant({ name: 'Forged' }, clock);
    const browser = await signedIn(merchant);
    const form = formOf((await browser.get('/merchant/messages')).text);
    expect((await browser.post('/merchant/messages', { ...form, 'days:winBackDaysAfterCancelling': '60' }, { csrf: 'forged' })).status).toBe(403);
    expect((await browser.post('/merchant/messages/box.shipped/test', {}, { csrf: 'forged' })).status).toBe(403);
    expect((await settings(merchant)).days.winBackDaysAfterCancelling).toBe(30);
    expect(await queuedMessages({ merchantId: merchant.id })).toHaveLength(0);

    const stranger = pageClient(app);
    for (const path of [
      '/merchant/messages',
      '/merchant/messages/box.shipped',
      '/merchant/messages/box.shipped/html',
      '/merchant/messages/log',
      `/merchant/messages/log/${ids.anaShipped}`,
    ]) {
      const res = await stranger.get(path);
      expect([path, res.status]).toEqual([path, 303]);
      expect(res.headers.location).toMatch(/^\/merchant\/sign-in\?next=/);
    }
  });
});
