import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { CustomerModel } from '../../../src/customers/customer.model';
import { postLedgerEntry } from '../../../src/loyalty/loyalty-ledger.service';
import { LoyaltyEntryModel } from '../../../src/loyalty/loyalty.model';
import { BoxOrderModel, type OrderStatus } from '../../../src/orders/box-order.model';
import { ReferralCodeModel, ReferralModel } from '../../../src/referrals/referral.model';
import { attributeReferral, referralCodeFor, rewardReferrerForPaidBox } from '../../../src/referrals/referral.service';
import { ReferralRefusedError } from '../../../src/shared/errors';
import { newId } from '../../../src/shared/ids';
import { toProblem } from '../../../src/shared/problem';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { factsAbout, followFacts } from '../../helpers/facts';
import { queuedMessages } from '../../helpers/messages';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

const POINTS_PROGRAM = { enabled: true, welcomeOffer: { type: 'percent', percentOff: 20 }, referrerReward: { type: 'points', points: 500 } };
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

let street = 100;
/** A shipping address no other shopper of the test has (every address differs by its number). */
function ownAddress() {
  street += 1;
  return { line1: `${street} Oak Avenue`, city: 'Springfield', postalCode: '62704', country: 'US' };
}

/** A merchant with a running programme, a referrer and their code; helpers to make friends and pay boxes. */
async function setUp(program: object = POINTS_PROGRAM, merchantOverrides: { defaultCurrency?: string } = {}) {
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const { app } = buildTestApp({ clock });
  const merchant = await createMerchant(merchantOverrides, clock);
  await request(app).put('/api/v1/referral-program').set(merchant.auth).send(program).expect(200);
  const customer = async (overrides: Parameters<typeof buildCustomerInput>[0] = {}) =>
    (
      await request(app)
        .post('/api/v1/customers')
        .set(merchant.auth)
        .send(buildCustomerInput({ shippingAddress: ownAddress(), ...overrides }))
        .expect(201)
    ).body as {
      id: string;
      email: string;
    };
  const referrer = await customer({ email: `ana.lopez.${randomBytes(3).toString('hex')}@example.org`, name: 'Ana Referrer' });
  const code = (await request(app).get(`/api/v1/customers/${referrer.id}/referral-code`).set(merchant.auth).expect(200)).body.code as string;
  /** A new shopper with nothing in common with the referrer. */
  const friend = async (overrides: Parameters<typeof buildCustomerInput>[0] = {}) =>
    customer({ email: `friend-${randomBytes(4).toString('hex')}@example.net`, ...overrides });
  const attribute = (friendCustomerId: string, friendSubscriptionId = newId('sub'), withCode = code) =>
    attributeReferral({ clock }, { merchantId: merchant.id, code: withCode, friendCustomerId, friendSubscriptionId });
  const box = (subscriptionId: string, customerId: string, status: OrderStatus) =>
    BoxOrderModel.create({
      _id: newId('ord'),
      merchantId: merchant.id,
      subscriptionId,
      customerId,
      planId: 'plan_x',
      cycleKey: '2026-03-02',
      shipOn: '2026-03-02',
      status,
      lines: [],
      omittedLines: [],
      amountDueMinor: 2600,
      amountPaidMinor: status === 'reserved' ? 0 : 2600,
      currency: 'USD',
      shippingAddress: ownAddress(),
      amountRefundedMinor: 0,
      creditNotes: [],
      history: [{ status, at: clock.now() }],
      createdAt: clock.now(),
    });
  const reward = (friendSubscriptionId: string) => rewardReferrerForPaidBox({ clock, logger: silentLogger }, { merchantId: merchant.id, friendSubscriptionId });
  const ledger = () => LoyaltyEntryModel.find({ merchantId: merchant.id, customerId: referrer.id }).lean();
  /** The referrer's messages, once the listeners of the facts so far have run (a message follows `referral.rewarded`). */
  const notifications = async () => {
    await followFacts(clock);
    return queuedMessages({ merchantId: merchant.id, customerId: referrer.id });
  };
  const view = async (referralId: string) => (await request(app).get(`/api/v1/referrals/${referralId}`).set(merchant.auth).expect(200)).body;
  const review = (referralId: string, action: 'approve' | 'reject', body: object = {}) =>
    request(app).post(`/api/v1/referrals/${referralId}/${action}`).set(merchant.auth).send(body);
  return { clock, app, merchant, referrer, code, customer, friend, attribute, box, reward, ledger, notifications, view, review };
}

