import request from 'supertest';
import { CustomerModel } from '../../../src/customers/customer.model';
import { customersWithBirthdayOn } from '../../../src/customers/customer.queries';
import { backfillBirthdayMonthDays } from '../../../src/customers/customer.service';
import { FakeClock } from '../../../src/shared/time';
import { buildCustomerInput } from '../../factories/catalog.factory';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * The month-day of a shopper's birthday (`birthdayMonthDay`, `MM-DD`), which the birthday rewards look shoppers
 * up by: written by the customers service with the birthday, and given to customers saved before it existed by
 * the idempotent backfill (`npm run customers:backfill-birthdays`).
 */
describe('customers: the birthday month-day', () => {
  useTestDatabase();

  async function setUp() {
    const clock = new FakeClock('2026-05-01T12:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const other = await createMerchant({}, clock);
    const create = async (who: TestMerchant, birthday?: string) =>
      (
        await request(app)
          .post('/api/v1/customers')
          .set(who.auth)
          .send(buildCustomerInput(birthday ? { birthday } : {}))
          .expect(201)
      ).body.id as string;
    const stored = async (id: string) => (await CustomerModel.findById(id, { birthday: 1, birthdayMonthDay: 1 }).lean())!;
    return { app, merchant, other, create, stored };
  }

  const found = async (merchantId: string, monthDays: string[], pageSize?: number) => {
    const ids: string[] = [];
    for await (const page of customersWithBirthdayOn(merchantId, monthDays, pageSize)) ids.push(...page.map((customer) => customer.customerId));
    return ids;
  };

  test('when a birthday is given, changed or removed, then its month-day is written, changed or removed in the same write', async () => {
    const { app, merchant, create, stored } = await setUp();
    const withYear = await create(merchant, '1990-07-04');
    const withoutYear = await create(merchant, '02-29');
    const none = await create(merchant);

    expect(await stored(withYear)).toMatchObject({ birthday: '1990-07-04', birthdayMonthDay: '07-04' });
    expect(await stored(withoutYear)).toMatchObject({ birthday: '02-29', birthdayMonthDay: '02-29' });
    expect((await stored(none)).birthdayMonthDay).toBeUndefined();

    await request(app).patch(`/api/v1/customers/${withYear}`).set(merchant.auth).send({ birthday: '12-25' }).expect(200);
    expect(await stored(withYear)).toMatchObject({ birthday: '12-25', birthdayMonthDay: '12-25' });
    await request(app).patch(`/api/v1/customers/${none}`).set(merchant.auth).send({ birthday: '1984-01-31' }).expect(200);
    expect(await stored(none)).toMatchObject({ birthday: '1984-01-31', birthdayMonthDay: '01-31' });
    await request(app).patch(`/api/v1/customers/${withoutYear}`).set(merchant.auth).send({ birthday: null }).expect(200);
    const removed = await stored(withoutYear);
    expect([removed.birthday, removed.birthdayMonthDay]).toEqual([undefined, undefined]);
  });

  test("when shoppers are looked up by month-days, then exactly this store's shoppers born on them are read, a page at a time, never another store's", async () => {
    const { merchant, other, create } = await setUp();
    const leapDay = await create(merchant, '02-29');
    const feb28 = await create(merchant, '2000-02-28');
    const mar1 = await create(merchant, '03-01');
    const dec31 = await create(merchant, '1975-12-31');
    await create(merchant, '06-15');
    await create(merchant);
    await create(other, '02-29');
    await create(other, '12-31');

    const sorted = (ids: string[]) => [...ids].sort();
    expect(await found(merchant.id, ['02-28', '02-29', '03-01'])).toEqual(sorted([leapDay, feb28, mar1]));
    expect(await found(merchant.id, ['12-31', '01-01'])).toEqual([dec31]);
    expect(await found(merchant.id, ['04-01'])).toEqual([]);
    expect(await found(merchant.id, [])).toEqual([]);
    // Paged by id: the same shoppers, each once, whatever the page size.
    expect(await found(merchant.id, ['02-28', '02-29', '03-01', '12-31'], 1)).toEqual(sorted([leapDay, feb28, mar1, dec31]));
    expect(await found(merchant.id, ['02-28', '02-29', '03-01', '12-31'], 2)).toEqual(sorted([leapDay, feb28, mar1, dec31]));
  });

  test('when customers were saved before the month-day existed, then the backfill gives it to each of every store once, and a second run writes nothing', async () => {
    const { merchant, other, create, stored } = await setUp();
    const ids = [await create(merchant, '1990-07-04'), await create(merchant, '02-29'), await create(other, '11-30'), await create(merchant, '01-15')];
    const none = await create(merchant);
    // As saved before the field existed.
    await CustomerModel.updateMany({ _id: { $in: ids.slice(0, 3) } }, { $unset: { birthdayMonthDay: 1 } });
    expect(await found(merchant.id, ['07-04', '02-29'])).toEqual([]);

    // Every customer with a birthday in the database is looked at (this file's other tests' too); only the three are written.
    const first = await backfillBirthdayMonthDays({ batchSize: 2 });
    expect(first.written).toBe(3);
    expect(first.examined).toBeGreaterThanOrEqual(4);

    expect((await Promise.all(ids.map(stored))).map((customer) => customer.birthdayMonthDay)).toEqual(['07-04', '02-29', '11-30', '01-15']);
    expect((await stored(none)).birthdayMonthDay).toBeUndefined();
    expect(await found(merchant.id, ['07-04', '02-29'])).toEqual([ids[0], ids[1]].sort());
    expect(await found(other.id, ['11-30'])).toEqual([ids[2]]);
    expect(await backfillBirthdayMonthDays({ batchSize: 2 })).toEqual({ examined: first.examined, written: 0 });
  });
});
