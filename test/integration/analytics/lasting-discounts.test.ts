import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { factsAbout, followFacts } from '../../helpers/facts';
import { buildTestApp } from '../../helpers/test-app';
import { testStripe, useTestDatabase } from '../../helpers/test-env';

describe('analytics: MRR is net of discounts that last', () => {
  useTestDatabase();

  test('when promo codes apply, then a forever code lowers MRR (at sign-up or later, as a contraction) and a one-box code does not', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const follow = () => followFacts(clock, createStripeGateway(testStripe()));
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const code = (body: Record<string, unknown>) => request(app).post('/api/v1/promo-codes').set(merchant.auth).send(body).expect(201);
    await code({ code: 'FOREVER15', description: '15% off every box', percentOff: 15, duration: 'forever' });
    await code({ code: 'FIVEOFF', description: '5.00 off every box', amountOffMinor: 500, duration: 'forever' });
    await code({ code: 'HALFONCE', description: 'Half off one box', percentOff: 50, duration: 'once' });
    const subscribe = async (extra: Record<string, unknown> = {}) => {
      const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
      const res = await request(app)
        .post('/api/v1/subscriptions')
        .set(merchant.auth)
        .send({ customerId: customer.id, planId: plan.id, variantId: plan.variants[0].id, cadence: 'month-1', paymentMethodId: 'pm_card_visa', ...extra })
        .expect(201);
      return res.body.id as string;
    };

    const a = await subscribe({ promoCode: 'FOREVER15' }); // 2600 − 15% (390) = 2210 new
    const b = await subscribe(); // 2600 new
    const c = await subscribe(); // 2600 new
    await follow();
    clock.set('2026-03-05T15:30:00Z');
    await request(app).post(`/api/v1/subscriptions/${b}/promo-code`).set(merchant.auth).send({ code: 'FIVEOFF' }).expect(200); // 2600 → 2100: −500
    await request(app).post(`/api/v1/subscriptions/${c}/promo-code`).set(merchant.auth).send({ code: 'HALFONCE' }).expect(200); // one box: no change
    await follow();

    expect((await factsAbout({ subjectId: a }))[0]!.data).toMatchObject({ promoCode: { duration: 'forever', percentOff: 15 } });
    const res = await request(app).get('/api/v1/metrics/mrr?from=2026-03&to=2026-03').set(merchant.auth).expect(200);
    // new 2210 + 2600 + 2600 = 7410; contraction 500; MRR 6910.
    expect(res.body.currencies).toEqual([
      {
        currency: 'USD',
        mrrMinor: 6910,
        months: [expect.objectContaining({ month: '2026-03', startMrrMinor: 0, newMinor: 7410, contractionMinor: 500, expansionMinor: 0, endMrrMinor: 6910 })],
      },
    ]);
  });
});
