import request from 'supertest';
import { actors } from '../../../src/events/fact-types';
import { adjustPoints, takeLoyaltyCredit } from '../../../src/loyalty/loyalty.service';
import { LoyaltyEntryModel } from '../../../src/loyalty/loyalty.model';
import { BoxRewardModel } from '../../../src/offers/offer.model';
import { claimBoxRewards } from '../../../src/offers/offer.service';
import { BoxOrderModel, type OrderStatus } from '../../../src/orders/box-order.model';
import { MakeGoodGrantModel, MakeGoodModel } from '../../../src/retention/make-good.model';
import { draftMakeGood, giveMakeGoodTo, makeGoodReport, previewMakeGood, sendMakeGood, type MakeGoodInput } from '../../../src/retention/make-good.service';
import { InvalidInputError, InvalidStateError, NotFoundError } from '../../../src/shared/errors';
import { newId } from '../../../src/shared/ids';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { buildAddonInput, buildCustomerInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { factsAbout, followFacts } from '../../helpers/facts';
import { queuedMessages } from '../../helpers/messages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

const SHIP_ON = '2026-03-02';
const PROGRAM = {
  enabled: true,
  pointsPerUnit: 1,
  redemption: { points: 100, creditMinor: 500 },
  autoApply: false,
  expiry: null,
  tierBasis: 'paid_boxes',
  tiers: [],
};

describe('make-goods: an apology and a make-good for the boxes a mistake affected, once per subscriber', () => {
  useTestDatabase();

  async function setUp(options: { subscribers?: number; loyalty?: boolean } = {}) {
    const clock = new FakeClock('2026-03-05T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    if (options.loyalty !== false) await request(app).put('/api/v1/loyalty-program').set(merchant.auth).send(PROGRAM).expect(200);
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    const sku = plan.variants[0].sku as string;
    const subscriptions: Array<{ id: string; customerId: string }> = [];
    for (let i = 0; i < (options.subscribers ?? 3); i += 1) {
      const customer = (await request(app).post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body;
      const subscription = (
        await request(app)
          .post('/api/v1/subscriptions')
          .set(merchant.auth)
          .send({ customerId: customer.id, planId: plan.id, variantId: plan.variants[0].id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
          .expect(201)
      ).body;
      subscriptions.push({ id: subscription.id, customerId: customer.id });
    }
    /** A box of the subscription that went out (shipped) on a date, with the plan's SKU or another. */
    const box = (subscription: { id: string; customerId: string }, extra: { shipOn?: string; sku?: string; currency?: string; status?: OrderStatus } = {}) =>
      BoxOrderModel.create({
        _id: newId('ord'),
        merchantId: merchant.id,
        subscriptionId: subscription.id,
        customerId: subscription.customerId,
        planId: plan.id,
        cycleKey: `${extra.shipOn ?? SHIP_ON}-${newId('c').slice(2, 8)}`,
        shipOn: extra.shipOn ?? SHIP_ON,
        status: extra.status ?? 'shipped',
        lines: [{ kind: 'plan', description: 'Coffee', sku: extra.sku ?? sku, quantity: 1, unitAmountMinor: 2600, amountMinor: 2600, stock: 'consumed' }],
        omittedLines: [],
        amountDueMinor: 2600,
        amountPaidMinor: 2600,
        currency: extra.currency ?? 'USD',
        shippingAddress: { line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
        amountRefundedMinor: 0,
        creditNotes: [],
        history: [{ status: 'paid', at: clock.now() }],
        paidAt: clock.now(),
        createdAt: clock.now(),
      });
    for (const subscription of subscriptions) await box(subscription);
    const deps = { clock, actor: actors.merchant('ses_page') };
    const input = (gift: MakeGoodInput['gift']): MakeGoodInput => ({
      selection: { fromOn: SHIP_ON, toOn: SHIP_ON },
      gift,
      apology: { subject: 'Sorry about your March box', body: 'The beans were stale. That is on us.' },
    });
    return { clock, app, merchant, plan, sku, subscriptions, box, deps, input };
  }

  const pointsEntries = async (merchantId: string) => (await LoyaltyEntryModel.find({ merchantId }).lean()).filter((e) => e.source.includes('make-good:'));

  test('when the same make-good is sent twice, then each subscriber gets the points, one make_good.given on their timeline and one apology; the second send reports each as given before', async () => {
    const { clock, merchant, subscriptions, deps, input } = await setUp();
    const id = await draftMakeGood(deps, merchant.id, 'attempt-1', input({ type: 'points', points: 250 }));

    const first = await sendMakeGood(deps, merchant.id, id);
    const second = await sendMakeGood(deps, merchant.id, id);
    await followFacts(clock);

    const ids = subscriptions.map((s) => s.id).sort();
    expect(first.run).toBe(1);
    expect(first.rows.map((r) => [r.subscriptionId, r.outcome])).toEqual(ids.map((sid) => [sid, 'given']));
    expect(second.rows.map((r) => [r.subscriptionId, r.outcome])).toEqual(ids.map((sid) => [sid, 'already_given']));
    const entries = await pointsEntries(merchant.id);
    expect(entries.map((e) => [e.subscriptionId, e.points]).sort()).toEqual(ids.map((sid) => [sid, 250]));
    for (const subscription of subscriptions) {
      const facts = (await factsAbout({ subscriptionId: subscription.id })).filter((f) => f.type === 'make_good.given');
      expect(facts).toHaveLength(1);
      expect(facts[0]).toMatchObject({
        actor: { kind: 'merchant', id: 'ses_page' },
        customerId: subscription.customerId,
        data: { subject: 'Sorry about your March box', gift: { type: 'points', points: 250 }, boxes: 1 },
      });
    }
    const apologies = await queuedMessages({ template: 'make_good.apology', merchantId: merchant.id });
    expect(apologies.map((m) => m.subscriptionId).sort()).toEqual(ids);
    expect(apologies[0]).toMatchObject({ subject: 'Sorry about your March box', category: 'transactional' });
    expect(apologies[0]!.text).toContain('The beans were stale. That is on us.');
    expect(apologies[0]!.text).toContain('To make it up to you: 250 points.');
    expect(apologies[0]!.html).toContain('<strong>250 points</strong>');
    // Following the facts again sends nothing more.
    await followFacts(clock);
    expect(await queuedMessages({ template: 'make_good.apology', merchantId: merchant.id })).toHaveLength(3);
    expect(await MakeGoodModel.findById(id).lean()).toMatchObject({ status: 'sent', runs: 2, counts: { given: 0, alreadyGiven: 3, skipped: 0 } });
  });

  test('when a send stopped halfway (two given, one given on the ledger but not marked), then sending again completes the rest, each exactly once, and the report says which were given before', async () => {
    const { clock, merchant, subscriptions, deps, input } = await setUp({ subscribers: 4 });
    const id = await draftMakeGood(deps, merchant.id, 'attempt-crash', input({ type: 'points', points: 100 }));
    const [a, b, c] = [...subscriptions].sort((x, y) => (x.id < y.id ? -1 : 1));
    // The crashed send: its run started, the first two were given, the third's points were written and then the process died.
    const makeGood = (await MakeGoodModel.findOneAndUpdate(
      { _id: id },
      { $inc: { runs: 1 }, $set: { status: 'sending' } },
      { returnDocument: 'after', lean: true },
    ))!;
    for (const s of [a!, b!]) await giveMakeGoodTo(deps, makeGood, { subscriptionId: s.id, customerId: s.customerId, currency: 'USD', orderIds: [] }, 1);
    await adjustPoints(clock, merchant.id, c!.customerId, { points: 100, reason: 'Make-good: Sorry about your March box' }, `make-good:${id}:${c!.id}`, {
      subscriptionId: c!.id,
    });
    expect((await makeGoodReport(merchant.id, id, { limit: 10 })).rows.map((r) => r.outcome)).toEqual(['given', 'given']);

    const rerun = await sendMakeGood(deps, merchant.id, id);
    await followFacts(clock);

    expect(rerun.run).toBe(2);
    expect(rerun.rows.map((r) => r.outcome)).toEqual(['already_given', 'already_given', 'given', 'given']);
    const entries = await pointsEntries(merchant.id);
    expect(entries).toHaveLength(4);
    expect(new Set(entries.map((e) => e.subscriptionId)).size).toBe(4);
    expect(await MakeGoodGrantModel.countDocuments({ makeGoodId: id, status: 'given' })).toBe(4);
    const given = (await factsAbout({ merchantId: merchant.id })).filter((f) => f.type === 'make_good.given');
    expect(given.map((f) => f.subscriptionId).sort()).toEqual(subscriptions.map((s) => s.id).sort());
    expect(await queuedMessages({ template: 'make_good.apology', merchantId: merchant.id })).toHaveLength(4);
    const report = await makeGoodReport(merchant.id, id, { limit: 10 });
    expect(report.rows.map((r) => r.outcome)).toEqual(['already_given', 'already_given', 'given', 'given']);
  });

  test('when credit is given, then it waits on the ledger for the next box, and a subscription cancelled or whose box was in another currency is skipped with the reason', async () => {
    const { clock, merchant, plan, subscriptions, box, deps, input } = await setUp({ subscribers: 3 });
    const [kept, cancelled, euro] = subscriptions as [(typeof subscriptions)[0], (typeof subscriptions)[0], (typeof subscriptions)[0]];
    await SubscriptionModel.updateOne({ _id: cancelled.id }, { $set: { status: 'cancelled' } });
    await BoxOrderModel.deleteMany({ subscriptionId: euro.id });
    await box(euro, { currency: 'EUR' });
    const id = await draftMakeGood(deps, merchant.id, 'attempt-credit', input({ type: 'credit', amountMinor: 500, currency: 'USD' }));

    const sent = await sendMakeGood(deps, merchant.id, id);

    const outcome = Object.fromEntries(sent.rows.map((r) => [r.subscriptionId, [r.outcome, r.reason]]));
    expect(outcome).toEqual({
      [kept.id]: ['given', undefined],
      [cancelled.id]: ['skipped', 'subscription_cancelled'],
      [euro.id]: ['skipped', 'currency_mismatch'],
    });
    const credit = await pointsEntries(merchant.id);
    expect(credit.map((e) => [e.customerId, e.creditMinor, e.currency, e.kind])).toEqual([[kept.customerId, 500, 'USD', 'adjust']]);
    // The next box takes it.
    const next = { _id: newId('ord'), merchantId: merchant.id, customerId: kept.customerId, subscriptionId: kept.id, currency: 'USD', shipOn: '2026-04-02' };
    expect(await takeLoyaltyCredit(clock, next, 2600)).toBe(500);
    expect(plan.id).toBeDefined();
    // The skipped ones are looked at again: still skipped, with nothing given or sent.
    const again = await sendMakeGood(deps, merchant.id, id);
    expect(
      again.rows
        .filter((r) => r.outcome === 'skipped')
        .map((r) => r.reason)
        .sort(),
    ).toEqual(['currency_mismatch', 'subscription_cancelled']);
    await followFacts(clock);
    expect((await queuedMessages({ template: 'make_good.apology', merchantId: merchant.id })).map((m) => m.subscriptionId)).toEqual([kept.id]);
    const report = await makeGoodReport(merchant.id, id, { limit: 10 });
    expect(report.rows.find((r) => r.subscriptionId === euro.id)).toMatchObject({ outcome: 'skipped', reason: 'currency_mismatch' });
  });

  test("when a free extra is given, then it waits for each subscriber's next box, named by the make-good, and an extra taken off sale since is skipped", async () => {
    const { app, merchant, subscriptions, deps, input } = await setUp({ subscribers: 2, loyalty: false });
    const addon = (
      await request(app)
        .post('/api/v1/addons')
        .set(merchant.auth)
        .send(buildAddonInput({ name: 'Tasting spoon' }))
        .expect(201)
    ).body;
    const id = await draftMakeGood(deps, merchant.id, 'attempt-extra', input({ type: 'free_addon', addonId: addon.id, quantity: 1 }));

    const sent = await sendMakeGood(deps, merchant.id, id);

    expect(sent.rows.map((r) => r.outcome)).toEqual(['given', 'given']);
    const rewards = await BoxRewardModel.find({ merchantId: merchant.id }).lean();
    expect(rewards.map((r) => [r.subscriptionId, r.addonId, r.quantity, r.status, r.makeGoodId]).sort()).toEqual(
      subscriptions.map((s) => [s.id, addon.id, 1, 'pending', id]).sort(),
    );
    const claimed = await claimBoxRewards({ _id: subscriptions[0]!.id, merchantId: merchant.id }, 'ord_next');
    expect(claimed.map((r) => r.addonId)).toEqual([addon.id]);

    // A second make-good after the extra was archived: nothing to give.
    const other = await draftMakeGood(deps, merchant.id, 'attempt-extra-2', input({ type: 'free_addon', addonId: addon.id, quantity: 1 }));
    await request(app).patch(`/api/v1/addons/${addon.id}`).set(merchant.auth).send({ status: 'archived' }).expect(200);
    const skipped = await sendMakeGood(deps, merchant.id, other);
    expect(skipped.rows.map((r) => [r.outcome, r.reason])).toEqual([
      ['skipped', 'extra_unavailable'],
      ['skipped', 'extra_unavailable'],
    ]);
    expect(await BoxRewardModel.countDocuments({ merchantId: merchant.id })).toBe(2);
  });

  test('when the boxes are picked by ship dates, SKU or plan, then the preview counts and pages just those, by ship date', async () => {
    const { merchant, subscriptions, box, deps, input } = await setUp({ subscribers: 3 });
    await box(subscriptions[0]!, { shipOn: '2026-03-03', sku: 'OTHER-SKU' });
    await box(subscriptions[1]!, { shipOn: '2026-03-03', status: 'cancelled' });
    const wide = await draftMakeGood(deps, merchant.id, 'p1', { ...input({ type: 'points', points: 5 }), selection: { fromOn: SHIP_ON, toOn: '2026-03-03' } });
    const bySku = await draftMakeGood(deps, merchant.id, 'p2', {
      ...input({ type: 'points', points: 5 }),
      selection: { fromOn: SHIP_ON, toOn: '2026-03-03', sku: 'OTHER-SKU' },
    });

    const first = await previewMakeGood(merchant.id, wide, { limit: 3 });
    expect(first).toMatchObject({ boxCount: 4, subscriptionCount: 3, tooMany: false, hasMore: true });
    const last = first.boxes.at(-1)!;
    const second = await previewMakeGood(merchant.id, wide, { limit: 3, after: { shipOn: last.shipOn, id: last._id } });
    expect(second.boxes.map((b) => b.shipOn)).toEqual(['2026-03-03']);
    expect(second.hasMore).toBe(false);
    expect(await previewMakeGood(merchant.id, bySku, { limit: 10 })).toMatchObject({ boxCount: 1, subscriptionCount: 1 });
  });

  test('when a make-good breaks a rule, then it is refused in words beside its field; the same form again is the same draft; once sent it cannot change; another store does not see it', async () => {
    const { merchant, deps, input } = await setUp({ subscribers: 1 });
    const refused = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => (error instanceof InvalidInputError ? error.issues.map((i) => i.field) : error),
      );
    expect(await refused(draftMakeGood(deps, merchant.id, 'r1', input({ type: 'credit', amountMinor: 500, currency: 'EUR' })))).toEqual(['currency']);
    expect(
      await refused(draftMakeGood(deps, merchant.id, 'r2', { ...input({ type: 'points', points: 5 }), selection: { fromOn: SHIP_ON, toOn: '2026-03-01' } })),
    ).toEqual(['toOn']);
    expect(await refused(draftMakeGood(deps, merchant.id, 'r3', input({ type: 'free_addon', addonId: 'addon_nope', quantity: 1 })))).toEqual(['addonId']);

    const once = await draftMakeGood(deps, merchant.id, 'same', input({ type: 'points', points: 5 }));
    expect(await draftMakeGood(deps, merchant.id, 'same', input({ type: 'points', points: 7 }))).toBe(once);
    expect((await MakeGoodModel.findById(once).lean())!.gift).toEqual({ type: 'points', points: 7 });
    await sendMakeGood(deps, merchant.id, once);
    await expect(draftMakeGood(deps, merchant.id, 'same', input({ type: 'points', points: 9 }))).rejects.toBeInstanceOf(InvalidStateError);

    const other = await createMerchant({}, deps.clock);
    await expect(sendMakeGood(deps, other.id, once)).rejects.toBeInstanceOf(NotFoundError);
    await expect(makeGoodReport(other.id, once, { limit: 10 })).rejects.toBeInstanceOf(NotFoundError);
  });

  test('when the store runs no loyalty programme, then points are refused with a way out', async () => {
    const { merchant, deps, input } = await setUp({ subscribers: 1, loyalty: false });
    await expect(draftMakeGood(deps, merchant.id, 'n1', input({ type: 'points', points: 5 }))).rejects.toMatchObject({
      issues: [{ field: 'kind', message: expect.stringMatching(/loyalty programme, which is off/) }],
    });
  });
});
