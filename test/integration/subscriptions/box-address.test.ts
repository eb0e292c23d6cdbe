import request from 'supertest';
import { BoxOrderModel } from '../../../src/orders/box-order.model';
import { FakeClock } from '../../../src/shared/time';
import { createStripeGateway } from '../../../src/stripe/stripe-gateway';
import { undoChange } from '../../../src/subscriptions/subscription.service';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { factsAbout, TEST_LINKS } from '../../helpers/facts';
import { renewalDriver } from '../../helpers/renewal-driver';
import { buildTestApp, type TestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/** One box sent elsewhere: the shopper's own address is 1 Main St, Springfield (the factory's). */
const HOLIDAY = { line1: '7 Beach Rd', line2: '', city: 'Santa Cruz', region: 'CA', postalCode: '95060', country: 'US' };
const HOLIDAY_STORED = { line1: '7 Beach Rd', city: 'Santa Cruz', region: 'CA', postalCode: '95060', country: 'US' };
const AUNT = { line1: '3 Oak Ave', city: 'Salem', postalCode: '97301', country: 'US' };
const MOVED = { line1: '9 Elm St', city: 'Portland', postalCode: '97201', country: 'US' };

const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms);

async function setUp(start = '2026-03-02T15:30:00Z') {
  const clock = new FakeClock(start);
  const gateway = createStripeGateway(testStripe());
  const testApp: TestApp = buildTestApp({ clock, stripeGateway: gateway });
  const { app } = testApp;
  const merchant: TestMerchant = await createMerchant({ timezone: 'America/New_York' }, clock);
  const shopper = await subscribeShopper(app, merchant);
  const id = shopper.subscription.id;
  const shipTo = (body: unknown, auth: Record<string, string> = merchant.auth) =>
    request(app)
      .post(`/api/v1/subscriptions/${id}/box-address`)
      .set(auth)
      .send(body as object);
  const view = async () => (await request(app).get(`/api/v1/subscriptions/${id}`).set(merchant.auth).expect(200)).body;
  const addressFacts = async () => (await factsAbout({ subjectId: id })).filter((f) => f.type === 'subscription.box_address_set');
  const deps = { clock, stripe: gateway, logger: silentLogger, publicUrl: TEST_LINKS.publicUrl };
  return { clock, app, merchant, shopper, id, shipTo, view, addressFacts, deps, driver: renewalDriver(testApp, gateway), testApp };
}

