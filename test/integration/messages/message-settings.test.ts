import request from 'supertest';
import { sendTemplate } from '../../../src/messages/message-sending.service';
import { OPTIONAL_TEMPLATES, TEMPLATES } from '../../../src/messages/message-templates';
import { readUnsubscribeLink } from '../../../src/messages/unsubscribe.service';
import { FakeClock } from '../../../src/shared/time';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { TEST_LINKS } from '../../helpers/facts';
import { queuedMessages } from '../../helpers/messages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe("the merchant's message settings, the list of messages, previews and test sends", () => {
  useTestDatabase();

  async function setUp() {
    const clock = new FakeClock('2026-04-01T12:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ name: `O'Hara & <Sons> Coffee` }, clock);
    return { clock, app, merchant };
  }

  test('when nothing is set, then every field has its default: the platform sender, the house colour, en-US, optional messages as they come, the days', async () => {
    const { app, merchant } = await setUp();
    const settings = (await request(app).get('/api/v1/message-settings').set(merchant.auth).expect(200)).body;
    expect(settings).toEqual({
      object: 'message_settings',
      fromName: null,
      fromAddress: null,
      replyTo: null,
      accentColor: '#1f6f54',
      locale: 'en-US',
      messages: Object.fromEntries(OPTIONAL_TEMPLATES.map((template) => [template.name, template.optional!.defaultOn])),
      days: { upcomingBoxDaysBeforeCutoff: 2, winBackDaysAfterCancelling: 30, rateRequestDaysAfterDelivery: 3, delayToleranceDays: 3 },
      updatedAt: null,
    });
    expect(settings.messages['box.rate_request']).toBe(false); // the rating page comes later
  });

  test('when the merchant sets them, then they are kept; a second PUT replaces them, so what it leaves out is the default again', async () => {
    const { app, merchant, clock } = await setUp();
    const put = await request(app)
      .put('/api/v1/message-settings')
      .set(merchant.auth)
      .send({
        fromName: 'Bean Team',
        fromAddress: 'Hello@Beans.example',
        replyTo: 'care@beans.example',
        accentColor: '#AA3300',
        locale: 'de-de',
        messages: { 'box.delivered': false, 'box.rate_request': true },
        days: { upcomingBoxDaysBeforeCutoff: 5, winBackDaysAfterCancelling: 60 },
      })
      .expect(200);
    expect(put.body).toMatchObject({
      fromName: 'Bean Team',
      fromAddress: 'hello@beans.example',
      replyTo: 'care@beans.example',
      accentColor: '#aa3300',
      locale: 'de-DE',
      messages: expect.objectContaining({ 'box.delivered': false, 'box.rate_request': true, 'box.shipped': true }),
      days: { upcomingBoxDaysBeforeCutoff: 5, winBackDaysAfterCancelling: 60, rateRequestDaysAfterDelivery: 3, delayToleranceDays: 3 },
      updatedAt: clock.now().toISOString(),
    });
    expect((await request(app).get('/api/v1/message-settings').set(merchant.auth).expect(200)).body).toEqual(put.body);

    const replaced = await request(app).put('/api/v1/message-settings').set(merchant.auth).send({ accentColor: '#000000' }).expect(200);
    expect(replaced.body).toMatchObject({
      fromName: null,
      fromAddress: null,
      accentColor: '#000000',
      locale: 'en-US',
      messages: expect.objectContaining({ 'box.delivered': true }),
    });
    expect(replaced.body.days.upcomingBoxDaysBeforeCutoff).toBe(2);
  });

  test.each([
    [{ fromName: 'Evil\r\nBcc: everyone@example.com' }, 'body.fromName'],
    [{ fromAddress: 'not an address' }, 'body.fromAddress'],
    [{ accentColor: 'red' }, 'body.accentColor'],
    [{ locale: 'xx-not-a-locale-at-all!' }, 'body.locale'],
    [{ messages: { 'subscription.confirmation': false } }, 'body.messages'],
    [{ messages: { 'box.delivered': 'no' } }, 'body.messages.box.delivered'],
    [{ days: { upcomingBoxDaysBeforeCutoff: 0 } }, 'body.days.upcomingBoxDaysBeforeCutoff'],
    [{ days: { winBackDaysAfterCancelling: 10_000 } }, 'body.days.winBackDaysAfterCancelling'],
    [{ sendEverything: true }, 'body'],
  ])('when the settings are %j, then it answers 400 naming %s, and nothing changes', async (body, field) => {
    const { app, merchant } = await setUp();
    const res = await request(app).put('/api/v1/message-settings').set(merchant.auth).send(body).expect(400);
    expect(res.body.errors.map((error: { field: string }) => error.field)).toContainEqual(expect.stringContaining(field));
    expect((await request(app).get('/api/v1/message-settings').set(merchant.auth).expect(200)).body.updatedAt).toBeNull();
  });

  test('when the messages are listed, then each says its category, whether it may be turned off, and whether it is on with the settings', async () => {
    const { app, merchant } = await setUp();
    await request(app)
      .put('/api/v1/message-settings')
      .set(merchant.auth)
      .send({ messages: { 'box.shipped': false }, days: { delayToleranceDays: 7 } })
      .expect(200);
    const list = (await request(app).get('/api/v1/message-templates').set(merchant.auth).expect(200)).body.data as Array<Record<string, unknown>>;
    expect(list.map((entry) => entry.name)).toEqual(TEMPLATES.map((template) => template.name));
    const byName = new Map(list.map((entry) => [entry.name, entry]));
    expect(byName.get('box.shipped')).toMatchObject({ category: 'transactional', audience: 'shopper', optional: true, defaultOn: true, on: false, days: null });
    expect(byName.get('box.delayed')).toMatchObject({ optional: true, on: true, days: { setting: 'delayToleranceDays', value: 7 } });
    expect(byName.get('subscription.upcoming_box')).toMatchObject({ category: 'reminder', days: { setting: 'upcomingBoxDaysBeforeCutoff', value: 2 } });
    expect(byName.get('subscription.win_back')).toMatchObject({ category: 'marketing' });
    expect(byName.get('subscription.yearly_terms')).toMatchObject({ category: 'reminder', optional: false, on: true });
    expect(byName.get('payment.failed')).toMatchObject({ category: 'transactional', optional: false, on: true });
    expect(byName.get('merchant.sign_up_confirmation')).toMatchObject({ audience: 'merchant' });
  });

  test.each(TEMPLATES.map((template) => [template.name]))(
    'when %s is previewed, then it answers its subject and both parts with the merchant’s brand, as JSON, as a sandboxed HTML page and as plain text',
    async (name) => {
      const { app, merchant } = await setUp();
      await request(app).put('/api/v1/message-settings').set(merchant.auth).send({ accentColor: '#123456' }).expect(200);
      const json = (await request(app).get(`/api/v1/message-templates/${name}/preview`).set(merchant.auth).expect(200)).body;
      expect(json).toMatchObject({ object: 'message_preview', template: name, subject: expect.any(String) });
      const template = TEMPLATES.find((t) => t.name === name)!;
      if (template.audience === 'shopper') {
        expect(json.html).toContain('O&#39;Hara &amp; &lt;Sons&gt; Coffee');
        expect(json.text).toContain(`O'Hara & <Sons> Coffee`);
        expect(json.html).toContain('#123456');
      } else {
        expect(json.html).toContain('Boxcycle');
      }
      const html = await request(app).get(`/api/v1/message-templates/${name}/preview?format=html`).set(merchant.auth).expect(200);
      expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(html.headers['content-security-policy']).toContain('sandbox');
      // each render signs its unsubscribe link afresh (a new nonce); everything else is the same
      const unsigned = (page: string) => page.replace(/token=[^\s"&]+/g, 'token=…');
      expect(unsigned(html.text)).toBe(unsigned(json.html));
      const text = await request(app).get(`/api/v1/message-templates/${name}/preview?format=text`).set(merchant.auth).expect(200);
      expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(unsigned(text.text)).toBe(unsigned(json.text));
    },
  );

  test('when an unknown message is previewed or tested, then it is 404; an unknown format is 400', async () => {
    const { app, merchant } = await setUp();
    expect((await request(app).get('/api/v1/message-templates/box.exploded/preview').set(merchant.auth).expect(404)).body.type).toBe('/problems/not_found');
    await request(app).post('/api/v1/message-templates/box.exploded/test').set(merchant.auth).expect(404);
    await request(app).get('/api/v1/message-templates/box.shipped/preview?format=pdf').set(merchant.auth).expect(400);
  });

  test("when the merchant sends themselves a test, then it is queued at once to their account's address, with sample data, each time", async () => {
    const { app, merchant } = await setUp();
    await request(app)
      .put('/api/v1/message-settings')
      .set(merchant.auth)
      .send({ messages: { 'subscription.win_back': false } })
      .expect(200);
    const sent = await request(app).post('/api/v1/message-templates/subscription.win_back/test').set(merchant.auth).expect(202);
    expect(sent.body).toEqual({ object: 'message_test', template: 'subscription.win_back', to: merchant.email, queued: true });
    await request(app).post('/api/v1/message-templates/subscription.win_back/test').set(merchant.auth).expect(202);
    const queued = await queuedMessages({ to: merchant.email });
    expect(queued).toHaveLength(2);
    expect(queued[0]).toMatchObject({
      template: 'subscription.win_back',
      category: 'transactional', // a test goes at once, whatever its category
      merchantId: merchant.id,
      subject: expect.stringMatching(/^\[Test\] We miss you/),
      timezone: 'America/New_York',
    });
    expect(queued[0]!.key).not.toBe(queued[1]!.key);
  });

  test('when an optional message is off, then sending it queues nothing; a message that cannot be turned off is sent whatever the settings', async () => {
    const { app, merchant, clock } = await setUp();
    const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    await request(app)
      .put('/api/v1/message-settings')
      .set(merchant.auth)
      .send({ messages: { 'box.delivered': false }, fromName: 'Bean Team', fromAddress: 'hello@beans.example', replyTo: 'care@beans.example' })
      .expect(200);
    const deps = { clock, links: TEST_LINKS };
    const send = (template: string, data: unknown) =>
      sendTemplate(deps, { template, merchantId: merchant.id, customerId: customer.id, key: `k:${template}`, data });
    expect(await send('box.delivered', { shipOn: '2026-04-01' })).toEqual({ queued: false, skipped: 'off' });
    expect(await send('box.back_ordered', { shipOn: '2026-04-01', short: [{ description: 'Mug', quantity: 1 }] })).toMatchObject({ queued: true });
    expect(await queuedMessages({ customerId: customer.id })).toEqual([
      expect.objectContaining({
        template: 'box.back_ordered',
        to: customer.email,
        from: { name: 'Bean Team', address: 'hello@beans.example' },
        replyTo: 'care@beans.example',
        timezone: 'America/New_York',
      }),
    ]);
  });

  test('when a reminder or marketing message goes to a shopper, then its footer has their unsubscribe link; marketing needs their consent', async () => {
    const { app, merchant, clock } = await setUp();
    const consenting = (
      await request(app)
        .post('/api/v1/customers')
        .set(merchant.auth)
        .send(buildCustomerInput({ marketingConsent: true }))
        .expect(201)
    ).body;
    const silent = (
      await request(app)
        .post('/api/v1/customers')
        .set(merchant.auth)
        .send(buildCustomerInput({ marketingConsent: false }))
        .expect(201)
    ).body;
    const deps = { clock, links: TEST_LINKS };
    const winBack = TEMPLATES.find((t) => t.name === 'subscription.win_back')!.sample({ publicUrl: TEST_LINKS.publicUrl });
    const send = (customerId: string) =>
      sendTemplate(deps, { template: 'subscription.win_back', merchantId: merchant.id, customerId, key: 'winback:x', data: winBack });
    expect(await send(silent.id)).toEqual({ queued: false, skipped: 'no_consent' });
    expect(await send(consenting.id)).toMatchObject({ queued: true });
    const [message] = await queuedMessages({ customerId: consenting.id });
    expect(message).toMatchObject({ category: 'marketing', audience: 'shopper' });
    const token = /\/m\/unsubscribe\?token=([^\s"&]+)/.exec(message!.text)?.[1];
    expect(token).toBeDefined();
    expect(message!.html).toContain(`${TEST_LINKS.publicUrl}/m/unsubscribe?token=${token}`);
    const link = await readUnsubscribeLink({ clock, appSecret: TEST_LINKS.appSecret }, decodeURIComponent(token!));
    expect(link).toMatchObject({ ok: true, target: { merchantId: merchant.id, customerId: consenting.id, category: 'marketing' } });
  });
});
