import type { Express } from 'express';
import request from 'supertest';
import { recordPaidInvoice } from '../../../src/orders/order.service';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildPaidInvoice } from '../../factories/invoice.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

describe('order fulfilment', () => {
  useTestDatabase();

  async function paidOrder(app: Express, merchant: TestMerchant, clock: FakeClock): Promise<string> {
    const { subscription } = await subscribeShopper(app, merchant);
    await recordPaidInvoice(
      { clock, stripe: createStripeGateway(testStripe()), logger: silentLogger },
      buildPaidInvoice(subscription.stripeSubscriptionId as string, clock.now(), 2600),
    );
    return (await request(app).get(`/api/v1/orders?subscriptionId=${subscription.id}`).set(merchant.auth).expect(200)).body.data[0].id;
  }

  test('when an order is packed, shipped with tracking and delivered, then each step is recorded with its time and steps back are refused', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const id = await paidOrder(app, merchant, clock);

    await request(app).post(`/api/v1/orders/${id}/deliver`).set(merchant.auth).send({}).expect(409);
    clock.advance(3_600_000);
    await request(app).post(`/api/v1/orders/${id}/pack`).set(merchant.auth).send({}).expect(200);
    clock.advance(3_600_000);
    const bad = await request(app)
      .post(`/api/v1/orders/${id}/ship`)
      .set(merchant.auth)
      .send({ carrier: 'UPS', trackingNumber: '1Z999', trackingUrl: 'javascript:alert(1)' })
      .expect(400);
    expect(bad.body.errors[0].field).toBe('body.trackingUrl');
    const shipped = await request(app)
      .post(`/api/v1/orders/${id}/ship`)
      .set(merchant.auth)
      .send({ carrier: 'UPS', trackingNumber: '1Z999', trackingUrl: 'https://ups.example/1Z999' })
      .expect(200);
    expect(shipped.body.shipment).toEqual({
      carrier: 'UPS',
      trackingNumber: '1Z999',
      trackingUrl: 'https://ups.example/1Z999',
      shippedAt: '2026-03-02T17:30:00.000Z',
    });
    const cancel = await request(app).post(`/api/v1/orders/${id}/cancel`).set(merchant.auth).send({ reason: 'changed mind' }).expect(409);
    expect(cancel.body.detail).toBe('A shipped order cannot be marked cancelled.');
    clock.advance(86_400_000);
    const delivered = await request(app).post(`/api/v1/orders/${id}/deliver`).set(merchant.auth).send({}).expect(200);
    expect(delivered.body.history).toEqual([
      { status: 'paid', at: '2026-03-02T15:30:00.000Z' },
      { status: 'packed', at: '2026-03-02T16:30:00.000Z' },
      { status: 'shipped', at: '2026-03-02T17:30:00.000Z' },
      { status: 'delivered', at: '2026-03-03T17:30:00.000Z' },
    ]);
    expect((await request(app).get('/api/v1/orders?status=delivered').set(merchant.auth).expect(200)).body.data.map((o: { id: string }) => o.id)).toEqual([id]);
  });

  test('when two requests race to cancel and ship an order, then exactly one wins', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const id = await paidOrder(app, merchant, clock);
    const [ship, cancel] = await Promise.all([
      request(app).post(`/api/v1/orders/${id}/ship`).set(merchant.auth).send({ carrier: 'DHL', trackingNumber: 'JD01' }),
      request(app).post(`/api/v1/orders/${id}/cancel`).set(merchant.auth).send({ reason: 'fraud' }),
    ]);
    expect([ship.status, cancel.status].sort()).toEqual([200, 409]);
    const order = (await request(app).get(`/api/v1/orders/${id}`).set(merchant.auth).expect(200)).body;
    expect(order.history).toHaveLength(2);
  });
});