async function refusal(promise: Promise<unknown>): Promise<ReferralRefusedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReferralRefusedError);
  return error as ReferralRefusedError;
}

describe('referrals', () => {
  useTestDatabase();

  describe('the programme', () => {
    test('when it is not set up, then GET answers 404; when put, then it is shown in the merchant currency, and a second PUT replaces it', async () => {
      const clock = new FakeClock('2026-03-02T15:30:00Z');
      const { app } = buildTestApp({ clock });
      const merchant = await createMerchant({ defaultCurrency: 'EUR' }, clock);
      const missing = await request(app).get('/api/v1/referral-program').set(merchant.auth).expect(404);
      expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(missing.body.type).toBe('/problems/not_found');

      const created = (await request(app).put('/api/v1/referral-program').set(merchant.auth).send(POINTS_PROGRAM).expect(200)).body;
      expect(created).toEqual({
        object: 'referral_program',
        enabled: true,
        currency: 'EUR',
        welcomeOffer: { type: 'percent', percentOff: 20 },
        referrerReward: { type: 'points', points: 500 },
        review: { maxReferralsPer30Days: 10 },
        createdAt: '2026-03-02T15:30:00.000Z',
        updatedAt: '2026-03-02T15:30:00.000Z',
      });
      clock.advance(MINUTE);
      const replaced = {
        enabled: false,
        welcomeOffer: { type: 'amount', amountOffMinor: 500 },
        referrerReward: { type: 'credit', creditMinor: 1000 },
        review: { maxReferralsPer30Days: 3 },
      };
      await request(app).put('/api/v1/referral-program').set(merchant.auth).send(replaced).expect(200);
      expect((await request(app).get('/api/v1/referral-program').set(merchant.auth).expect(200)).body).toEqual({
        object: 'referral_program',
        currency: 'EUR',
        ...replaced,
        createdAt: '2026-03-02T15:30:00.000Z',
        updatedAt: '2026-03-02T15:31:00.000Z',
      });
    });

    test('when the body has an unknown field or a bad offer, then it answers 400 and the programme is unchanged', async () => {
      const { app, merchant } = await setUp();
      const before = (await request(app).get('/api/v1/referral-program').set(merchant.auth).expect(200)).body;
      for (const body of [
        { ...POINTS_PROGRAM, currency: 'GBP' },
        { ...POINTS_PROGRAM, welcomeOffer: { type: 'percent', percentOff: 0 } },
        { ...POINTS_PROGRAM, welcomeOffer: { type: 'percent', percentOff: 101 } },
        { ...POINTS_PROGRAM, welcomeOffer: { type: 'percent', percentOff: 20, amountOffMinor: 5 } },
        { ...POINTS_PROGRAM, referrerReward: { type: 'cash', creditMinor: 5 } },
        { ...POINTS_PROGRAM, review: { maxReferralsPer30Days: 0 } },
        { enabled: true },
      ]) {
        const res = await request(app).put('/api/v1/referral-program').set(merchant.auth).send(body).expect(400);
        expect(res.body.type).toBe('/problems/invalid_request');
      }
      expect((await request(app).get('/api/v1/referral-program').set(merchant.auth).expect(200)).body).toEqual(before);
    });
  });

  describe('codes', () => {
    test("when a customer's code is asked again, or many times at once, then it is the same one; each customer has their own", async () => {
      const { app, merchant, referrer, code, customer, clock } = await setUp();
      expect(code).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
      const again = await request(app).get(`/api/v1/customers/${referrer.id}/referral-code`).set(merchant.auth).expect(200);
      expect(again.body).toEqual({ object: 'referral_code', code, customerId: referrer.id });

      const other = await customer();
      const codes = await Promise.all(Array.from({ length: 5 }, () => referralCodeFor(clock, merchant.id, other.id)));
      expect(new Set(codes).size).toBe(1);
      expect(codes[0]).not.toBe(code);
      expect(await ReferralCodeModel.countDocuments({ merchantId: merchant.id })).toBe(2);
    });

    test("when another merchant asks for a customer's code, or the customer does not exist, then it answers 404 and no code is made", async () => {
      const { app, referrer, merchant, customer } = await setUp();
      const intruder = await createMerchant();
      const fresh = await customer();
      for (const id of [referrer.id, fresh.id]) {
        const res = await request(app).get(`/api/v1/customers/${id}/referral-code`).set(intruder.auth).expect(404);
        expect(res.body.type).toBe('/problems/not_found');
      }
      await request(app).get('/api/v1/customers/cus_doesnotexist00000000/referral-code').set(merchant.auth).expect(404);
      expect(await ReferralCodeModel.countDocuments({ customerId: fresh.id })).toBe(0);
    });
  });

  describe('attribution', () => {
    test('when a new friend subscribes with the code, then they get the welcome offer, the referral is pending, and a retry of the same creation returns the same referral', async () => {
      const { app, merchant, referrer, code, friend, attribute, view } = await setUp();
      const ben = await friend();
      const subscriptionId = newId('sub');

      const first = await attribute(ben.id, subscriptionId);
      expect(first.welcomeOffer).toEqual({ type: 'percent', percentOff: 20 });
      expect(await attribute(ben.id, subscriptionId, code.toLowerCase())).toEqual(first);
      expect(await view(first.referralId)).toEqual({
        id: first.referralId,
        object: 'referral',
        code,
        referrerCustomerId: referrer.id,
        friendCustomerId: ben.id,
        friendSubscriptionId: subscriptionId,
        status: 'pending',
        heldReasons: [],
        welcomeOffer: { type: 'percent', percentOff: 20 },
        reward: { type: 'points', points: 500, currency: 'USD' },
        rewardedAt: null,
        reviewedAt: null,
        reviewNote: null,
        createdAt: '2026-03-02T15:30:00.000Z',
      });
      const list = (await request(app).get('/api/v1/referrals').set(merchant.auth).expect(200)).body;
      expect(list).toMatchObject({ object: 'list', hasMore: false, data: [{ id: first.referralId }] });
      expect(await ReferralModel.countDocuments({ merchantId: merchant.id })).toBe(1);
    });

    test('when an amount-off programme is replaced after a referral, then that referral keeps the offer it was made with, with its currency', async () => {
      const { app, merchant, friend, attribute, view } = await setUp({ ...POINTS_PROGRAM, welcomeOffer: { type: 'amount', amountOffMinor: 700 } });
      const ben = await friend();
      const { referralId, welcomeOffer } = await attribute(ben.id);
      expect(welcomeOffer).toEqual({ type: 'amount', amountOffMinor: 700, currency: 'USD' });
      await request(app).put('/api/v1/referral-program').set(merchant.auth).send(POINTS_PROGRAM).expect(200);
      expect((await view(referralId)).welcomeOffer).toEqual({ type: 'amount', amountOffMinor: 700, currency: 'USD' });
    });

    test('when the shopper uses their own code, or the same mailbox with a +tag, then it is refused (422 referral_refused) and nothing is stored', async () => {
      const { merchant, referrer, friend, attribute } = await setUp();
      const own = await refusal(attribute(referrer.id));
      expect(own.message).toMatch(/own referral code/);
      const [local, domain] = referrer.email.split('@');
      const alias = await friend({ email: `${local}+again@${domain}` });
      const tagged = await refusal(attribute(alias.id));
      expect(tagged.message).toMatch(/same e-mail/);
      expect(toProblem(tagged, '/api/v1/subscriptions')).toMatchObject({ type: '/problems/referral_refused', status: 422, detail: tagged.message });
      expect(await ReferralModel.countDocuments({ merchantId: merchant.id })).toBe(0);
    });

    test('when a referred friend is referred again, even with another code, then it is refused', async () => {
      const { merchant, customer, friend, attribute, clock } = await setUp();
      const ben = await friend();
      const { referralId } = await attribute(ben.id);
      const other = await customer({ email: `other-${randomBytes(3).toString('hex')}@example.com` });
      const otherCode = await referralCodeFor(clock, merchant.id, other.id);
      expect((await refusal(attribute(ben.id))).message).toMatch(/already referred/);
      expect((await refusal(attribute(ben.id, newId('sub'), otherCode))).message).toMatch(/already referred/);
      expect(await ReferralModel.find({ merchantId: merchant.id }).lean()).toEqual([expect.objectContaining({ _id: referralId })]);
    });

    test('when the creation with the referral failed (no subscription 10 minutes later), then a new creation takes the referral over; a creation that succeeded keeps it', async () => {
      const { clock, merchant, friend, attribute, view } = await setUp();
      const ben = await friend();
      const cleo = await friend();
      const { referralId } = await attribute(ben.id, 'sub_failedcreation000000');
      const kept = await attribute(cleo.id, 'sub_cleosubscribed000000');
      await SubscriptionModel.create({
        _id: 'sub_cleosubscribed000000',
        merchantId: merchant.id,
        customerId: cleo.id,
        status: 'active',
        box: { planId: 'plan_x', variantId: 'var_x', cadenceKey: 'month-1', priceId: 'price_x' },
        schedule: { cadence: { interval: 'month', intervalCount: 1 }, anchorOn: '2026-03-02', chargeAt: '10:30', timezone: 'America/New_York', cutoffDays: 3 },
        firstChargeKey: '2026-03-02',
        stripe: { customerId: 'cus_x' },
        createdAt: clock.now(),
        updatedAt: clock.now(),
      });
      clock.advance(5 * MINUTE);
      await refusal(attribute(ben.id, 'sub_secondattempt0000000'));
      clock.advance(6 * MINUTE);
      const retried = await attribute(ben.id, 'sub_secondattempt0000000');
      expect(retried.referralId).toBe(referralId);
      expect((await view(referralId)).friendSubscriptionId).toBe('sub_secondattempt0000000');
      // Attributed again, to the new subscription (its timeline shows it); a retry of it records nothing more.
      await attribute(ben.id, 'sub_secondattempt0000000');
      expect((await factsAbout({ subjectId: referralId })).map((f) => [f.type, f.subscriptionId, f.data.replacesSubscriptionId ?? null])).toEqual([
        ['referral.attributed', 'sub_failedcreation000000', null],
        ['referral.attributed', 'sub_secondattempt0000000', 'sub_failedcreation000000'],
      ]);
      expect((await refusal(attribute(cleo.id, 'sub_cleosecondtime000000'))).message).toMatch(/already referred/);
      expect((await view(kept.referralId)).friendSubscriptionId).toBe('sub_cleosubscribed000000');
    });

    test('when the friend has subscribed before, then it is refused', async () => {
      const { app, merchant, attribute } = await setUp();
      const shopper = await subscribeShopper(app, merchant);
      expect((await refusal(attribute(shopper.customerId))).message).toMatch(/subscribed before/);
      expect(await ReferralModel.countDocuments({ merchantId: merchant.id })).toBe(0);
    });

    test('when the code is unknown, of another shop, or the programme is off, then it is refused', async () => {
      const { app, merchant, friend, attribute } = await setUp();
      const elsewhere = await setUp();
      const ben = await friend();
      await refusal(attribute(ben.id, newId('sub'), 'ZZZZZZZZ'));
      await refusal(attribute(ben.id, newId('sub'), 'not a code'));
      await refusal(attribute(ben.id, newId('sub'), elsewhere.code));
      await request(app)
        .put('/api/v1/referral-program')
        .set(merchant.auth)
        .send({ ...POINTS_PROGRAM, enabled: false })
        .expect(200);
      expect((await refusal(attribute(ben.id))).message).toMatch(/no referral programme/);
      expect(await ReferralModel.countDocuments({ merchantId: merchant.id })).toBe(0);
    });

    test("when the friend ships to the referrer's address, then the referral is held (the friend still gets the offer) and the box paid does not reward it", async () => {
      const { referrer, friend, attribute, box, reward, ledger, view } = await setUp();
      const stored = await CustomerModel.findById(referrer.id).lean();
      const { line1, postalCode, country, city } = stored!.shippingAddress;
      const ben = await friend({ shippingAddress: { line1: `${line1.toUpperCase()}.`, city, postalCode, country } });
      const subscriptionId = newId('sub');
      const { referralId, welcomeOffer } = await attribute(ben.id, subscriptionId);
      expect(welcomeOffer).toEqual({ type: 'percent', percentOff: 20 });
      expect(await attribute(ben.id, subscriptionId)).toEqual({ referralId, welcomeOffer });
      expect(await view(referralId)).toMatchObject({ status: 'held', heldReasons: ['same_shipping_address'] });

      await box(subscriptionId, ben.id, 'paid');
      await reward(subscriptionId);
      expect(await ledger()).toEqual([]);
      expect((await view(referralId)).status).toBe('held');
    });

    test('when the e-mails are near-identical or the referrer reached the 30-day limit, then the referral is held with the reason', async () => {
      const { clock, referrer, friend, attribute, view } = await setUp({ ...POINTS_PROGRAM, review: { maxReferralsPer30Days: 2 } });
      const [local, domain] = referrer.email.split('@');
      const twin = await friend({ email: `${local!.replace(/\./g, '_')}7@${domain}` });
      expect(await view((await attribute(twin.id)).referralId)).toMatchObject({ status: 'held', heldReasons: ['similar_email'] });

      const second = await friend();
      expect((await view((await attribute(second.id)).referralId)).status).toBe('pending');
      const third = await friend();
      expect(await view((await attribute(third.id)).referralId)).toMatchObject({ status: 'held', heldReasons: ['referrer_velocity'] });

      clock.advance(31 * DAY);
      const later = await friend();
      expect((await view((await attribute(later.id)).referralId)).status).toBe('pending');
    });
  });

  describe('the reward', () => {
    test("when the friend's box is not paid yet, then nothing is rewarded; once paid, the referrer gets the points and a message, once, whatever the replays", async () => {
      const { clock, merchant, friend, attribute, box, reward, ledger, notifications, view } = await setUp();
      const ben = await friend();
      const subscriptionId = newId('sub');
      const { referralId } = await attribute(ben.id, subscriptionId);
      const order = await box(subscriptionId, ben.id, 'reserved');
      await reward(subscriptionId);
      expect(await ledger()).toEqual([]);
      expect((await view(referralId)).status).toBe('pending');

      await BoxOrderModel.updateOne({ _id: order._id }, { $set: { status: 'paid' } });
      clock.advance(MINUTE);
      await Promise.all([reward(subscriptionId), reward(subscriptionId), reward(subscriptionId)]);
      await reward(subscriptionId);
      await reward(subscriptionId);
      await reward(subscriptionId);

      expect(await ledger()).toEqual([
        expect.objectContaining({ kind: 'referral', source: `referral:${referralId}`, points: 500, creditMinor: 0, balancePoints: 500, currency: 'USD' }),
      ]);
      const messages = await notifications();
      expect(messages).toEqual([expect.objectContaining({ template: 'referral.rewarded', subject: expect.any(String), category: 'transactional' })]);
      expect(messages[0]!.text).toContain('Hello Ana Referrer,');
      expect(messages[0]!.text).toContain('500 points');
      expect(await view(referralId)).toMatchObject({ status: 'rewarded', rewardedAt: '2026-03-02T15:31:00.000Z' });
      // Another subscription of nobody referred: nothing happens.
      await rewardReferrerForPaidBox({ clock, logger: silentLogger }, { merchantId: merchant.id, friendSubscriptionId: newId('sub') });
      expect(await LoyaltyEntryModel.countDocuments({ merchantId: merchant.id })).toBe(1);
    });

    test('when the reward is credit, then the ledger gets the credit and the message says how much', async () => {
      const { friend, attribute, box, reward, ledger, notifications } = await setUp({
        ...POINTS_PROGRAM,
        referrerReward: { type: 'credit', creditMinor: 1000 },
      });
      const ben = await friend();
      const subscriptionId = newId('sub');
      await attribute(ben.id, subscriptionId);
      await box(subscriptionId, ben.id, 'shipped');
      await Promise.all([reward(subscriptionId), reward(subscriptionId), reward(subscriptionId)]);
      expect(await ledger()).toEqual([expect.objectContaining({ kind: 'referral', points: 0, creditMinor: 1000, balanceCreditMinor: 1000, currency: 'USD' })]);
      const messages = await notifications();
      expect(messages).toHaveLength(1);
      expect(messages[0]!.text).toContain('$10.00 of credit');
    });

    test('when a worker stopped after the ledger entry, then the next call completes the referral without a second entry', async () => {
      const { merchant, referrer, friend, attribute, box, reward, ledger, notifications, view, clock } = await setUp();
      const ben = await friend();
      const subscriptionId = newId('sub');
      const { referralId } = await attribute(ben.id, subscriptionId);
      await box(subscriptionId, ben.id, 'paid');
      // What a crashed worker leaves: the claim and the ledger entry, not the status.
      await ReferralModel.updateOne({ _id: referralId }, { $set: { rewardClaimedAt: clock.now() } });
      await postLedgerEntry(clock, {
        merchantId: merchant.id,
        customerId: referrer.id,
        source: `referral:${referralId}`,
        kind: 'referral',
        points: 500,
        currency: 'USD',
        description: 'x',
      });

      await reward(subscriptionId);
      expect(await ledger()).toHaveLength(1);
      expect(await notifications()).toHaveLength(1);
      expect((await view(referralId)).status).toBe('rewarded');
    });
  });

  describe('review', () => {
    test('when a held referral is approved before the box is paid, then it is pending and rewarded once at the paid box; approving again is 409', async () => {
      const { referrer, friend, attribute, box, reward, ledger, notifications, view, review } = await setUp();
      const stored = await CustomerModel.findById(referrer.id).lean();
      const ben = await friend({ shippingAddress: stored!.shippingAddress });
      const subscriptionId = newId('sub');
      const { referralId } = await attribute(ben.id, subscriptionId);
      expect((await view(referralId)).status).toBe('held');

      const approved = await review(referralId, 'approve', { note: 'Flatmates, checked' }).expect(200);
      expect(approved.body).toMatchObject({
        status: 'pending',
        heldReasons: ['same_shipping_address'],
        reviewNote: 'Flatmates, checked',
        reviewedAt: '2026-03-02T15:30:00.000Z',
      });
      expect(await ledger()).toEqual([]);

      await box(subscriptionId, ben.id, 'paid');
      for (let i = 0; i < 3; i += 1) await reward(subscriptionId);
      expect(await ledger()).toHaveLength(1);
      expect(await notifications()).toHaveLength(1);
      expect((await view(referralId)).status).toBe('rewarded');

      const again = await review(referralId, 'approve').expect(409);
      expect(again.body.type).toBe('/problems/invalid_state');
      expect((await review(referralId, 'reject').expect(409)).body.type).toBe('/problems/invalid_state');
    });

    test('when a held referral is approved and the friend pays, then it records attributed, held, approved and rewarded in order, naming both parties, and only the referrer is told, once', async () => {
      const { clock, merchant, referrer, friend, attribute, box, reward, notifications, review } = await setUp();
      const stored = await CustomerModel.findById(referrer.id).lean();
      const ben = await friend({ shippingAddress: stored!.shippingAddress });
      const subscriptionId = newId('sub');
      const { referralId } = await attribute(ben.id, subscriptionId);
      clock.advance(MINUTE);
      await review(referralId, 'approve', { note: 'Flatmates' }).expect(200);
      await box(subscriptionId, ben.id, 'paid');
      clock.advance(MINUTE);
      await reward(subscriptionId);
      await reward(subscriptionId);

      const facts = await factsAbout({ subjectId: referralId });
      expect(facts.map((f) => [f.seq, f.type, f.actor.kind, f.customerId, f.subscriptionId, f.merchantId])).toEqual([
        [1, 'referral.attributed', 'merchant', ben.id, subscriptionId, merchant.id],
        [2, 'referral.held', 'merchant', ben.id, subscriptionId, merchant.id],
        [3, 'referral.approved', 'merchant', ben.id, subscriptionId, merchant.id],
        [4, 'referral.rewarded', 'system', ben.id, subscriptionId, merchant.id],
      ]);
      expect(facts[1]!.data).toMatchObject({ reasons: ['same_shipping_address'], referrerCustomerId: referrer.id, friendCustomerId: ben.id });
      // The merchant's key that approved it.
      expect(facts[2]!.actor.id).toMatch(/^key_/);
      expect(facts[2]!.data).toMatchObject({ note: 'Flatmates', referrerCustomerId: referrer.id });
      expect(facts[3]!.data).toMatchObject({
        referrerCustomerId: referrer.id,
        friendCustomerId: ben.id,
        friendSubscriptionId: subscriptionId,
        reward: { type: 'points', points: 500, currency: 'USD' },
      });
      expect(facts[3]!.at).toEqual(new Date('2026-03-02T15:32:00.000Z'));

      expect(await notifications()).toEqual([expect.objectContaining({ template: 'referral.rewarded', customerId: referrer.id })]);
      await followFacts(clock);
      expect(await queuedMessages({ merchantId: merchant.id })).toHaveLength(1);
      expect((await factsAbout({ subjectId: referralId })).every((f) => f.state === 'succeeded')).toBe(true);
    });

    test("when a held referral is approved after the friend's box is paid, then the referrer is rewarded at once", async () => {
      const { referrer, friend, attribute, box, ledger, view, review } = await setUp();
      const stored = await CustomerModel.findById(referrer.id).lean();
      const ben = await friend({ shippingAddress: stored!.shippingAddress });
      const subscriptionId = newId('sub');
      const { referralId } = await attribute(ben.id, subscriptionId);
      await box(subscriptionId, ben.id, 'delivered');

      expect((await review(referralId, 'approve').expect(200)).body).toMatchObject({ status: 'rewarded', rewardedAt: expect.any(String) });
      expect(await ledger()).toHaveLength(1);
      expect((await view(referralId)).status).toBe('rewarded');
    });

    test('when a held or a pending referral is rejected, then it is never rewarded, and it cannot be reviewed again', async () => {
      const { app, clock, merchant, referrer, friend, attribute, box, reward, ledger, notifications, view, review } = await setUp();
      const stored = await CustomerModel.findById(referrer.id).lean();
      const held = await friend({ shippingAddress: stored!.shippingAddress });
      const heldSubscription = newId('sub');
      const heldReferral = (await attribute(held.id, heldSubscription)).referralId;
      clock.advance(MINUTE);
      const pending = await friend();
      const pendingSubscription = newId('sub');
      const pendingReferral = (await attribute(pending.id, pendingSubscription)).referralId;

      expect((await review(heldReferral, 'reject', { note: 'Same person' }).expect(200)).body).toMatchObject({ status: 'rejected', reviewNote: 'Same person' });
      expect((await review(pendingReferral, 'reject').expect(200)).body).toMatchObject({ status: 'rejected', reviewNote: null });
      await box(heldSubscription, held.id, 'paid');
      await box(pendingSubscription, pending.id, 'paid');
      await reward(heldSubscription);
      await reward(pendingSubscription);
      expect(await ledger()).toEqual([]);
      expect(await notifications()).toEqual([]);
      expect((await view(heldReferral)).status).toBe('rejected');
      expect((await factsAbout({ subjectId: heldReferral })).map((f) => f.type)).toEqual(['referral.attributed', 'referral.held', 'referral.rejected']);
      expect((await factsAbout({ subjectId: pendingReferral })).map((f) => f.type)).toEqual(['referral.attributed', 'referral.rejected']);

      expect((await review(heldReferral, 'approve').expect(409)).body.type).toBe('/problems/invalid_state');
      expect((await review(pendingReferral, 'reject').expect(409)).body.type).toBe('/problems/invalid_state');
      const rejectedList = (await request(app).get('/api/v1/referrals?status=rejected&limit=1').set(merchant.auth).expect(200)).body;
      expect(rejectedList).toMatchObject({ hasMore: true, data: [{ id: pendingReferral }] });
      const next = (await request(app).get(`/api/v1/referrals?status=rejected&limit=1&startingAfter=${rejectedList.nextCursor}`).set(merchant.auth).expect(200))
        .body;
      expect(next).toMatchObject({ hasMore: false, data: [{ id: heldReferral }] });
      expect((await request(app).get('/api/v1/referrals?status=held').set(merchant.auth).expect(200)).body.data).toEqual([]);
    });

    test('when the reward is being granted, then the referral can no longer be rejected', async () => {
      const { friend, attribute, box, clock, review, view } = await setUp();
      const ben = await friend();
      const subscriptionId = newId('sub');
      const { referralId } = await attribute(ben.id, subscriptionId);
      await box(subscriptionId, ben.id, 'paid');
      await ReferralModel.updateOne({ _id: referralId }, { $set: { rewardClaimedAt: clock.now() } });
      const res = await review(referralId, 'reject').expect(409);
      expect(res.body.detail).toMatch(/can no longer be rejected/);
      expect((await view(referralId)).status).toBe('pending');
    });

    test('when another merchant reads or reviews a referral, then it is 404 and nothing changes; their list is empty', async () => {
      const { app, friend, attribute, view } = await setUp();
      const intruder = await createMerchant();
      const ben = await friend();
      const { referralId } = await attribute(ben.id);
      const before = await view(referralId);
      await request(app).get(`/api/v1/referrals/${referralId}`).set(intruder.auth).expect(404);
      for (const action of ['approve', 'reject']) {
        const res = await request(app).post(`/api/v1/referrals/${referralId}/${action}`).set(intruder.auth).send({}).expect(404);
        expect(res.body.type).toBe('/problems/not_found');
      }
      expect((await request(app).get('/api/v1/referrals').set(intruder.auth).expect(200)).body.data).toEqual([]);
      await request(app).get('/api/v1/referral-program').set(intruder.auth).expect(404);
      expect(await view(referralId)).toEqual(before);
    });

    test('when a review body or the list query has an unknown field or a bad value, then it answers 400 and nothing changes', async () => {
      const { app, merchant, friend, attribute, view, review } = await setUp();
      const ben = await friend();
      const { referralId } = await attribute(ben.id);
      const before = await view(referralId);
      for (const [action, body] of [
        ['reject', { note: 'x', status: 'rewarded' }],
        ['approve', { reason: 'x' }],
        ['reject', { note: { $ne: null } }],
        ['reject', { note: 'x'.repeat(501) }],
      ] as const) {
        expect((await review(referralId, action, body).expect(400)).body.type).toBe('/problems/invalid_request');
      }
      for (const query of ['?status=bogus', '?limit=0', '?referrer=x']) {
        await request(app).get(`/api/v1/referrals${query}`).set(merchant.auth).expect(400);
      }
      expect(await view(referralId)).toEqual(before);
    });
  });
});