describe('POST /api/v1/subscriptions/:id/box-address', () => {
  useTestDatabase();

  test('when the next box is sent elsewhere, then the view says where it goes and the fact is recorded once, even when sent again', async () => {
    const { app, shipTo, view, addressFacts, merchant, shopper } = await setUp();
    const next = (await view()).nextCharge.cycleKey as string;
    expect((await view()).nextBoxAddress).toBeNull();

    const res = await shipTo({ address: HOLIDAY }).expect(200);
    expect(res.body.nextBoxAddress).toEqual({ cycleKey: next, address: HOLIDAY_STORED });
    expect((await view()).nextBoxAddress).toEqual({ cycleKey: next, address: HOLIDAY_STORED });
    // The same address again (its empty line as typed or left out) changes nothing and records nothing.
    await shipTo({ cycleKey: next, address: HOLIDAY_STORED }).expect(200);

    const facts = await addressFacts();
    expect(facts.map((f) => [f.data, f.actor.kind])).toEqual([[{ cycleKey: next, address: HOLIDAY_STORED, from: null }, 'merchant']]);
    expect((await view()).history.filter((e: { type: string }) => e.type === 'subscription.box_address_set')).toHaveLength(1);
    // The shopper's own address is untouched: this is for one box.
    const customer = (await request(app).get(`/api/v1/customers/${shopper.customerId}`).set(merchant.auth).expect(200)).body;
    expect(customer.shippingAddress).toMatchObject({ line1: '1 Main St', city: 'Springfield' });
  });

  test('when a box is sent elsewhere, then it is built at its cut-off and paid to that address, and the box after goes to the shopper again', async () => {
    const { clock, app, merchant, shopper, shipTo, view, driver } = await setUp();
    const { nextCharge } = await view();
    await shipTo({ address: AUNT }).expect(200);

    clock.set(plus(nextCharge.cutoffAt, 60_000));
    await driver.runCutoffs();
    const built = await BoxOrderModel.findOne({ subscriptionId: shopper.subscription.id, cycleKey: nextCharge.cycleKey }).lean();
    expect(built).toMatchObject({ status: 'reserved', shippingAddress: AUNT });

    // The shopper moves for good before the charge: the box sent elsewhere still goes where they said.
    await request(app).patch(`/api/v1/customers/${shopper.customerId}`).set(merchant.auth).send({ shippingAddress: MOVED }).expect(200);
    clock.set(plus(nextCharge.chargeAt, 30_000));
    expect(await driver.pay(shopper.subscription.stripeSubscriptionId as string, new Date(nextCharge.chargeAt), 2600)).toBe(200);
    const paid = await BoxOrderModel.findOne({ subscriptionId: shopper.subscription.id, cycleKey: nextCharge.cycleKey }).lean();
    expect(paid).toMatchObject({ status: 'paid', shippingAddress: AUNT });

    // The following box goes to the shopper's (new) address, at its cut-off and when paid.
    const following = (await view()).nextCharge;
    expect(following.cycleKey).not.toBe(nextCharge.cycleKey);
    expect((await view()).nextBoxAddress).toBeNull();
    clock.set(plus(following.cutoffAt, 60_000));
    await driver.runCutoffs();
    expect(await BoxOrderModel.findOne({ subscriptionId: shopper.subscription.id, cycleKey: following.cycleKey }).lean()).toMatchObject({
      shippingAddress: MOVED,
    });
    clock.set(plus(following.chargeAt, 30_000));
    await driver.pay(shopper.subscription.stripeSubscriptionId as string, new Date(following.chargeAt), 2600);
    expect(await BoxOrderModel.findOne({ subscriptionId: shopper.subscription.id, cycleKey: following.cycleKey }).lean()).toMatchObject({
      status: 'paid',
      shippingAddress: MOVED,
    });
  });

  test('when a box sent elsewhere is first made at its payment (nothing was built at the cut-off), then it is made to that address', async () => {
    const { clock, shopper, shipTo, view, driver } = await setUp();
    const { nextCharge } = await view();
    await shipTo({ cycleKey: nextCharge.cycleKey, address: AUNT }).expect(200);

    clock.set(plus(nextCharge.chargeAt, 30_000));
    await driver.pay(shopper.subscription.stripeSubscriptionId as string, new Date(nextCharge.chargeAt), 2600);
    expect(await BoxOrderModel.findOne({ subscriptionId: shopper.subscription.id, cycleKey: nextCharge.cycleKey }).lean()).toMatchObject({
      status: 'paid',
      shippingAddress: AUNT,
    });
  });

  test('when the box is past its cut-off, not a charge date, or skipped, then it is refused and nothing changes', async () => {
    const { clock, app, merchant, id, shipTo, view, addressFacts } = await setUp();
    const { nextCharge, upcomingCycles } = await view();
    const scheduled = (upcomingCycles as Array<{ cycleKey: string; state: string }>).filter((c) => c.state === 'scheduled').map((c) => c.cycleKey);
    expect(scheduled[0]).toBe(nextCharge.cycleKey);
    const later = scheduled[1]!;

    clock.set(plus(nextCharge.cutoffAt, 60_000));
    const locked = await shipTo({ cycleKey: nextCharge.cycleKey, address: AUNT }).expect(409);
    expect(locked.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(locked.body).toMatchObject({ type: '/problems/invalid_state', detail: expect.stringContaining('cut-off') });

    const unknown = await shipTo({ cycleKey: '2026-04-03', address: AUNT }).expect(400);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'body.cycleKey' })]);

    await request(app).post(`/api/v1/subscriptions/${id}/skip`).set(merchant.auth).send({ cycleKey: later }).expect(200);
    expect((await shipTo({ cycleKey: later, address: AUNT }).expect(409)).body.type).toBe('/problems/invalid_state');

    // Without a cycle: the first box still open that will be sent (the locked one and the skipped one are passed).
    const set = await shipTo({ address: AUNT }).expect(200);
    expect(set.body.nextBoxAddress).toBeNull(); // the next charge is the locked box, which goes to the shopper
    expect((await addressFacts()).map((f) => f.data.cycleKey)).toEqual([scheduled[2]]);
  });

  test('when the address is malformed or has unknown fields, then it answers 400 and nothing changes', async () => {
    const { shipTo, view, addressFacts } = await setUp();
    const before = await view();
    for (const body of [
      {},
      { address: { ...AUNT, country: 'UK' } },
      { address: { ...AUNT, line1: '' } },
      { address: { ...AUNT, floor: 3 } },
      { address: AUNT, note: 'x' },
      { address: AUNT, cycleKey: '18 May' },
    ]) {
      const res = await shipTo(body).expect(400);
      expect(res.body.type).toBe('/problems/invalid_request');
    }
    expect(await view()).toEqual(before);
    expect(await addressFacts()).toEqual([]);
  });

  test('when the change is undone, then the box goes back where it went before; a replaced address comes back; after the cut-off it cannot be undone', async () => {
    const { clock, merchant, id, shipTo, view, addressFacts, deps } = await setUp();
    const { nextCharge } = await view();
    await shipTo({ address: AUNT }).expect(200);
    clock.advance(60_000);
    await shipTo({ address: HOLIDAY }).expect(200);
    const [, replaced] = await addressFacts();
    expect(replaced!.data).toEqual({ cycleKey: nextCharge.cycleKey, address: HOLIDAY_STORED, from: AUNT });

    const undone = await undoChange(deps, merchant.id, id, replaced!._id);
    expect(undone.nextBoxAddress).toEqual({ cycleKey: nextCharge.cycleKey, address: AUNT });
    // The box is at the first change's address again: undoing that one sends the box to the shopper.
    const [first] = await addressFacts();
    const cleared = await undoChange(deps, merchant.id, id, first!._id);
    expect(cleared.nextBoxAddress).toBeNull();
    expect((await addressFacts()).map((f) => [f.data.address, f.data.from])).toEqual([
      [AUNT, null],
      [HOLIDAY_STORED, AUNT],
      [AUNT, HOLIDAY_STORED],
      [null, AUNT],
    ]);
    // Undoing a change whose address is no longer the box's is refused.
    await expect(undoChange(deps, merchant.id, id, replaced!._id)).rejects.toMatchObject({ code: 'invalid_state' });

    await shipTo({ address: AUNT }).expect(200);
    const last = (await addressFacts()).at(-1)!;
    clock.set(plus(nextCharge.cutoffAt, 60_000));
    await expect(undoChange(deps, merchant.id, id, last._id)).rejects.toMatchObject({ code: 'invalid_state' });
    expect((await view()).nextBoxAddress).toEqual({ cycleKey: nextCharge.cycleKey, address: AUNT });
  });

  test('when address null is sent, then the box goes to the shopper again; with nothing set it changes nothing', async () => {
    const { shipTo, view, addressFacts } = await setUp();
    await shipTo({ address: null }).expect(200);
    expect(await addressFacts()).toEqual([]);
    await shipTo({ address: AUNT }).expect(200);
    expect((await shipTo({ address: null }).expect(200)).body.nextBoxAddress).toBeNull();
    expect((await view()).nextBoxAddress).toBeNull();
    expect((await addressFacts()).map((f) => f.data.address)).toEqual([AUNT, null]);
  });

  test('when the charge date moves, then the address follows its box', async () => {
    const { app, merchant, id, shipTo, view } = await setUp();
    const { nextCharge } = await view();
    await shipTo({ address: AUNT }).expect(200);
    const moved = await request(app)
      .post(`/api/v1/subscriptions/${id}/charge-date`)
      .set(merchant.auth)
      .send({
        date: plus(nextCharge.chargeAt, 3 * 86_400_000)
          .toISOString()
          .slice(0, 10),
      })
      .expect(200);
    expect(moved.body.nextCharge.cycleKey).not.toBe(nextCharge.cycleKey);
    expect(moved.body.nextBoxAddress).toEqual({ cycleKey: moved.body.nextCharge.cycleKey, address: AUNT });
  });

  test("when a shopper session sends their own box elsewhere, then it is done as the shopper; another shopper's subscription is 404", async () => {
    const { app, merchant, shopper, addressFacts } = await setUp();
    const other = await subscribeShopper(app, merchant);
    const key = (await request(app).post(`/api/v1/customers/${shopper.customerId}/shopper-sessions`).set(merchant.auth).expect(201)).body.token as string;
    const auth = { Authorization: `Bearer ${key}` };

    const res = await request(app).post(`/api/v1/shopper/subscriptions/${shopper.subscription.id}/box-address`).set(auth).send({ address: AUNT }).expect(200);
    expect(res.body.nextBoxAddress).toMatchObject({ address: AUNT });
    expect((await addressFacts()).map((f) => f.actor)).toEqual([{ kind: 'shopper', id: shopper.customerId }]);
    await request(app).post(`/api/v1/shopper/subscriptions/${other.subscription.id}/box-address`).set(auth).send({ address: AUNT }).expect(404);
    expect((await request(app).get(`/api/v1/subscriptions/${other.subscription.id}`).set(merchant.auth).expect(200)).body.nextBoxAddress).toBeNull();
  });

  test('when the subscription is cancelled, then it answers 409 invalid_state', async () => {
    const { app, merchant, id, shipTo } = await setUp();
    await request(app).post(`/api/v1/subscriptions/${id}/cancel`).set(merchant.auth).send({ mode: 'now', reason: 'other' }).expect(200);
    expect((await shipTo({ address: AUNT }).expect(409)).body.type).toBe('/problems/invalid_state');
  });
});
