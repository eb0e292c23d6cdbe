import request from 'supertest';
import { CustomerModel } from '../../../src/customers/customer.model';
import { createStripeGateway, type StripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { testStripe, useTestDatabase } from '../../helpers/test-env';

describe('customers', () => {
  useTestDatabase();

  test('when a customer is created, then the Stripe customer is created with a keyed write and recorded', async () => {
    const { app, stripeCalls, clock } = buildTestApp();
    const merchant = await createMerchant();
    const res = await request(app)
      .post('/api/v1/customers')
      .set(merchant.auth)
      .send(buildCustomerInput({ email: 'Ana@Example.com', birthday: '04-17', marketingConsent: true, phone: '+15551234567' }))
      .expect(201);
    expect(res.body).toMatchObject({
      object: 'customer',
      email: 'ana@example.com',
      birthday: '04-17',
      phone: '+15551234567',
      marketingConsent: { granted: true, changedAt: clock.now().toISOString() },
      stripeCustomerId: expect.stringMatching(/^cus_/),
    });
    expect(stripeCalls).toEqual([{ method: 'POST', path: '/v1/customers', idempotencyKey: `customer:${res.body.id}:create` }]);
  });

  test.each([
    ['a bad country', { shippingAddress: { line1: 'x', city: 'y', postalCode: '1', country: 'XX' } }, 'body.shippingAddress.country'],
    ['an impossible birthday', { birthday: '02-30' }, 'body.birthday'],
    ['an unknown address field', { shippingAddress: { line1: 'x', city: 'y', postalCode: '1', country: 'US', zip: '1' } }, 'body.shippingAddress.zip'],
    ['a bad e-mail', { email: 'not-an-email' }, 'body.email'],
  ])('when a customer has %s, then it answers 400 naming the field', async (_what, change, field) => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const res = await request(app)
      .post('/api/v1/customers')
      .set(merchant.auth)
      .send({ ...buildCustomerInput(), ...change })
      .expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  test('when the e-mail is taken within the merchant, then it is 409; another merchant may use it', async () => {
    const { app } = buildTestApp();
    const [a, b] = await Promise.all([createMerchant(), createMerchant()]);
    const input = buildCustomerInput();
    await request(app).post('/api/v1/customers').set(a.auth).send(input).expect(201);
    const dup = await request(app).post('/api/v1/customers').set(a.auth).send(input).expect(409);
    expect(dup.body.type).toBe('/problems/customer_email_taken');
    await request(app).post('/api/v1/customers').set(b.auth).send(input).expect(201);
  });

  test('when a customer changes, then Stripe is updated once per revision and consent time moves only on a change', async () => {
    const { app, stripeCalls, clock } = buildTestApp();
    const merchant = await createMerchant();
    const created = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    stripeCalls.length = 0;
    clock.advance(60_000);
    const updated = await request(app)
      .patch(`/api/v1/customers/${created.id}`)
      .set(merchant.auth)
      .send({ name: 'Ana B. Shopper', marketingConsent: false })
      .expect(200);
    expect(updated.body.name).toBe('Ana B. Shopper');
    expect(updated.body.marketingConsent.changedAt).toBe(created.marketingConsent.changedAt);
    expect(stripeCalls).toEqual([{ method: 'POST', path: `/v1/customers/${created.stripeCustomerId}`, idempotencyKey: `customer:${created.id}:update:r1` }]);
    const found = await request(app)
      .get(`/api/v1/customers?email=${encodeURIComponent(created.email)}`)
      .set(merchant.auth)
      .expect(200);
    expect(found.body.data.map((c: { id: string }) => c.id)).toEqual([created.id]);
  });

  test('when Stripe is down, then the customer is still created and gets its Stripe customer on the next change', async () => {
    const working = createStripeGateway(testStripe());
    const down: StripeGateway = { ...working, createCustomer: () => Promise.reject(new Error('Stripe is down')) };
    const merchant = await createMerchant();
    const offline = buildTestApp({ stripeGateway: down });
    const created = (await request(offline.app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    expect(created.stripeCustomerId).toBeNull();
    const online = buildTestApp();
    const updated = await request(online.app).patch(`/api/v1/customers/${created.id}`).set(merchant.auth).send({ name: 'Back online' }).expect(200);
    expect(updated.body.stripeCustomerId).toMatch(/^cus_/);
    expect(online.stripeCalls.map((c) => c.idempotencyKey)).toEqual([`customer:${created.id}:create`]);
    expect((await CustomerModel.findById(created.id).lean())?.stripeSyncedRevision).toBe(1);
  });

  test('when a customer says their language and time zone, then they are kept in canonical form, refused when unknown, and cleared with null', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const created = await request(app)
      .post('/api/v1/customers')
      .set(merchant.auth)
      .send(buildCustomerInput({ locale: 'de-de', timezone: 'Europe/Berlin' }))
      .expect(201);
    expect(created.body).toMatchObject({ locale: 'de-DE', timezone: 'Europe/Berlin', card: null });
    for (const [body, field] of [
      [{ locale: 'not a language!' }, 'body.locale'],
      [{ locale: 'x'.repeat(40) }, 'body.locale'],
      [{ timezone: 'Mars/Olympus_Mons' }, 'body.timezone'],
    ] as const) {
      const refused = await request(app).patch(`/api/v1/customers/${created.body.id}`).set(merchant.auth).send(body).expect(400);
      expect([...new Set(refused.body.errors.map((error: { field: string }) => error.field))]).toEqual([field]);
    }
    const changed = await request(app).patch(`/api/v1/customers/${created.body.id}`).set(merchant.auth).send({ locale: 'ja-JP', timezone: null }).expect(200);
    expect(changed.body).toMatchObject({ locale: 'ja-JP', timezone: null });
  });

  test('when the shipping address changes, then the shopper records customer.address_changed once, with the old and the new; the same address again records nothing', async () => {
    const { app } = buildTestApp();
    const merchant = await createMerchant();
    const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
    const before = customer.shippingAddress;
    const after = { line1: '2 High St', line2: '', city: 'Springfield', postalCode: '62702', country: 'US' };
    await request(app).patch(`/api/v1/customers/${customer.id}`).set(merchant.auth).send({ shippingAddress: after, name: 'Ana New' }).expect(200);
    await request(app)
      .patch(`/api/v1/customers/${customer.id}`)
      .set(merchant.auth)
      .send({ shippingAddress: { ...after, line2: undefined } })
      .expect(200);
    await request(app).patch(`/api/v1/customers/${customer.id}`).set(merchant.auth).send({ name: 'Ana Newer' }).expect(200);
    const timeline = (await request(app).get(`/api/v1/customers/${customer.id}/events`).set(merchant.auth).expect(200)).body.data;
    expect(timeline).toEqual([
      expect.objectContaining({
        type: 'customer.address_changed',
        subject: { type: 'customer', id: customer.id },
        actor: expect.objectContaining({ kind: 'merchant' }),
        data: { from: before, to: { line1: '2 High St', city: 'Springfield', postalCode: '62702', country: 'US' } },
      }),
    ]);
  });
});
