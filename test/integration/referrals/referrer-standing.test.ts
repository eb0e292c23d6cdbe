import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { ReferralCodeModel } from '../../../src/referrals/referral.model';
import { attributeReferral, referrerStandingOf, rewardReferrerForPaidBox } from '../../../src/referrals/referral.service';
import { newId } from '../../../src/shared/ids';
import { FakeClock } from '../../../src/shared/time';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/** A referrer's own view of the programme: their code, the terms, and how their friends' referrals stand. */
let street = 500;
async function setUp(program: object | null) {
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant({}, clock);
  if (program) await request(app).put('/api/v1/referral-program').set(merchant.auth).send(program).expect(200);
  const customer = async (name: string) => {
    street += 1;
    return (
      await request(app)
        .post('/api/v1/customers')
        .set(merchant.auth)
        .send(
          buildCustomerInput({
            name,
            email: `${name.toLowerCase()}-${randomBytes(3).toString('hex')}@example.org`,
            shippingAddress: { line1: `${street} Elm Street`, city: 'Springfield', postalCode: '62704', country: 'US' },
          }),
        )
        .expect(201)
    ).body as { id: string };
  };
  return { clock, app, merchant, customer };
}

describe("a referrer's standing", () => {
  useTestDatabase();

  test('when friends subscribe with the code, then the standing counts those waiting, rewarded and declined, and what the rewards earned', async () => {
    const { clock, app, merchant, customer } = await setUp({
      enabled: true,
      welcomeOffer: { type: 'percent', percentOff: 20 },
      referrerReward: { type: 'points', points: 500 },
    });
    const ana = await customer('Ana');
    const first = (await referrerStandingOf(clock, merchant.id, ana.id))!;
    expect(first).toEqual({
      code: expect.stringMatching(/^[A-Z2-9]{8}$/),
      welcomeOffer: { type: 'percent', percentOff: 20 },
      reward: { type: 'points', points: 500, currency: 'USD' },
      referrals: { total: 0, waiting: 0, rewarded: 0, declined: 0 },
      earned: { points: 0, creditMinor: 0, currency: 'USD' },
    });

    const friends = [await customer('Bo'), await customer('Cy'), await customer('Di')];
    const subscriptions = friends.map(() => newId('sub'));
    for (const [i, friend] of friends.entries()) {
      await attributeReferral({ clock }, { merchantId: merchant.id, code: first.code, friendCustomerId: friend.id, friendSubscriptionId: subscriptions[i]! });
    }
    // Bo's first box is paid: Ana is rewarded. Cy's referral is rejected by the store. Di's waits.
    await BoxOrderModel.create({
      _id: newId('ord'),
      merchantId: merchant.id,
      subscriptionId: subscriptions[0],
      customerId: friends[0]!.id,
      planId: 'plan_x',
      cycleKey: '2026-03-02',
      shipOn: '2026-03-02',
      status: 'paid',
      lines: [],
      omittedLines: [],
      amountDueMinor: 2600,
      amountPaidMinor: 2600,
      currency: 'USD',
      shippingAddress: { line1: '9 Pine Road', city: 'Springfield', postalCode: '62704', country: 'US' },
      amountRefundedMinor: 0,
      creditNotes: [],
      history: [{ status: 'paid', at: clock.now() }],
      createdAt: clock.now(),
    });
    await rewardReferrerForPaidBox({ clock, logger: silentLogger }, { merchantId: merchant.id, friendSubscriptionId: subscriptions[0]! });
    const cyReferral = (await request(app).get('/api/v1/referrals').set(merchant.auth).expect(200)).body.data.find(
      (r: { friendCustomerId: string }) => r.friendCustomerId === friends[1]!.id,
    );
    await request(app).post(`/api/v1/referrals/${cyReferral.id}/reject`).set(merchant.auth).send({}).expect(200);

    const standing = (await referrerStandingOf(clock, merchant.id, ana.id))!;
    expect(standing.code).toBe(first.code);
    expect(standing.referrals).toEqual({ total: 3, waiting: 1, rewarded: 1, declined: 1 });
    expect(standing.earned).toEqual({ points: 500, creditMinor: 0, currency: 'USD' });
    // Another shopper's standing counts none of Ana's.
    expect((await referrerStandingOf(clock, merchant.id, friends[2]!.id))!.referrals.total).toBe(0);
  });

  test('when the store runs no referral programme, then there is no standing (and no code is made)', async () => {
    const { clock, merchant, customer } = await setUp(null);
    const ana = await customer('Ana');
    expect(await referrerStandingOf(clock, merchant.id, ana.id)).toBeUndefined();
    expect(await ReferralCodeModel.countDocuments({ merchantId: merchant.id })).toBe(0);
  });
});
