import { NotFoundError } from '../../../src/shared/errors';
import { startMailCatcher, type MailCatcher } from '../../../src/local/mail-catcher';
import { getCaughtMail, listCaughtMail, recordCaughtMail } from '../../../src/messages/caught-mail.service';
import { createMailTransport } from '../../../src/messages/mail-transport';
import { MessageModel } from '../../../src/messages/message.model';
import { deliverDueMessages, type DeliveryDeps } from '../../../src/messages/message-delivery.service';
import { queueMessage } from '../../../src/messages/message.service';
import { FakeClock } from '../../../src/shared/time';
import { buildOutgoingMessage } from '../../factories/message.factory';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

describe('the local mail catcher (no SMTP_URL)', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-06-10T16:00:00Z');
  let catcher: MailCatcher;
  let failStore = false;
  beforeAll(async () => {
    catcher = await startMailCatcher({
      store: (message) => (failStore ? Promise.reject(new Error('database unavailable')) : recordCaughtMail(clock, message)),
    });
  });
  afterAll(() => catcher.stop());

  const deps = (): DeliveryDeps => ({
    clock,
    logger: silentLogger,
    transport: createMailTransport(catcher.url),
    from: { name: 'Boxcycle', address: 'no-reply@boxcycle.localhost' },
    publicUrl: 'http://localhost:3000',
    appSecret: undefined,
  });
  const send = async (overrides: Parameters<typeof buildOutgoingMessage>[0]): Promise<string> => {
    const { id } = await queueMessage({ clock }, buildOutgoingMessage(overrides));
    await deliverDueMessages(deps());
    clock.advance(1000);
    return id;
  };

  test('when it starts, then it listens on the loopback interface only', () => {
    expect(catcher.host).toBe('127.0.0.1');
    expect(catcher.url).toBe(`smtp://127.0.0.1:${catcher.port}`);
  });

  test('when the delivery job sends through it, then each mail is kept for its store with its parts and headers, and the message log names it', async () => {
    const sentAt = clock.now();
    const id = await send({
      merchantId: 'mer_catcherone',
      customerId: 'cust_1',
      to: 'Ana@Example.com',
      category: 'reminder',
      template: 'box.upcoming',
      subject: 'Your next box',
    });

    const page = await listCaughtMail({ merchantId: 'mer_catcherone' }, { limit: 10 });
    expect(page).toMatchObject({ object: 'list', hasMore: false, nextCursor: null });
    expect(page.data).toEqual([
      {
        id: expect.stringMatching(/^cm_/),
        from: '"Boxcycle" <no-reply@boxcycle.localhost>',
        to: ['ana@example.com'],
        subject: 'Your next box',
        receivedAt: sentAt,
        date: expect.any(Date),
        hasHtml: true,
        rawSize: expect.any(Number),
      },
    ]);
    const caughtId = page.data[0]!.id;
    const mail = await getCaughtMail({ merchantId: 'mer_catcherone' }, caughtId);
    expect(mail).toMatchObject({
      messageId: `<${id}@boxcycle.localhost>`,
      outboxMessageId: id,
      envelopeFrom: 'no-reply@boxcycle.localhost',
      envelopeTo: ['ana@example.com'],
      text: expect.stringContaining("Your box has shipped, O'Neil."),
      html: expect.stringContaining('<p>Your box has <b>shipped</b>, O&#39;Neil.</p>'),
    });
    expect(mail.headers).toEqual(
      expect.arrayContaining([
        { name: 'Subject', value: 'Your next box' },
        { name: 'X-Boxcycle-Merchant', value: 'mer_catcherone' },
        { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
        { name: 'List-Unsubscribe', value: expect.stringMatching(/^<http:\/\/localhost:3000\/m\/unsubscribe\?token=[^>]+>$/) },
      ]),
    );
    expect(mail.rawSize).toBeGreaterThan(mail.html!.length);
    // The message log and the catcher point at each other.
    expect(await MessageModel.findById(id).lean()).toMatchObject({
      status: 'sent',
      providerMessageId: caughtId,
      providerResponse: `250 Message caught as ${caughtId}`,
    });
  });

  test('when a store reads caught mail, then it sees its own only, and another store’s is not found', async () => {
    await send({ merchantId: 'mer_catchertwo', customerId: 'cust_2', to: 'ben@example.com', subject: 'For store two' });
    const two = await listCaughtMail({ merchantId: 'mer_catchertwo' }, { limit: 10 });
    expect(two.data.map((mail) => mail.subject)).toEqual(['For store two']);
    const [theirs] = (await listCaughtMail({ merchantId: 'mer_catcherone' }, { limit: 10 })).data;
    await expect(getCaughtMail({ merchantId: 'mer_catchertwo' }, theirs!.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getCaughtMail({ recipient: 'someone@else.example' }, theirs!.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  test('when mail is read by recipient, then it is everything caught for that address (the platform’s own and any store’s), and nobody else’s', async () => {
    await send({ audience: 'merchant', to: 'owner@new-store.example', template: 'merchant.sign_up_confirmation', subject: 'Confirm your address' });

    const mine = await listCaughtMail({ recipient: 'Owner@New-Store.example' }, { limit: 10 });
    expect(mine.data.map((mail) => mail.subject)).toEqual(['Confirm your address']);
    expect((await getCaughtMail({ recipient: 'owner@new-store.example' }, mine.data[0]!.id)).headers.map((h) => h.name)).not.toContain('X-Boxcycle-Merchant');
    // A shopper's mail from a store is theirs to read too (their sign-in link, on this machine).
    const ana = (await listCaughtMail({ recipient: 'ana@example.com' }, { limit: 10 })).data;
    expect(ana.length).toBeGreaterThan(0);
    expect(ana.every((mail) => mail.to.includes('ana@example.com'))).toBe(true);
    expect((await listCaughtMail({ recipient: 'someone@else.example' }, { limit: 10 })).data).toEqual([]);
  });

  test('when a store has more caught mail than a page, then the next page continues, newest first', async () => {
    for (const n of [1, 2, 3]) await send({ merchantId: 'mer_catcherpages', to: `p${n}@example.com`, key: `page-${n}`, subject: `Mail ${n}` });
    const first = await listCaughtMail({ merchantId: 'mer_catcherpages' }, { limit: 2 });
    const second = await listCaughtMail({ merchantId: 'mer_catcherpages' }, { limit: 2, startingAfter: first.nextCursor! });
    expect([...first.data, ...second.data].map((mail) => mail.subject)).toEqual(['Mail 3', 'Mail 2', 'Mail 1']);
    expect(second.hasMore).toBe(false);
  });

  test('when the catcher cannot keep a message, then it answers 451 and the message is tried again later', async () => {
    failStore = true;
    try {
      const id = await send({ merchantId: 'mer_catcherfail', to: 'later@example.com' });
      expect(await MessageModel.findById(id).lean()).toMatchObject({
        status: 'queued',
        lastResponseCode: 451,
        lastError: expect.stringContaining('Could not keep the message'),
      });
    } finally {
      failStore = false;
    }
  });
});
