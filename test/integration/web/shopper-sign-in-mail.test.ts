import request from 'supertest';
import { createApiKey } from '../../../src/merchants/merchant.service';
import { createMailTransport } from '../../../src/messages/mail-transport';
import { deliverDueMessages } from '../../../src/messages/message-delivery.service';
import { FakeClock } from '../../../src/shared/time';
import { TEST_LINKS } from '../../helpers/facts';
import { useMailbox } from '../../helpers/mailbox';
import { queuedMessages } from '../../helpers/messages';
import { pageClient } from '../../helpers/pages';
import { DEMO_HANDLE, demoStore, subscribeOnStorefront } from '../../helpers/portal';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/**
 * The sign-in mail as the product sends it (no stand-in mailer): queued in the outbox as a transactional
 * message, delivered over SMTP, and its link and code are the ones that sign the shopper in.
 */
describe("a shopper's sign-in mail, through the outbox and SMTP", () => {
  useTestDatabase();
  const mailbox = useMailbox();
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const testApp = buildTestApp({ clock });
  const base = `/shop/${DEMO_HANDLE}`;

  beforeAll(async () => {
    const { plans } = await demoStore(clock);
    await subscribeOnStorefront(testApp, { email: 'ana@example.com', name: "Ana O'Neil" }, plans[0]!._id);
  });

  async function deliver() {
    mailbox().clear();
    await deliverDueMessages({
      clock,
      logger: silentLogger,
      transport: createMailTransport(mailbox().url),
      from: { name: 'Boxcycle', address: 'no-reply@boxcycle.test' },
      publicUrl: TEST_LINKS.publicUrl,
      appSecret: TEST_LINKS.appSecret,
    });
    return mailbox().received.filter((mail) => mail.envelope.to.includes('ana@example.com'));
  }

  test('when a shopper asks to sign in, then one mail arrives at once with the code in its subject and a link that signs them in once', async () => {
    const browser = pageClient(testApp.app);
    await browser.get(`${base}/sign-in`);
    expect((await browser.post(`${base}/sign-in`, { email: 'ana@example.com' })).status).toBe(303);
    const [queued] = await queuedMessages({ template: 'shopper.sign_in' });
    expect(queued).toMatchObject({ category: 'transactional', audience: 'shopper', to: 'ana@example.com' });

    const mails = await deliver();
    const mail = mails.find((m) => /sign-in code/.test(m.parsed.subject ?? ''))!;
    expect(mail).toBeDefined();
    const code = /Your sign-in code is (\d{6})/.exec(mail.parsed.subject!)![1]!;
    expect(mail.parsed.text).toContain(`Type this code on the one that asked: ${code}`);
    expect(mail.parsed.text).toContain("Ana O'Neil");
    expect(mail.parsed.text).not.toContain('Co..');
    expect(mail.parsed.html).toContain('Ana O&#39;Neil');
    expect(mail.header('list-unsubscribe')).toBeUndefined();
    const link = /Sign in: (\S+)/.exec(mail.parsed.text!)![1]!;
    expect(link).toMatch(new RegExp(`^${TEST_LINKS.publicUrl}${base}/sign-in/[A-Za-z0-9_-]+\\?next=`));
    expect(mail.parsed.html).toContain(link.replace(/&/g, '&amp;'));

    const path = new URL(link).pathname;
    expect((await browser.get(path)).status).toBe(200);
    const signedIn = await browser.post(path, { next: `${base}/account` });
    expect(signedIn.status).toBe(303);
    expect((await browser.get(`${base}/account`)).status).toBe(200);
    expect((await pageClient(testApp.app).post(path, { next: `${base}/account` })).status).not.toBe(303);
  });

  test('when a shopper asks twice, then each request sends its own mail, and a replayed delivery sends nothing more', async () => {
    await queuedMessages();
    const browser = pageClient(testApp.app);
    await browser.get(`${base}/sign-in`);
    await browser.post(`${base}/sign-in`, { email: 'ana@example.com' });
    await browser.get(`${base}/sign-in`);
    await browser.post(`${base}/sign-in`, { email: 'ana@example.com' });
    expect((await deliver()).filter((m) => /sign-in code/.test(m.parsed.subject ?? ''))).toHaveLength(2);
    expect(await deliver()).toHaveLength(0);
  });

  test('when the store reads its message log through the API, then a sign-in message shows neither its link nor its code', async () => {
    const browser = pageClient(testApp.app);
    await browser.get(`${base}/sign-in`);
    await browser.post(`${base}/sign-in`, { email: 'ana@example.com' });
    const [queued] = await queuedMessages({ template: 'shopper.sign_in' });
    const key = await createApiKey(clock, queued!.merchantId!, 'log reader');
    const auth = { Authorization: `Bearer ${key.secret}` };
    const listed = (await request(testApp.app).get('/api/v1/messages?template=shopper.sign_in').set(auth).expect(200)).body.data as Array<{
      id: string;
      subject: string;
    }>;
    expect(listed.length).toBeGreaterThan(0);
    for (const message of listed) {
      expect(message.subject).toBe('Your sign-in code is [code hidden]');
      const detail = (await request(testApp.app).get(`/api/v1/messages/${message.id}`).set(auth).expect(200)).body;
      expect(detail.text).not.toMatch(/https?:\/\/|\b\d{6}\b/);
      expect(detail.text).toContain('[sign-in link hidden]');
      expect(detail.html).not.toMatch(/sign-in\/|\b\d{6}\b/);
    }
  });
});
