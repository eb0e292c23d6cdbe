import request from 'supertest';
import { createMailTransport } from '../../../src/messages/mail-transport';
import { deliverDueMessages } from '../../../src/messages/message-delivery.service';
import { queueMessage } from '../../../src/messages/message.service';
import { FakeClock } from '../../../src/shared/time';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { buildOutgoingMessage } from '../../factories/message.factory';
import { useMailbox } from '../../helpers/mailbox';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

describe('the message log and message preferences (API)', () => {
  useTestDatabase();
  const mailbox = useMailbox();
  // Noon in New York: reminders go at once.
  const { app, clock } = buildTestApp({ clock: new FakeClock('2026-06-10T16:00:00Z') });
  let merchant: TestMerchant;
  let other: TestMerchant;
  let ana: { id: string; email: string };
  let ben: { id: string; email: string };
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    [merchant, other] = await Promise.all([createMerchant(), createMerchant()]);
    ana = (
      await request(app)
        .post('/api/v1/customers')
        .set(merchant.auth)
        .send(buildCustomerInput({ marketingConsent: true }))
        .expect(201)
    ).body;
    ben = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    const queue = async (name: string, overrides: Parameters<typeof buildOutgoingMessage>[0]): Promise<void> => {
      ids[name] = (await queueMessage({ clock }, buildOutgoingMessage({ merchantId: merchant.id, ...overrides }))).id;
      clock.advance(1000);
    };
    await queue('anaShipped', { customerId: ana.id, to: ana.email, template: 'box.shipped' });
    await queue('anaUpcoming', { customerId: ana.id, to: ana.email, template: 'box.upcoming', category: 'reminder' });
    await queue('benShipped', { customerId: ben.id, to: ben.email, template: 'box.shipped' });
    await queue('benOffer', { customerId: ben.id, to: ben.email, template: 'winback.offer', category: 'marketing' });
    // The other store's message to the same shopper address.
    await queueMessage({ clock }, buildOutgoingMessage({ merchantId: other.id, customerId: 'cust_theirs', to: ana.email }));
    mailbox().failNext(1, { code: 451 });
    await deliverDueMessages({
      clock,
      logger: silentLogger,
      transport: createMailTransport(mailbox().url),
      from: { name: 'Boxcycle', address: 'no-reply@boxcycle.test' },
      publicUrl: 'http://localhost:3000',
      appSecret: undefined,
    });
  });

  const list = async (query = ''): Promise<any> => (await request(app).get(`/api/v1/messages${query}`).set(merchant.auth).expect(200)).body;

  test('when the merchant lists its messages, then they come newest first, each with its status, and none of another store’s', async () => {
    const page = await list();
    expect(page.data.map((message: any) => message.id)).toEqual([ids.benOffer, ids.benShipped, ids.anaUpcoming, ids.anaShipped]);
    expect(page.data.map((message: any) => [message.template, message.status, message.suppressedReason])).toEqual([
      ['winback.offer', 'suppressed', 'no_marketing_consent'],
      ['box.shipped', 'sent', null],
      ['box.upcoming', 'sent', null],
      ['box.shipped', 'queued', null],
    ]);
    const deferred = page.data[3];
    expect(deferred).toMatchObject({ object: 'message', attempts: 1, lastError: expect.stringContaining('451'), nextAttemptAt: expect.any(String) });
    expect(page.data[1]).toMatchObject({ providerMessageId: expect.stringMatching(/^TEST\d$/), sentAt: clock.now().toISOString(), nextAttemptAt: null });
    expect(page.data[0]).not.toHaveProperty('html');
  });

  test('when the list is filtered by customer, status or template, then only those come', async () => {
    expect((await list(`?customerId=${ana.id}`)).data.map((m: any) => m.id)).toEqual([ids.anaUpcoming, ids.anaShipped]);
    expect((await list('?status=sent')).data.map((m: any) => m.id)).toEqual([ids.benShipped, ids.anaUpcoming]);
    expect((await list('?template=box.shipped')).data.map((m: any) => m.id)).toEqual([ids.benShipped, ids.anaShipped]);
    expect((await list('?status=queued&template=box.shipped')).data.map((m: any) => m.id)).toEqual([ids.anaShipped]);
  });

  test('when the list is read a page at a time, then the cursor continues where the last page stopped', async () => {
    const first = await list('?limit=3');
    expect(first.hasMore).toBe(true);
    const second = await list(`?limit=3&startingAfter=${first.nextCursor}`);
    expect(second).toMatchObject({ hasMore: false, nextCursor: null });
    expect([...first.data, ...second.data].map((m: any) => m.id)).toEqual([ids.benOffer, ids.benShipped, ids.anaUpcoming, ids.anaShipped]);
  });

  test('when the query is not valid, then it is a 400 naming the field', async () => {
    const res = await request(app).get('/api/v1/messages?status=bounced&limit=0').set(merchant.auth).expect(400);
    expect(res.body.errors.map((issue: any) => issue.field).sort()).toEqual(['query.limit', 'query.status']);
    await request(app).get('/api/v1/messages?startingAfter=nonsense').set(merchant.auth).expect(400);
  });

  test('when one message is read, then it comes with its parts, the headers it was sent with and its delivery history', async () => {
    const res = await request(app).get(`/api/v1/messages/${ids.anaUpcoming}`).set(merchant.auth).expect(200);
    expect(res.body).toMatchObject({
      id: ids.anaUpcoming,
      category: 'reminder',
      text: "Your box has shipped, O'Neil.",
      html: '<p>Your box has <b>shipped</b>, O&#39;Neil.</p>',
      timezone: 'America/New_York',
      from: null,
      headers: {
        'Message-ID': `<${ids.anaUpcoming}@boxcycle.test>`,
        'X-Boxcycle-Message': ids.anaUpcoming,
        'List-Unsubscribe': expect.stringMatching(/^<http:\/\/localhost:3000\/m\/unsubscribe\?token=/),
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
      history: [
        { event: 'queued', detail: null, responseCode: null },
        { event: 'sent', detail: expect.stringMatching(/^250 /), responseCode: 250 },
      ],
    });
    const deferred = await request(app).get(`/api/v1/messages/${ids.anaShipped}`).set(merchant.auth).expect(200);
    expect(deferred.body.history.map((entry: any) => [entry.event, entry.responseCode])).toEqual([
      ['queued', null],
      ['deferred', 451],
    ]);
  });

  test('when another store, or nobody, asks for a message, then it is not found (or unauthorized)', async () => {
    await request(app).get(`/api/v1/messages/${ids.anaShipped}`).set(other.auth).expect(404);
    await request(app).get('/api/v1/messages/msg_nosuchmessage000000').set(merchant.auth).expect(404);
    await request(app).get(`/api/v1/messages/${ids.anaShipped}`).expect(401);
    expect((await request(app).get('/api/v1/messages').set(other.auth).expect(200)).body.data).toHaveLength(1);
  });

  describe('message preferences', () => {
    test('when nothing was chosen, then every category is on, and marketing consent is shown as the customer has it', async () => {
      const res = await request(app).get(`/api/v1/customers/${ben.id}/message-preferences`).set(merchant.auth).expect(200);
      expect(res.body).toEqual({
        object: 'message_preferences',
        customerId: ben.id,
        transactional: true,
        reminder: true,
        marketing: true,
        marketingConsent: false,
      });
    });

    test('when the merchant turns reminders off, then they stay off, marketing stays on, and the next reminder is suppressed', async () => {
      const res = await request(app).put(`/api/v1/customers/${ana.id}/message-preferences`).set(merchant.auth).send({ reminder: false }).expect(200);
      expect(res.body).toMatchObject({ transactional: true, reminder: false, marketing: true, marketingConsent: true });
      expect((await request(app).get(`/api/v1/customers/${ana.id}/message-preferences`).set(merchant.auth).expect(200)).body.reminder).toBe(false);
      const next = await queueMessage(
        { clock },
        buildOutgoingMessage({ merchantId: merchant.id, customerId: ana.id, to: ana.email, key: 'after-put', category: 'reminder' }),
      );
      expect(next.status).toBe('suppressed');

      await request(app).put(`/api/v1/customers/${ana.id}/message-preferences`).set(merchant.auth).send({ reminder: true }).expect(200);
    });

    test('when the merchant tries to turn transactional mail off, or sends what is not a choice, then it is a 400', async () => {
      const res = await request(app).put(`/api/v1/customers/${ana.id}/message-preferences`).set(merchant.auth).send({ transactional: false }).expect(400);
      expect(res.body.errors).toEqual([{ field: 'body.transactional', message: expect.stringMatching(/^cannot be turned off/) }]);
      await request(app).put(`/api/v1/customers/${ana.id}/message-preferences`).set(merchant.auth).send({ transactional: true }).expect(200);
      await request(app).put(`/api/v1/customers/${ana.id}/message-preferences`).set(merchant.auth).send({ reminder: 'no' }).expect(400);
    });

    test('when the customer is another store’s or does not exist, then it is not found', async () => {
      await request(app).get(`/api/v1/customers/${ana.id}/message-preferences`).set(other.auth).expect(404);
      await request(app).put(`/api/v1/customers/${ana.id}/message-preferences`).set(other.auth).send({ reminder: false }).expect(404);
      await request(app).get('/api/v1/customers/cust_nobody/message-preferences').set(merchant.auth).expect(404);
      expect((await request(app).get(`/api/v1/customers/${ana.id}/message-preferences`).set(merchant.auth).expect(200)).body.reminder).toBe(true);
    });
  });
});
