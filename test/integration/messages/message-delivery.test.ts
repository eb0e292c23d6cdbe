import { createCustomer } from '../../../src/customers/customer.service';
import { freePort } from '../../../src/local/child-service';
import type { OutgoingMessage } from '../../../src/messages/message-contract';
import { MessageModel, type Message } from '../../../src/messages/message.model';
import { MessagePreferenceModel } from '../../../src/messages/message-preference.model';
import { MessageSuppressionModel } from '../../../src/messages/message-suppression.model';
import { createMailTransport } from '../../../src/messages/mail-transport';
import { deliverDueMessages, MAX_DELIVERY_ATTEMPTS, type DeliveryDeps } from '../../../src/messages/message-delivery.service';
import { liftSuppression, suppressionOf } from '../../../src/messages/message-suppression.service';
import { queueMessage } from '../../../src/messages/message.service';
import { setMessagePreferences } from '../../../src/messages/message-preference.service';
import { readUnsubscribeLink } from '../../../src/messages/unsubscribe.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { buildOutgoingMessage } from '../../factories/message.factory';
import { useMailbox } from '../../helpers/mailbox';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

const APP_SECRET = 'delivery-test-secret-0123456789abcdef';
const MINUTE = 60_000;

describe('message delivery over SMTP', () => {
  useTestDatabase();
  const mailbox = useMailbox();
  let clock: FakeClock;
  let merchantId: string;
  let customer: { id: string; email: string };
  let unconsenting: { id: string; email: string };

  beforeAll(async () => {
    merchantId = (await createMerchant()).id;
    const customerDeps = { clock: new FakeClock(), stripe: createStripeGateway(testStripe()), logger: silentLogger };
    customer = await createCustomer(customerDeps, merchantId, buildCustomerInput({ marketingConsent: true }));
    unconsenting = await createCustomer(customerDeps, merchantId, buildCustomerInput({ marketingConsent: false }));
  });

  beforeEach(async () => {
    // 12:00 in New York: daytime.
    clock = new FakeClock('2026-06-10T16:00:00Z');
    await Promise.all([MessageModel.deleteMany({}), MessageSuppressionModel.deleteMany({}), MessagePreferenceModel.deleteMany({})]);
  });

  const deps = (url = mailbox().url): DeliveryDeps => ({
    clock,
    logger: silentLogger,
    transport: createMailTransport(url),
    from: { name: 'Boxcycle', address: 'no-reply@boxcycle.test' },
    publicUrl: 'https://shop.example',
    appSecret: APP_SECRET,
  });
  const message = (overrides: Partial<OutgoingMessage> = {}): OutgoingMessage =>
    buildOutgoingMessage({ merchantId, customerId: customer.id, to: customer.email, ...overrides });
  const stored = async (id: string): Promise<Message> => (await MessageModel.findById(id).lean<Message>())!;

  test('when a transactional message is queued and the delivery job runs, then one mail arrives: recipient, subject, both parts, our Message-ID and no unsubscribe headers', async () => {
    const { id, queued, status } = await queueMessage(
      { clock },
      message({ from: { name: 'Bean Roasters', address: 'hello@bean.example' }, replyTo: 'help@bean.example' }),
    );
    expect({ queued, status }).toEqual({ queued: true, status: 'queued' });

    expect(await deliverDueMessages(deps())).toEqual({ sent: 1, deferred: 0, failed: 0, suppressed: 0 });

    expect(mailbox().received).toHaveLength(1);
    const [mail] = mailbox().received;
    expect(mail!.envelope).toEqual({ from: 'hello@bean.example', to: [customer.email] });
    expect(mail!.parsed.from?.value).toEqual([{ name: 'Bean Roasters', address: 'hello@bean.example' }]);
    expect(mail!.parsed.replyTo?.value[0]?.address).toBe('help@bean.example');
    expect(mail!.parsed.subject).toBe('Your box is on its way');
    expect(mail!.parsed.text?.trim()).toBe("Your box has shipped, O'Neil.");
    expect(mail!.parsed.html).toContain('<p>Your box has <b>shipped</b>, O&#39;Neil.</p>');
    expect(mail!.parsed.messageId).toBe(`<${id}@boxcycle.test>`);
    expect(mail!.header('X-Boxcycle-Message')).toBe(id);
    expect(mail!.header('X-Boxcycle-Merchant')).toBe(merchantId);
    expect(mail!.header('List-Unsubscribe')).toBeUndefined();
    expect(mail!.parsed.headers.get('list')).toBeUndefined();

    expect(await stored(id)).toMatchObject({
      status: 'sent',
      state: 'succeeded',
      attempts: 1,
      sentAt: clock.now(),
      providerMessageId: 'TEST1',
      providerResponse: expect.stringMatching(/^250 .*queued as TEST1/),
      headers: { 'Message-ID': `<${id}@boxcycle.test>`, 'X-Boxcycle-Message': id, 'X-Boxcycle-Merchant': merchantId },
      history: [
        { at: clock.now(), event: 'queued' },
        { at: clock.now(), event: 'sent', detail: expect.stringMatching(/^250 /), responseCode: 250 },
      ],
    });
  });

  test('when a message names no sender, then it comes from MAIL_FROM', async () => {
    await queueMessage({ clock }, message());
    await deliverDueMessages(deps());
    expect(mailbox().received[0]!.parsed.from?.value).toEqual([{ name: 'Boxcycle', address: 'no-reply@boxcycle.test' }]);
  });

  test.each(['reminder', 'marketing'] as const)(
    'when a %s is delivered, then it carries List-Unsubscribe with a signed link for that shopper and category, and one-click List-Unsubscribe-Post',
    async (category) => {
      await queueMessage({ clock }, message({ category, template: 'box.upcoming' }));
      await deliverDueMessages(deps());

      const [mail] = mailbox().received;
      expect(mail!.header('List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      const list = mail!.parsed.headers.get('list') as { unsubscribe: { url: string }; 'unsubscribe-post': { name: string } };
      expect(list['unsubscribe-post']).toEqual({ name: 'List-Unsubscribe=One-Click' });
      expect(list.unsubscribe.url).toMatch(/^https:\/\/shop\.example\/m\/unsubscribe\?token=/);
      const token = new URL(list.unsubscribe.url).searchParams.get('token')!;
      expect(await readUnsubscribeLink({ clock, appSecret: APP_SECRET }, token)).toMatchObject({
        ok: true,
        target: { merchantId, customerId: customer.id, category },
      });
      expect(await readUnsubscribeLink({ clock, appSecret: 'another-installation-secret-0123456789' }, token)).toEqual({ ok: false, reason: 'invalid' });
    },
  );

  test('when the same message is queued twice and the delivery job runs twice, then one mail is sent', async () => {
    const first = await queueMessage({ clock }, message({ key: 'sub_1:00000004' }));
    const second = await queueMessage({ clock }, message({ key: 'sub_1:00000004', subject: 'A second rendering' }));
    expect(second).toEqual({ id: first.id, queued: false, status: 'queued' });

    await deliverDueMessages(deps());
    await deliverDueMessages(deps());
    clock.advance(24 * 60 * MINUTE);
    await deliverDueMessages(deps());

    expect(mailbox().received.map((mail) => mail.parsed.subject)).toEqual(['Your box is on its way']);
    expect(await MessageModel.countDocuments({})).toBe(1);
    expect(await queueMessage({ clock }, message({ key: 'sub_1:00000004' }))).toEqual({ id: first.id, queued: false, status: 'sent' });
  });

  test('when the same key and template go to two recipients, then each gets one', async () => {
    await queueMessage({ clock }, message({ key: 'sub_2:00000001', to: 'first@example.com' }));
    await queueMessage({ clock }, message({ key: 'sub_2:00000001', to: 'second@example.com' }));
    await deliverDueMessages(deps());
    expect(
      mailbox()
        .received.map((mail) => mail.envelope.to[0])
        .sort(),
    ).toEqual(['first@example.com', 'second@example.com']);
  });

  test('when two workers deliver at the same moment, then every message is sent exactly once', async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => queueMessage({ clock }, message({ key: `sub_3:${i}` })).then((q) => q.id)));

    const [a, b] = await Promise.all([deliverDueMessages(deps(), { batchSize: 3 }), deliverDueMessages(deps(), { batchSize: 3 })]);

    expect(a.sent + b.sent).toBe(8);
    const sentIds = mailbox().received.map((mail) => mail.header('X-Boxcycle-Message'));
    expect(sentIds.sort()).toEqual([...ids].sort());
  });

  test('when the server answers 451, then the message waits a minute and is sent on the next try', async () => {
    mailbox().failNext(1, { code: 451, message: '4.7.1 Greylisted, try again' });
    const { id } = await queueMessage({ clock }, message());

    expect(await deliverDueMessages(deps())).toMatchObject({ sent: 0, deferred: 1 });
    expect(await stored(id)).toMatchObject({
      status: 'queued',
      state: 'failed',
      attempts: 1,
      lastResponseCode: 451,
      lastError: expect.stringContaining('451 4.7.1 Greylisted'),
      nextAttemptAt: new Date(clock.now().getTime() + MINUTE),
    });
    expect(mailbox().received).toHaveLength(0);

    clock.advance(MINUTE - 1);
    expect(await deliverDueMessages(deps())).toMatchObject({ sent: 0, deferred: 0 });
    clock.advance(1);
    expect(await deliverDueMessages(deps())).toMatchObject({ sent: 1 });

    expect(mailbox().received).toHaveLength(1);
    const sent = await stored(id);
    expect(sent).toMatchObject({ status: 'sent', attempts: 2 });
    expect(sent.lastError).toBeUndefined();
    expect(sent.history.map((entry) => [entry.event, entry.responseCode])).toEqual([
      ['queued', undefined],
      ['deferred', 451],
      ['sent', 250],
    ]);
    expect(await suppressionOf(merchantId, customer.email)).toBeUndefined();
  });

  test('when the SMTP server cannot be reached, then the message is deferred, not failed, and its address is not suppressed', async () => {
    const { id } = await queueMessage({ clock }, message());
    const closed = await freePort();
    expect(await deliverDueMessages(deps(`smtp://127.0.0.1:${closed}`))).toMatchObject({ deferred: 1 });
    expect(await stored(id)).toMatchObject({ status: 'queued', state: 'failed', lastError: expect.stringMatching(/ECONNREFUSED|connect/i) });
    expect(await suppressionOf(merchantId, customer.email)).toBeUndefined();
  });

  test('when every attempt meets a 4xx, then the backoff doubles to its cap and after the last attempt the message is failed', async () => {
    mailbox().failNext(MAX_DELIVERY_ATTEMPTS, { code: 421 });
    const { id } = await queueMessage({ clock }, message());
    const waits: number[] = [];
    for (let attempt = 1; attempt <= MAX_DELIVERY_ATTEMPTS; attempt += 1) {
      await deliverDueMessages(deps());
      const after = await stored(id);
      if (after.nextAttemptAt) {
        waits.push((after.nextAttemptAt.getTime() - clock.now().getTime()) / MINUTE);
        clock.set(after.nextAttemptAt);
      }
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
    expect(await stored(id)).toMatchObject({
      status: 'failed',
      state: 'failed',
      attempts: MAX_DELIVERY_ATTEMPTS,
      lastError: expect.stringMatching(/^gave up after 10 attempts: 421/),
    });
    clock.advance(24 * 60 * MINUTE);
    await deliverDueMessages(deps());
    expect(mailbox().received).toHaveLength(0);
    expect(await suppressionOf(merchantId, customer.email)).toBeUndefined();
  });

  test('when a worker died during the last attempt, then the sweep fails the message with nothing sent; one that died earlier is tried again', async () => {
    const last = await queueMessage({ clock }, message({ key: 'died-on-last' }));
    const earlier = await queueMessage({ clock }, message({ key: 'died-earlier' }));
    const claimedAt = new Date(clock.now().getTime() - 11 * MINUTE);
    await MessageModel.updateOne({ _id: last.id }, { $set: { state: 'processing', attempts: MAX_DELIVERY_ATTEMPTS, claimedAt } });
    await MessageModel.updateOne({ _id: earlier.id }, { $set: { state: 'processing', attempts: 3, claimedAt } });
    await deliverDueMessages(deps());
    expect(await stored(last.id)).toMatchObject({ status: 'failed', state: 'failed', attempts: MAX_DELIVERY_ATTEMPTS });
    expect((await stored(last.id)).nextAttemptAt).toBeUndefined();
    expect((await stored(last.id)).history.at(-1)).toMatchObject({ event: 'failed', detail: 'gave up: the last attempt was lost' });
    expect(await stored(earlier.id)).toMatchObject({ status: 'sent', attempts: 4 });
    expect(mailbox().received).toHaveLength(1);
  });

  describe('a permanent failure (SMTP 5xx)', () => {
    test('when the server refuses the mailbox (550 to RCPT TO), then the message fails, the address is suppressed, and the next reminder and receipt to it are suppressed', async () => {
      mailbox().failNext(1, { code: 550, message: '5.1.1 No such user here', stage: 'rcpt' });
      const { id } = await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming' }));

      expect(await deliverDueMessages(deps())).toMatchObject({ failed: 1 });
      expect(await stored(id)).toMatchObject({
        status: 'failed',
        state: 'failed',
        failedAt: clock.now(),
        lastResponseCode: 550,
        lastError: expect.stringContaining('550 5.1.1 No such user here'),
      });
      expect(await suppressionOf(merchantId, customer.email)).toMatchObject({ reason: 'bounced', recipientRefused: true, responseCode: 550, messageId: id });

      const reminder = await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming', key: 'next' }));
      const receipt = await queueMessage({ clock }, message({ template: 'box.paid', key: 'next' }));
      expect([reminder.status, receipt.status]).toEqual(['suppressed', 'suppressed']);
      expect(await stored(reminder.id)).toMatchObject({ suppressedReason: 'address_bounced', history: [{ event: 'suppressed', detail: 'address_bounced' }] });

      clock.advance(60 * MINUTE);
      await deliverDueMessages(deps());
      expect(mailbox().received).toHaveLength(0);
      // The failed message is never tried again.
      expect(await stored(id)).toMatchObject({ status: 'failed', attempts: 1 });
    });

    test('when the server refuses the message itself (554 after DATA), then reminders to the address are suppressed but a receipt is still sent', async () => {
      mailbox().failNext(1, { code: 554, message: '5.7.1 Message rejected as spam', stage: 'data' });
      await queueMessage({ clock }, message({ category: 'marketing', template: 'winback.offer' }));
      expect(await deliverDueMessages(deps())).toMatchObject({ failed: 1 });
      expect(await suppressionOf(merchantId, customer.email)).toMatchObject({ recipientRefused: false, responseCode: 554 });

      const reminder = await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming', key: 'k2' }));
      const receipt = await queueMessage({ clock }, message({ template: 'box.paid', key: 'k2' }));
      expect(reminder.status).toBe('suppressed');
      expect(receipt.status).toBe('queued');
      await deliverDueMessages(deps());
      expect(mailbox().received.map((mail) => mail.header('X-Boxcycle-Message'))).toEqual([receipt.id]);
    });

    test('when the customer’s other address gets a reminder, then it is not suppressed; and once the merchant lifts the suppression, the first address gets mail again', async () => {
      mailbox().failNext(1, { code: 550 });
      await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming' }));
      await deliverDueMessages(deps());

      const other = await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming', key: 'k3', to: 'new-address@example.com' }));
      expect(other.status).toBe('queued');

      expect(await liftSuppression(merchantId, customer.email.toUpperCase())).toBe(true);
      expect(await liftSuppression(merchantId, customer.email)).toBe(false);
      const again = await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming', key: 'k4' }));
      expect(again.status).toBe('queued');
      await deliverDueMessages(deps());
      expect(
        mailbox()
          .received.map((mail) => mail.envelope.to[0])
          .sort(),
      ).toEqual([customer.email, 'new-address@example.com'].sort());
    });

    test('when another merchant’s mail to the same address bounced, then this merchant’s reminders still go', async () => {
      const otherMerchant = (await createMerchant()).id;
      mailbox().failNext(1, { code: 550 });
      await queueMessage({ clock }, message({ merchantId: otherMerchant, customerId: 'cust_elsewhere', category: 'reminder', template: 'box.upcoming' }));
      await deliverDueMessages(deps());
      expect(await suppressionOf(otherMerchant, customer.email)).toBeDefined();

      expect((await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming' }))).status).toBe('queued');
    });

    test('when a 5xx comes at the sender (MAIL FROM) — our own setup, not the recipient — then it is retried and nobody is suppressed', async () => {
      const { id } = await queueMessage({ clock }, message());
      const refusingSender = Object.assign(new Error('Mail command failed: 553 5.7.1 Sender not allowed'), { responseCode: 553, command: 'MAIL FROM' });
      const result = await deliverDueMessages({ ...deps(), transport: { send: () => Promise.reject(refusingSender), close: () => undefined } });
      expect(result).toMatchObject({ deferred: 1, failed: 0 });
      expect(await stored(id)).toMatchObject({ status: 'queued', lastResponseCode: 553 });
      expect(await suppressionOf(merchantId, customer.email)).toBeUndefined();
    });
  });

  describe('checks before sending', () => {
    test('when marketing goes to a shopper without marketing consent, then it is suppressed and never sent', async () => {
      const result = await queueMessage(
        { clock },
        message({ customerId: unconsenting.id, to: unconsenting.email, category: 'marketing', template: 'winback.offer' }),
      );
      expect(result.status).toBe('suppressed');
      expect(await stored(result.id)).toMatchObject({ suppressedReason: 'no_marketing_consent', state: 'succeeded' });
      await deliverDueMessages(deps());
      expect(mailbox().received).toHaveLength(0);
    });

    test('when the shopper unsubscribes from reminders after one was queued, then it is suppressed at send time; a receipt still goes', async () => {
      const reminder = await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming' }));
      const receipt = await queueMessage({ clock }, message({ template: 'box.paid' }));
      expect(reminder.status).toBe('queued');
      await setMessagePreferences(clock, { merchantId, customerId: customer.id }, { reminder: false }, 'one_click');

      expect(await deliverDueMessages(deps())).toMatchObject({ sent: 1, suppressed: 1 });
      expect(await stored(reminder.id)).toMatchObject({ status: 'suppressed', suppressedReason: 'unsubscribed', attempts: 1 });
      expect(mailbox().received.map((mail) => mail.header('X-Boxcycle-Message'))).toEqual([receipt.id]);
    });

    test('when the shopper unsubscribed from marketing, then marketing is suppressed and reminders still go', async () => {
      await setMessagePreferences(clock, { merchantId, customerId: customer.id }, { marketing: false }, 'page');
      expect((await queueMessage({ clock }, message({ category: 'marketing', template: 'winback.offer' }))).status).toBe('suppressed');
      expect((await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming' }))).status).toBe('queued');
    });

    test('when a message breaks the contract (no time zone, a subject on two lines, a reminder to a shopper with no customer), then queueing refuses it and stores nothing', async () => {
      await expect(queueMessage({ clock }, message({ timezone: 'Mars/Olympus' }))).rejects.toMatchObject({ issues: [{ field: 'timezone' }] });
      await expect(queueMessage({ clock }, message({ subject: 'Hi\r\nBcc: everyone@example.com' }))).rejects.toMatchObject({ issues: [{ field: 'subject' }] });
      await expect(queueMessage({ clock }, message({ category: 'reminder', customerId: undefined }))).rejects.toMatchObject({
        issues: [{ field: 'customerId' }],
      });
      expect(await MessageModel.countDocuments({})).toBe(0);
    });
  });

  describe('quiet hours on the recipient’s clock', () => {
    test('when a reminder is queued at 23:30 on the night clocks spring forward, then it is held until 08:00 EDT, while a receipt goes at once', async () => {
      clock.set('2026-03-08T04:30:00Z'); // 23:30 EST on March 7th
      const reminder = await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming' }));
      const receipt = await queueMessage({ clock }, message({ template: 'box.paid' }));
      expect((await stored(reminder.id)).sendAfter).toEqual(new Date('2026-03-08T12:00:00Z'));

      await deliverDueMessages(deps());
      expect(mailbox().received.map((mail) => mail.header('X-Boxcycle-Message'))).toEqual([receipt.id]);

      clock.set('2026-03-08T11:59:59Z'); // 07:59:59 EDT
      await deliverDueMessages(deps());
      expect(mailbox().received).toHaveLength(1);

      clock.set('2026-03-08T12:00:00Z'); // 08:00 EDT
      await deliverDueMessages(deps());
      expect(mailbox().received.map((mail) => mail.header('X-Boxcycle-Message'))).toEqual([receipt.id, reminder.id]);
    });

    test('when a reminder is queued at 23:00 on the night clocks fall back, then 08:00 EDT’s instant is still night and it goes at 08:00 EST', async () => {
      clock.set('2026-11-01T03:00:00Z'); // 23:00 EDT on October 31st
      const { id } = await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming', timezone: 'America/New_York' }));

      clock.set('2026-11-01T12:00:00Z'); // 07:00 EST: what 08:00 would have been before the change
      await deliverDueMessages(deps());
      expect(mailbox().received).toHaveLength(0);

      clock.set('2026-11-01T13:00:00Z'); // 08:00 EST
      await deliverDueMessages(deps());
      expect(mailbox().received.map((mail) => mail.header('X-Boxcycle-Message'))).toEqual([id]);
    });

    test('when a timed reminder asks for 06:00 local, then it goes at 08:00 local; one asking for 10:00 goes at 10:00', async () => {
      const early = await queueMessage(
        { clock },
        message({ category: 'reminder', template: 'box.upcoming', key: 'early', sendAfter: new Date('2026-06-11T10:00:00Z') }),
      );
      const late = await queueMessage(
        { clock },
        message({ category: 'reminder', template: 'box.upcoming', key: 'late', sendAfter: new Date('2026-06-11T14:00:00Z') }),
      );
      expect((await stored(early.id)).sendAfter).toEqual(new Date('2026-06-11T12:00:00Z'));
      expect((await stored(late.id)).sendAfter).toEqual(new Date('2026-06-11T14:00:00Z'));
    });

    test('when a reminder meets a 4xx just before 20:00 local, then its retry waits for the next morning', async () => {
      clock.set('2026-06-10T23:59:30Z'); // 19:59:30 EDT
      mailbox().failNext(1, { code: 450 });
      const { id } = await queueMessage({ clock }, message({ category: 'reminder', template: 'box.upcoming' }));
      await deliverDueMessages(deps());
      expect((await stored(id)).nextAttemptAt).toEqual(new Date('2026-06-11T12:00:00Z'));
    });
  });
});
