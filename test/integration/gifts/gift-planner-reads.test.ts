import { attachSurpriseGifts, simulateGiftPicks } from '../../../src/gifts/gift.service';
import { GiftAwardModel } from '../../../src/gifts/gift-award.model';
import { GiftCampaignModel } from '../../../src/gifts/gift-campaign.model';
import { cycleByKey } from '../../../src/shared/calendar';
import { newId } from '../../../src/shared/ids';
import { BUILDING_STATUSES } from '../../../src/subscriptions/subscription-states';
import { SubscriptionModel, type Subscription } from '../../../src/subscriptions/subscription.model';
import { subscriptionPagesLockingBy } from '../../../src/subscriptions/subscription.queries';
import { BEFORE_APRIL_CUTOFF, createCampaign, giftStore } from '../../factories/gift-store.factory';
import { createMerchant } from '../../factories/merchant.factory';
import { documentsReadWhile } from '../../helpers/analytics-projections';
import { useTestDatabase } from '../../helpers/test-env';

/**
 * The surprise-gift planner reads only the subscriptions whose box may lock in its window, by the renewal
 * check's armed cut-off (or unarmed after a change), a page at a time, and picks as it did when it read the
 * whole store. Subscriptions beyond the first are copies of an API subscription written straight to the
 * database, each with its own id, to keep this file fast.
 */

