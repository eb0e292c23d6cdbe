import request from 'supertest';
import type { Express } from 'express';
import { LoyaltyEntryModel } from '../../../src/loyalty/loyalty.model';
import { birthdayMonthDaysIn, grantYearlyRewards } from '../../../src/offers/offer.service';
import { newId } from '../../../src/shared/ids';
import { FakeClock } from '../../../src/shared/time';
import { SubscriptionModel } from '../../../src/subscriptions/subscription.model';
import { buildCustomerInput, buildLoyaltyProgramInput, buildPlanInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { documentsReadWhile } from '../../helpers/analytics-projections';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

/**
 * Birthday rewards (`offers.grant-yearly-rewards`): the job reads only the shoppers whose birthday falls in its
 * window (the day and the 7 before it, in the store's calendar), then only their live subscriptions, and grants
 * each once a year, as it did when it read the whole store. A 02-29 birthday is kept on 02-28 in other years.
 */
describe('birthday rewards: only the shoppers whose birthday is due are read', () => {
  useTestDatabase();

  async function store(app: Express, clock: FakeClock, options: { offer: boolean }) {
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const plan = (await request(app).post('/api/v1/plans').set(merchant.auth).send(buildPlanInput()).expect(201)).body;
    if (options.offer) {
      await request(app).put('/api/v1/loyalty-program').set(merchant.auth).send(buildLoyaltyProgramInput()).expect(200);
      await request(app)
        .post('/api/v1/offers')
        .set(merchant.auth)
        .send({ kind: 'birthday', name: 'Birthday treat', reward: { type: 'points', points: 500 } })
        .expect(201);
    }
    return { merchant, plan };
  }

  async function setUp(startAt: string) {
    const clock = new FakeClock(startAt);
    const { app } = buildTestApp({ clock });
    const shop = await store(app, clock, { offer: true });
    const customer = async (merchant: TestMerchant, birthday?: string) =>
      (
        await request(app)
          .post('/api/v1/customers')
          .set(merchant.auth)
          .send(buildCustomerInput(birthday ? { birthday } : {}))
          .expect(201)
      ).body.id as string;
    /** A shopper with a subscription through the API (its id), born on `birthday`. */
    const subscribe = async (birthday: string | undefined, where = shop) => {
      const customerId = await customer(where.merchant, birthday);
      const subscription = (
        await request(app)
          .post('/api/v1/subscriptions')
          .set(where.merchant.auth)
          .send({ customerId, planId: where.plan.id, variantId: where.plan.variants[0].id, cadence: 'month-1', paymentMethodId: 'pm_card_visa' })
          .expect(201)
      ).body;
      return { customerId, subscriptionId: subscription.id as string };
    };
    /** Another subscription like `of`'s, for `customerId` (written straight to the database to keep this file fast). */
    const copy = async (of: { subscriptionId: string }, customerId: string, changes: Record<string, unknown> = {}) => {
      const original = (await SubscriptionModel.findById(of.subscriptionId).lean())!;
      const _id = newId('sub');
      await SubscriptionModel.create({ ...original, _id, customerId, stripe: { customerId: `cus_${newId('x')}` }, ...changes });
      return _id;
    };
    const birthdayEntries = async (merchantId: string) =>
      (await LoyaltyEntryModel.find({ merchantId, kind: 'birthday' }).lean()).map((entry) => [entry.source, entry.subscriptionId]).sort();
    return { clock, app, shop, customer, subscribe, copy, birthdayEntries, deps: { clock, logger: silentLogger } };
  }

  /** The job's window for a day: the day and the 7 before it. */
  const windowOf = (days: string[]) => birthdayMonthDaysIn(days);

  test('when the window holds 02-28 of a year that is not a leap year, then 02-29 is among its month-days; in a leap year only on 02-29 itself; across a year end, both years', () => {
    const week = (dates: string[]) => windowOf(dates);
    expect(week(['2027-02-28', '2027-02-27', '2027-02-26', '2027-02-25', '2027-02-24', '2027-02-23', '2027-02-22', '2027-02-21'])).toEqual([
      '02-21',
      '02-22',
      '02-23',
      '02-24',
      '02-25',
      '02-26',
      '02-27',
      '02-28',
      '02-29',
    ]);
    expect(week(['2028-02-28', '2028-02-27'])).toEqual(['02-27', '02-28']);
    expect(week(['2028-03-01', '2028-02-29', '2028-02-28'])).toEqual(['02-28', '02-29', '03-01']);
    expect(week(['2027-01-01', '2026-12-31', '2026-12-30'])).toEqual(['01-01', '12-30', '12-31']);
  });

  test("when the job runs on 02-28 of a year that is not a leap year, then the 02-29 and 02-28 shoppers are granted once, reading only their subscriptions, never another store's", async () => {
    const { clock, app, shop, customer, subscribe, copy, birthdayEntries, deps } = await setUp('2026-03-10T15:00:00Z');
    const leapDay = await subscribe('02-29');
    const feb28 = await subscribe('1990-02-28');
    // A second, newer subscription of the 02-28 shopper: the reward names the oldest, as before.
    clock.set('2026-04-10T15:00:00Z');
    await copy(feb28, feb28.customerId, { createdAt: clock.now() });
    // Not due: born on another day, no birthday, due but without a live subscription, or of another store.
    const template = await subscribe('06-15');
    for (const birthday of ['03-01', '02-20', '12-31', undefined, '07-04', '09-09', '11-11']) {
      const id = await customer(shop.merchant, birthday);
      await copy(template, id);
    }
    const ended = await customer(shop.merchant, '02-27');
    await copy(template, ended, { status: 'cancelled' });
    await customer(shop.merchant, '02-26');
    const elsewhere = await store(app, clock, { offer: false });
    const otherShopper = await subscribe('02-28', elsewhere);

    clock.set('2027-02-28T17:00:00Z'); // noon in New York
    const storeSize = await SubscriptionModel.countDocuments({ merchantId: shop.merchant.id });
    const read = await documentsReadWhile(() => grantYearlyRewards(deps));

    expect(await birthdayEntries(shop.merchant.id)).toEqual(
      [
        [`birthday:${leapDay.customerId}:2027`, leapDay.subscriptionId],
        [`birthday:${feb28.customerId}:2027`, feb28.subscriptionId],
      ].sort(),
    );
    expect(await LoyaltyEntryModel.countDocuments({ customerId: otherShopper.customerId })).toBe(0);
    // The two due shoppers' three subscriptions, out of the store's twelve; and only those two shoppers.
    expect(storeSize).toBe(12);
    expect(read.subscriptions).toBe(3);
    expect(read.customers).toBe(4); // the two due shoppers, each read once more when its reward is granted

    // Again later that day: nothing more.
    clock.set('2027-02-28T23:00:00Z');
    await grantYearlyRewards(deps);
    expect(await LoyaltyEntryModel.countDocuments({ merchantId: shop.merchant.id, kind: 'birthday' })).toBe(2);
  });

  test('when a leap year comes, then the 02-29 shopper is granted on 02-29 (not on 02-28), and a window across the year end grants both years', async () => {
    const { clock, subscribe, birthdayEntries, shop, deps } = await setUp('2027-06-10T15:00:00Z');
    const leapDay = await subscribe('02-29');
    const feb28 = await subscribe('02-28');
    const newYearsEve = await subscribe('1980-12-31');
    const second = await subscribe('01-02');

    clock.set('2028-01-03T17:00:00Z'); // window 2027-12-27 … 2028-01-03
    await grantYearlyRewards(deps);
    expect(await birthdayEntries(shop.merchant.id)).toEqual(
      [
        [`birthday:${newYearsEve.customerId}:2027`, newYearsEve.subscriptionId],
        [`birthday:${second.customerId}:2028`, second.subscriptionId],
      ].sort(),
    );

    clock.set('2028-02-28T17:00:00Z');
    await grantYearlyRewards(deps);
    const onFeb28 = await birthdayEntries(shop.merchant.id);
    expect(onFeb28).toContainEqual([`birthday:${feb28.customerId}:2028`, feb28.subscriptionId]);
    expect(onFeb28.map(([source]) => source)).not.toContain(`birthday:${leapDay.customerId}:2028`);

    clock.set('2028-02-29T17:00:00Z');
    await grantYearlyRewards(deps);
    await grantYearlyRewards(deps);
    expect(await birthdayEntries(shop.merchant.id)).toEqual([...onFeb28, [`birthday:${leapDay.customerId}:2028`, leapDay.subscriptionId]].sort());
  });
});
