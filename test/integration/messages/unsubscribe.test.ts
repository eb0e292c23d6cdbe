import request from 'supertest';
import { createCustomer } from '../../../src/customers/customer.service';
import type { OutgoingMessage } from '../../../src/messages/message-contract';
import { MessageModel } from '../../../src/messages/message.model';
import { messagePreferencesOf } from '../../../src/messages/message-preference.service';
import { queueMessage } from '../../../src/messages/message.service';
import { actionLinkSecret, unsubscribeUrl, UNSUBSCRIBE_LINK_DAYS, type UnsubscribeTarget } from '../../../src/messages/unsubscribe.service';
import { signActionToken } from '../../../src/shared/action-tokens';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { buildOutgoingMessage } from '../../factories/message.factory';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

const DAY = 86_400_000;

describe('unsubscribing from a link (RFC 8058 one-click, or the page)', () => {
  useTestDatabase();
  const { app, clock } = buildTestApp();
  let merchantId: string;
  let customerId: string;
  let email: string;

  beforeAll(async () => {
    merchantId = (await createMerchant({ name: 'O\'Neil & <Sons> "Roasters"' })).id;
    const customer = await createCustomer(
      { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger },
      merchantId,
      buildCustomerInput({ marketingConsent: true }),
    );
    customerId = customer.id;
    email = customer.email;
  });

  const secret = () => actionLinkSecret({ clock, appSecret: undefined });
  const linkFor = async (target: Partial<UnsubscribeTarget> = {}): Promise<string> => {
    const url = unsubscribeUrl(
      'http://localhost:3000',
      { merchantId, customerId, category: 'reminder', ...target },
      { secret: await secret(), now: clock.now() },
    );
    return url.replace('http://localhost:3000', '');
  };
  const reminder = (key: string): OutgoingMessage =>
    buildOutgoingMessage({ merchantId, customerId, to: email, key, category: 'reminder', template: 'box.upcoming' });
  const fresh = async (): Promise<void> => {
    // Each test starts subscribed: the page's undo is the same as a new start.
    await request(app)
      .post((await linkFor()).replace('/m/unsubscribe', '/m/resubscribe'))
      .type('form')
      .send('');
    await request(app)
      .post((await linkFor({ category: 'marketing' })).replace('/m/unsubscribe', '/m/resubscribe'))
      .type('form')
      .send('');
  };
  beforeEach(fresh);

  test('when the mail client posts List-Unsubscribe=One-Click, then reminders are turned off with a 200 and no redirect, and the next reminder is suppressed', async () => {
    const res = await request(app)
      .post(await linkFor())
      .type('form')
      .send('List-Unsubscribe=One-Click')
      .expect(200);
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await messagePreferencesOf(merchantId, customerId)).toEqual({ reminder: false, marketing: true });

    const next = await queueMessage({ clock }, reminder('after-one-click'));
    expect(next.status).toBe('suppressed');
    expect(await MessageModel.findById(next.id).lean()).toMatchObject({ suppressedReason: 'unsubscribed' });
    // Marketing and receipts are not concerned.
    expect((await queueMessage({ clock }, { ...reminder('receipt'), category: 'transactional', template: 'box.paid' })).status).toBe('queued');
  });

  test('when the one-click POST comes twice, or with a body we cannot read (multipart, none), then it still answers 200 and the shopper stays unsubscribed', async () => {
    const link = await linkFor({ category: 'marketing' });
    await request(app).post(link).type('form').send('List-Unsubscribe=One-Click').expect(200);
    await request(app).post(link).type('form').send('List-Unsubscribe=One-Click').expect(200);
    await request(app).post(link).field('List-Unsubscribe', 'One-Click').expect(200);
    await request(app).post(link).expect(200);
    expect(await messagePreferencesOf(merchantId, customerId)).toEqual({ reminder: true, marketing: false });
  });

  test('when the link is opened (a GET, as mail scanners do), then a page with one button shows and nothing changes', async () => {
    const link = await linkFor();
    const res = await request(app)
      .get(link)
      .expect(200)
      .expect('content-type', /text\/html/);
    expect(res.text).toContain('Unsubscribe from reminders?');
    expect(res.text).toContain('O&#39;Neil &amp; &lt;Sons&gt; &#34;Roasters&#34;');
    expect(res.text).not.toContain('<Sons>');
    expect(res.text).toContain(`<form method="post" action="${link.replace(/&/g, '&amp;')}">`);
    expect(res.text).toContain('<button type="submit">Unsubscribe</button>');
    expect(res.text).not.toMatch(/<script/i);
    expect(await messagePreferencesOf(merchantId, customerId)).toEqual({ reminder: true, marketing: true });
  });

  test('when the page’s button is pressed, then the receipt says so and offers an undo that subscribes again', async () => {
    const link = await linkFor({ category: 'marketing' });
    const receipt = await request(app).post(link).type('form').send('List-Unsubscribe=One-Click&via=page').expect(200);
    expect(receipt.text).toContain('You are unsubscribed');
    expect(receipt.text).toContain('offers and news');
    expect(receipt.text).toContain(`action="${link.replace('/m/unsubscribe', '/m/resubscribe').replace(/&/g, '&amp;')}"`);
    expect(await messagePreferencesOf(merchantId, customerId)).toEqual({ reminder: true, marketing: false });

    const undone = await request(app).post(link.replace('/m/unsubscribe', '/m/resubscribe')).type('form').send('').expect(200);
    expect(undone.text).toContain('You are subscribed again');
    expect(await messagePreferencesOf(merchantId, customerId)).toEqual({ reminder: true, marketing: true });
  });

  describe('a link that does not work answers a readable 400 page and changes nothing', () => {
    const expectRefused = async (path: string, said: RegExp, method: 'get' | 'post' = 'post'): Promise<void> => {
      const call = method === 'get' ? request(app).get(path) : request(app).post(path).type('form').send('List-Unsubscribe=One-Click');
      const res = await call.expect(400).expect('content-type', /text\/html/);
      expect(res.text).toMatch(said);
      expect(await messagePreferencesOf(merchantId, customerId)).toEqual({ reminder: true, marketing: true });
    };

    test('when the link has expired, then the page says so', async () => {
      const link = await linkFor();
      clock.advance(UNSUBSCRIBE_LINK_DAYS * DAY);
      try {
        await expectRefused(link, /This link has expired/);
        await expectRefused(link, /This link has expired/, 'get');
      } finally {
        clock.advance(-UNSUBSCRIBE_LINK_DAYS * DAY);
      }
    });

    test.each([
      ['no token', () => Promise.resolve('/m/unsubscribe')],
      ['an empty token', () => Promise.resolve('/m/unsubscribe?token=')],
      ['a token cut short', async () => (await linkFor()).slice(0, -6)],
      ['a token with another field changed', async () => (await linkFor()).replace('token=', 'token=x')],
      ['two tokens', async () => `${await linkFor()}&token=abc`],
      ['an extra parameter', async () => `${await linkFor()}&utm_source=mail`],
      [
        'a token for another action',
        async () =>
          `/m/unsubscribe?token=${signActionToken(await secret(), { action: 'subscription.skip', merchantId, subjectId: customerId, expiresAt: new Date(clock.now().getTime() + DAY) })}`,
      ],
      [
        'a token for a category that cannot be turned off',
        async () =>
          `/m/unsubscribe?token=${signActionToken(await secret(), { action: 'messages.unsubscribe', merchantId, subjectId: customerId, data: { category: 'transactional' }, expiresAt: new Date(clock.now().getTime() + DAY) })}`,
      ],
      ['a token for a shopper who is not the store’s', async () => linkFor({ customerId: 'cust_nobody' })],
      [
        'a token signed with another secret',
        async () => unsubscribeUrl('', { merchantId, customerId, category: 'reminder' }, { secret: 'someone else', now: clock.now() }),
      ],
    ])('when it carries %s, then the page says the link does not work', async (_what, path) => {
      await expectRefused(await path(), /This link does not work/);
      await expectRefused(await path(), /This link does not work/, 'get');
    });

    test('when the form has fields it does not know, then it is refused', async () => {
      const res = await request(app)
        .post(await linkFor())
        .type('form')
        .send('List-Unsubscribe=One-Click&category=transactional')
        .expect(400);
      expect(res.text).toContain('This link does not work');
    });

    test('when the body is too large, then it is a 413, never a 5xx', async () => {
      await request(app)
        .post(await linkFor())
        .type('form')
        .send(`List-Unsubscribe=${'x'.repeat(5000)}`)
        .expect(413);
      expect(await messagePreferencesOf(merchantId, customerId)).toEqual({ reminder: true, marketing: true });
    });
  });
});