describe('surprise gifts: the planner reads the boxes locking in its window', () => {
  useTestDatabase();

  async function setUp() {
    const store = await giftStore();
    const original = (await SubscriptionModel.findById(store.shopper.subscription.id).lean())!;
    /** A copy of the API subscription with its own id, shopper and these fields (`renewalDueAt: undefined`: unarmed). */
    const copy = async (fields: Partial<Subscription> = {}): Promise<string> => {
      const { renewalDueAt: _armed, ...rest } = original;
      const _id = newId('sub');
      await SubscriptionModel.create({ ...rest, _id, customerId: newId('cust'), stripe: { customerId: `cus_${newId('x')}` }, ...fields });
      return _id;
    };
    const cutoffOf = (cycleKey: string) => cycleByKey(original.schedule, cycleKey)!.cutoffAt;
    return { ...store, original, copy, cutoffOf };
  }

  const readAll = async (merchantId: string, by: Date, options: { planIds?: string[]; pageSize?: number } = {}) => {
    const pages: string[][] = [];
    for await (const page of subscriptionPagesLockingBy(merchantId, BUILDING_STATUSES, by, options)) pages.push(page.map((s) => s._id));
    return pages;
  };

  test("when boxes are looked for up to an instant, then exactly the store's building subscriptions armed by then or unarmed are read, once each, a page at a time, never another store's", async () => {
    const { clock, original, copy, cutoffOf } = await setUp();
    const by = new Date('2026-03-30T00:00:00Z');
    const april = cutoffOf('2026-04-01');
    await SubscriptionModel.deleteOne({ _id: original._id });
    const due = [
      await copy({ renewalDueAt: new Date('2026-03-20T00:00:00Z') }), // its cut-off came, its box not built yet
      await copy({ renewalDueAt: april }),
      await copy({ renewalDueAt: april }), // the same instant: the keyset goes on by id
      await copy({ renewalDueAt: by }),
      await copy({ status: 'paused', renewalDueAt: april }),
      await copy({ status: 'trialing', renewalDueAt: april }),
      await copy(), // unarmed: changed since the renewal check's last look
      await copy(),
    ];
    const onOtherPlan = await copy({ renewalDueAt: april, box: { ...original.box, planId: 'plan_other' } });
    await copy({ renewalDueAt: new Date(by.getTime() + 1) }); // its next box locks later
    await copy({ renewalDueAt: cutoffOf('2026-05-01') });
    await copy({ status: 'past_due', renewalDueAt: april }); // not built on schedule
    await copy({ status: 'cancelled' });
    const elsewhere = await createMerchant({ timezone: 'America/New_York' }, clock);
    await copy({ merchantId: elsewhere.id, renewalDueAt: april });
    await copy({ merchantId: elsewhere.id });

    const all = [...due, onOtherPlan].sort();
    for (const pageSize of [1, 2, 3, 500]) {
      const pages = await readAll(original.merchantId, by, { pageSize });
      expect(pages.every((page) => page.length >= 1 && page.length <= pageSize)).toBe(true);
      const ids = pages.flat();
      expect(ids).toHaveLength(new Set(ids).size);
      expect([...ids].sort()).toEqual(all);
    }
    expect((await readAll(original.merchantId, by, { planIds: [original.box.planId] })).flat().sort()).toEqual([...due].sort());
    expect((await readAll(elsewhere.id, by)).flat()).toHaveLength(2);
    expect(await readAll(original.merchantId, new Date('2026-03-01T00:00:00Z'))).toEqual([due.slice(6).sort()]);
  });

  test('when a subscription is re-armed between two pages, then it is read once', async () => {
    const { original, copy, cutoffOf } = await setUp();
    const april = cutoffOf('2026-04-01');
    await SubscriptionModel.updateOne({ _id: original._id }, { $set: { renewalDueAt: april } });
    await copy({ renewalDueAt: april });
    await copy();
    const ids: string[] = [];
    for await (const page of subscriptionPagesLockingBy(original.merchantId, BUILDING_STATUSES, new Date('2026-03-30T00:00:00Z'), { pageSize: 1 })) {
      // A change of the subscription just read unarms its renewal check: the unarmed pass meets it again.
      if (ids.length === 0) await SubscriptionModel.updateOne({ _id: page[0]!._id }, { $unset: { renewalDueAt: 1 } });
      ids.push(...page.map((s) => s._id));
    }
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  });

  test('when a subscription is armed or unarmed while the run pages, then it is still read, once', async () => {
    const { original, copy, cutoffOf } = await setUp();
    const april = cutoffOf('2026-04-01');
    const by = new Date('2026-03-30T00:00:00Z');
    await SubscriptionModel.deleteOne({ _id: original._id });
    const unarmed = [await copy(), await copy()].sort();
    const armed = [await copy({ renewalDueAt: new Date('2026-03-20T00:00:00Z') }), await copy({ renewalDueAt: april })];
    const ids: string[] = [];
    for await (const page of subscriptionPagesLockingBy(original.merchantId, BUILDING_STATUSES, by, { pageSize: 1 })) {
      const id = page[0]!._id;
      // The renewal job arms the other unarmed one (its April cut-off) while the run reads the first; a change
      // unarms the later armed one while the run reads the earlier.
      if (id === unarmed[0]) await SubscriptionModel.updateOne({ _id: unarmed[1] }, { $set: { renewalDueAt: april } });
      if (id === armed[0]) await SubscriptionModel.updateOne({ _id: armed[1] }, { $unset: { renewalDueAt: 1 } });
      ids.push(...page.map((s) => s._id));
    }
    expect([...ids].sort()).toEqual([...unarmed, ...armed].sort());
  });

  test('when most of the store locks later, then the planner reads only the boxes locking in its window and the job gifts exactly those, earliest cut-off first', async () => {
    const setup = await setUp();
    const { clock, merchant, original, copy, cutoffOf, deps } = setup;
    const april = cutoffOf('2026-04-01');
    const may = cutoffOf('2026-05-01');
    // Locking in the window: armed at the April cut-off, or unarmed (the API subscription is, after its change).
    await SubscriptionModel.updateOne({ _id: original._id }, { $unset: { renewalDueAt: 1 } });
    const locking = [original._id, await copy({ renewalDueAt: april }), await copy({ renewalDueAt: april }), await copy({ renewalDueAt: april }), await copy()];
    // April skipped: the next box is May's, and the renewal check is armed at its cut-off.
    for (let i = 0; i < 6; i += 1) await copy({ skippedCycleKeys: ['2026-04-01'], renewalDueAt: may });
    const created = await createCampaign(setup, { stockBudget: 4 });
    const campaign = (await GiftCampaignModel.findById(created.id).lean())!;
    clock.set(BEFORE_APRIL_CUTOFF);
    const now = clock.now();

    let plan: Awaited<ReturnType<typeof simulateGiftPicks>> | undefined;
    const read = await documentsReadWhile(async () => {
      plan = await simulateGiftPicks(campaign, now, new Date(now.getTime() + campaign.leadHours * 3_600_000));
    });
    expect(read.subscriptions).toBe(7); // 5 of the store's 11: the 2 unarmed ones are read on both sides of the armed ones
    expect(plan!.eligible).toBe(5);
    const first4 = [...locking].sort().slice(0, 4);
    expect(plan!.picks.map((pick) => [pick.subscriptionId, pick.cycle.cycleKey])).toEqual(first4.map((id) => [id, '2026-04-01']));

    expect((await attachSurpriseGifts(deps, { merchantId: merchant.id })).granted).toBe(4);
    expect((await GiftAwardModel.find({ campaignId: campaign._id }).lean()).map((award) => award.subscriptionId).sort()).toEqual(first4);
    expect((await attachSurpriseGifts(deps, { merchantId: merchant.id })).granted).toBe(0);
  });
});
