import request from 'supertest';
import { MerchantSignUpModel } from '../../../src/merchants/merchant-sign-up.model';
import { MerchantModel } from '../../../src/merchants/merchant.model';
import { FakeClock } from '../../../src/shared/time';
import { buildSignUp, createMerchant } from '../../factories/merchant.factory';
import { queuedMessages } from '../../helpers/messages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('merchant accounts and API keys', () => {
  useTestDatabase();

  /** The confirmation token the sign-up message to this address carries (mail goes to the outbox for now). */
  async function tokenSentTo(email: string): Promise<string> {
    const messages = await queuedMessages({ to: email.toLowerCase(), template: 'merchant.sign_up_confirmation' });
    const token = /bxc_[A-Za-z0-9]{32}/.exec(messages.at(-1)?.text ?? '')?.[0];
    if (!token) throw new Error(`no confirmation was sent to ${email}`);
    return token;
  }

  test('when a new address signs up, then it answers 202 and the address gets a token that opens the store and shows its secret key once', async () => {
    const { app } = buildTestApp({ clock: new FakeClock('2026-04-01T09:00:00Z') });
    const input = buildSignUp({ email: 'Owner@Example.COM', timezone: 'Europe/Berlin', defaultCurrency: 'EUR' });
    const accepted = await request(app).post('/api/v1/merchants').send(input).expect(202);
    expect(accepted.body).toEqual({ object: 'merchant_sign_up', email: 'owner@example.com', detail: expect.stringContaining('within 24 hours') });
    expect(await MerchantModel.countDocuments({ email: 'owner@example.com' })).toBe(0);

    const [message] = await queuedMessages({ to: 'owner@example.com' });
    expect(message).toMatchObject({
      audience: 'merchant',
      template: 'merchant.sign_up_confirmation',
      category: 'transactional',
      subject: expect.stringContaining('Confirm'),
    });
    expect(message).not.toHaveProperty('merchantId'); // no store yet
    expect(message!.text).toContain('/api/v1/merchants/confirmations');
    expect(message!.html).toContain('/api/v1/merchants/confirmations');
    expect(`${message!.text}${message!.html}`).not.toContain(input.password);
    const signUp = await MerchantSignUpModel.findOne({ email: 'owner@example.com' }).lean();
    expect(signUp!.passwordHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(signUp)).not.toContain(await tokenSentTo('owner@example.com')); // only its hash is kept

    const res = await request(app)
      .post('/api/v1/merchants/confirmations')
      .send({ token: await tokenSentTo('owner@example.com') })
      .expect(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.merchant).toMatchObject({
      object: 'merchant',
      name: input.name,
      email: 'owner@example.com',
      defaultCurrency: 'EUR',
      timezone: 'Europe/Berlin',
    });
    expect(res.body.merchant).not.toHaveProperty('passwordHash');
    expect(res.body.apiKey).toMatchObject({ object: 'api_key', kind: 'secret', revokedAt: null });
    expect(res.body.apiKey.secret).toMatch(/^bxk_[A-Za-z0-9]{32}$/);
    expect(res.body.apiKey.prefix).toBe(res.body.apiKey.secret.slice(0, 12));
    expect(await MerchantSignUpModel.findById(signUp!._id).lean()).not.toHaveProperty('passwordHash');

    const me = await request(app).get('/api/v1/merchants/me').set('Authorization', `Bearer ${res.body.apiKey.secret}`).expect(200);
    expect(me.body).toEqual(res.body.merchant);
    const keys = await request(app).get('/api/v1/api-keys').set('Authorization', `Bearer ${res.body.apiKey.secret}`).expect(200);
    expect(keys.body.data).toHaveLength(1);
    expect(keys.body.data[0]).not.toHaveProperty('secret');
    expect(JSON.stringify(keys.body)).not.toContain(res.body.apiKey.secret);
    // The confirmation to the merchant's address is the installation's mail, not one of the store's messages.
    const listed = await request(app).get('/api/v1/messages').set('Authorization', `Bearer ${res.body.apiKey.secret}`).expect(200);
    expect(listed.body.data).toEqual([]);
    await request(app).post('/api/v1/merchants/login').send({ email: input.email, password: input.password }).expect(201);
  });

  test('when a confirmation token is used twice, or after 24 hours, then it answers 400 naming the token and opens nothing', async () => {
    const { app, clock } = buildTestApp({ clock: new FakeClock('2026-04-02T09:00:00Z') });
    const [first, late] = [buildSignUp(), buildSignUp()];
    await request(app).post('/api/v1/merchants').send(first).expect(202);
    await request(app).post('/api/v1/merchants').send(late).expect(202);
    const token = await tokenSentTo(first.email);
    await request(app).post('/api/v1/merchants/confirmations').send({ token }).expect(201);
    const again = await request(app).post('/api/v1/merchants/confirmations').send({ token }).expect(400);
    expect(again.body.errors).toEqual([{ field: 'body.token', message: expect.stringContaining('already used') }]);

    clock.advance(24 * 3_600_000);
    const expired = await request(app)
      .post('/api/v1/merchants/confirmations')
      .send({ token: await tokenSentTo(late.email) })
      .expect(400);
    expect(expired.body.errors[0].field).toBe('body.token');
    expect(await MerchantModel.countDocuments({ email: late.email })).toBe(0);
    const unknown = await request(app)
      .post('/api/v1/merchants/confirmations')
      .send({ token: `bxc_${'a'.repeat(32)}` })
      .expect(400);
    expect(unknown.body.detail).toBe(expired.body.detail);
  });

  test('when an address is signed up twice and both are confirmed, then the first opens the store and the second is told the address is taken', async () => {
    const { app, clock } = buildTestApp({ clock: new FakeClock('2026-04-03T09:00:00Z') });
    const input = buildSignUp();
    await request(app).post('/api/v1/merchants').send(input).expect(202);
    const firstToken = await tokenSentTo(input.email);
    clock.advance(60_000);
    await request(app)
      .post('/api/v1/merchants')
      .send({ ...input, name: 'Second try' })
      .expect(202);
    const secondToken = await tokenSentTo(input.email);
    expect(secondToken).not.toBe(firstToken);
    await request(app).post('/api/v1/merchants/confirmations').send({ token: firstToken }).expect(201);
    const res = await request(app).post('/api/v1/merchants/confirmations').send({ token: secondToken }).expect(409);
    expect(res.body.type).toBe('/problems/email_taken');
    expect(await MerchantModel.find({ email: input.email }, { name: 1, _id: 0 }).lean()).toEqual([{ name: input.name }]);
  });

  test('when the address already has a store, then sign-up answers exactly as for a new one, changes nothing, and tells the owner', async () => {
    const { app } = buildTestApp({ clock: new FakeClock('2026-04-04T09:00:00Z') });
    const existing = await createMerchant();
    const fresh = buildSignUp();
    const taken = await request(app)
      .post('/api/v1/merchants')
      .send(buildSignUp({ email: existing.email.toUpperCase(), password: 'another fine passphrase' }))
      .expect(202);
    const untaken = await request(app).post('/api/v1/merchants').send(fresh).expect(202);
    expect(Object.keys(taken.headers).sort()).toEqual(Object.keys(untaken.headers).sort());
    expect(taken.body).toEqual({ ...untaken.body, email: existing.email, detail: untaken.body.detail.replace(fresh.email, existing.email) });

    expect(await MerchantModel.countDocuments({ email: existing.email })).toBe(1);
    expect(await MerchantSignUpModel.countDocuments({ email: existing.email })).toBe(0);
    await request(app).post('/api/v1/merchants/login').send({ email: existing.email, password: existing.password }).expect(201);
    const told = await queuedMessages({ to: existing.email });
    expect(told).toEqual([
      expect.objectContaining({
        audience: 'merchant',
        merchantId: existing.id,
        template: 'merchant.sign_up_attempted',
        text: expect.stringContaining('sign in with this address and your password'),
      }),
    ]);
    expect(told[0]!.text).not.toMatch(/bxc_/);

    // Trying again the same day queues no second message: no one can flood the owner's inbox.
    await request(app)
      .post('/api/v1/merchants')
      .send(buildSignUp({ email: existing.email }))
      .expect(202);
    expect(await queuedMessages({ to: existing.email })).toHaveLength(1);
  });

  test.each([
    ['a common password', { password: 'password1234' }, 'attackers try first'],
    ['a common password in disguise', { password: 'P@ssw0rd2024!' }, 'attackers try first'],
    ['a repetition', { password: 'aaaaaaaaaaaa' }, 'repeats'],
    ['a sequence', { password: '123456789012' }, 'sequence'],
    ['the e-mail address', { email: 'ana.keller@example.com', password: 'ana.keller@example.com' }, 'e-mail address'],
    ["the e-mail's local part", { email: 'ana.keller@example.com', password: 'AnaKeller-2026' }, 'e-mail address'],
    ["the store's name", { name: 'Nordic Beans', password: 'nordic beans forever' }, "store's name"],
  ])('when sign-up has %s as password, then it answers 400 saying why and sends nothing', async (_what, change, reason) => {
    const { app } = buildTestApp();
    const input = buildSignUp(change);
    const res = await request(app).post('/api/v1/merchants').send(input).expect(400);
    expect(res.body.errors).toEqual([{ field: 'body.password', message: expect.stringContaining(reason) }]);
    expect(await MerchantSignUpModel.countDocuments({ email: input.email })).toBe(0);
    expect(await queuedMessages({ to: input.email })).toEqual([]);
  });

  test.each([
    ['an unknown field', { role: 'admin' }, 'body.role'],
    ['a bad currency', { defaultCurrency: 'usd' }, 'body.defaultCurrency'],
    ['a bad time zone', { timezone: 'Mars/Olympus' }, 'body.timezone'],
    ['a short password', { password: 'short' }, 'body.password'],
    ['a wrong type', { name: 42 }, 'body.name'],
  ])('when sign-up has %s, then it answers 400 naming the field and stores nothing', async (_what, change, field) => {
    const { app } = buildTestApp();
    const res = await request(app)
      .post('/api/v1/merchants')
      .send({ ...buildSignUp(), ...change })
      .expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe('/problems/invalid_request');
    expect(res.body.errors.map((error: { field: string }) => error.field)).toContain(field);
  });

  test('when a merchant logs in, then a session key is issued that expires after 12 hours', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant();
    const res = await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: merchant.password }).expect(201);
    expect(res.body.apiKey).toMatchObject({ kind: 'session', expiresAt: new Date(clock.now().getTime() + 12 * 3_600_000).toISOString() });
    const session = { Authorization: `Bearer ${res.body.apiKey.secret}` };
    await request(app).get('/api/v1/merchants/me').set(session).expect(200);
    clock.advance(12 * 3_600_000);
    await request(app).get('/api/v1/merchants/me').set(session).expect(401);
  });

  test('when the password or e-mail is wrong, then log-in answers 401 without saying which', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const wrongPassword = await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: 'wrong password!' }).expect(401);
    const unknownEmail = await request(app).post('/api/v1/merchants/login').send({ email: 'nobody@example.com', password: 'wrong password!' }).expect(401);
    expect(wrongPassword.body.detail).toBe(unknownEmail.body.detail);
  });

  test('when log-in is tried too often for one e-mail, then it answers 429 with Retry-After until the window ends', async () => {
    const { app, clock } = buildTestApp();
    const merchant = await createMerchant();
    for (let i = 0; i < 10; i += 1) {
      await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: 'wrong password!' }).expect(401);
    }
    const limited = await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: merchant.password }).expect(429);
    expect(limited.body.type).toBe('/problems/rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    clock.advance(15 * 60_000);
    await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: merchant.password }).expect(201);
  });

  test('when one IP tries passwords across many e-mails, then its budget of 30 per 15 minutes runs out whatever the e-mail', async () => {
    const { app, clock } = buildTestApp({ clock: new FakeClock('2026-05-01T09:00:00Z') });
    const merchant = await createMerchant();
    for (let i = 0; i < 30; i += 1) {
      await request(app)
        .post('/api/v1/merchants/login')
        .send({ email: `victim-${i}@example.com`, password: 'Summer2026!!' })
        .expect(401);
    }
    const limited = await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: merchant.password }).expect(429);
    expect(limited.body.type).toBe('/problems/rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    clock.advance(15 * 60_000);
    await request(app).post('/api/v1/merchants/login').send({ email: merchant.email, password: merchant.password }).expect(201);
  });

  test('when a key is revoked, then it stops working at once and revoking again changes nothing', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const created = await request(app).post('/api/v1/api-keys').set(merchant.auth).send({ name: 'Warehouse' }).expect(201);
    const second = { Authorization: `Bearer ${created.body.secret}` };
    await request(app).get('/api/v1/merchants/me').set(second).expect(200);
    const revoked = await request(app).post(`/api/v1/api-keys/${created.body.id}/revoke`).set(merchant.auth).expect(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    await request(app).get('/api/v1/merchants/me').set(second).expect(401);
    const again = await request(app).post(`/api/v1/api-keys/${created.body.id}/revoke`).set(merchant.auth).expect(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
  });

  test("when a merchant touches another merchant's key, then it is 404 and the key still works", async () => {
    const { app } = buildTestApp();
    const [owner, other] = await Promise.all([createMerchant(), createMerchant()]);
    const keys = await request(app).get('/api/v1/api-keys').set(owner.auth).expect(200);
    const res = await request(app).post(`/api/v1/api-keys/${keys.body.data[0].id}/revoke`).set(other.auth).expect(404);
    expect(res.body.type).toBe('/problems/not_found');
    await request(app).get('/api/v1/merchants/me').set(owner.auth).expect(200);
  });

  test.each([
    ['no header', undefined],
    ['a malformed header', 'Token abc'],
    ['an unknown key', 'Bearer bxk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
  ])('when a merchant route is called with %s, then it answers 401', async (_what, header) => {
    const { app } = buildTestApp();
    const call = request(app).get('/api/v1/merchants/me');
    const res = await (header ? call.set('Authorization', header) : call).expect(401);
    expect(res.body.type).toBe('/problems/unauthorized');
  });
});
