import { cycleAt, type BillingSchedule } from '../../../src/shared/calendar';
import { appliesOn, chooseGiftAddon, gapStartKey, giftAwardId, isDrawn, isWithinGap, shareDraw, topSpenders } from '../../../src/gifts/gift-rules';

const monthly: BillingSchedule = {
  cadence: { interval: 'month', intervalCount: 1 },
  anchorOn: '2026-01-31',
  chargeAt: '09:00',
  timezone: 'America/New_York',
  cutoffDays: 3,
};

describe('gift rules', () => {
  test('when the same box is drawn twice, then the draw is the same, in [0, 100), and differs by seed, subscription and cycle', () => {
    const draw = shareDraw('spring', 'sub_a', '2026-04-01');
    expect(draw).toBe(shareDraw('spring', 'sub_a', '2026-04-01'));
    expect(draw).toBeGreaterThanOrEqual(0);
    expect(draw).toBeLessThan(100);
    expect(
      new Set([draw, shareDraw('autumn', 'sub_a', '2026-04-01'), shareDraw('spring', 'sub_b', '2026-04-01'), shareDraw('spring', 'sub_a', '2026-05-01')]).size,
    ).toBe(4);
  });

  test('when 2000 boxes are drawn into a 30% share, then about 30% are in, 100% takes all and the share grows with the percent', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `sub_${i}`);
    const share = (percent: number) => new Set(ids.filter((id) => isDrawn('seed', percent, id, '2026-04-01')));
    const [thirty, sixty] = [share(30), share(60)];
    expect(thirty.size / ids.length).toBeGreaterThan(0.26);
    expect(thirty.size / ids.length).toBeLessThan(0.34);
    expect(share(100).size).toBe(2000);
    expect([...thirty].every((id) => sixty.has(id))).toBe(true);
  });

  test('when the top 5% of 41 spenders are asked for, then the 3 highest are (ceil), and shoppers without spend never are', () => {
    const ranking = [
      ...Array.from({ length: 41 }, (_, i) => ({ customerId: `cust_${String(i).padStart(2, '0')}`, spendMinor: 10_000 - i * 100 })),
      { customerId: 'cust_refunded', spendMinor: 0 },
    ];
    expect([...topSpenders(ranking, 5)]).toEqual(['cust_00', 'cust_01', 'cust_02']);
    expect(topSpenders(ranking, 100).has('cust_refunded')).toBe(false);
    expect(topSpenders([], 50).size).toBe(0);
  });

  test('when a campaign has dates, then it applies from startsOn through endsOn inclusive, open-ended without endsOn', () => {
    expect(appliesOn({ startsOn: '2026-04-01', endsOn: '2026-04-30' }, '2026-03-31')).toBe(false);
    expect(appliesOn({ startsOn: '2026-04-01', endsOn: '2026-04-30' }, '2026-04-01')).toBe(true);
    expect(appliesOn({ startsOn: '2026-04-01', endsOn: '2026-04-30' }, '2026-04-30')).toBe(true);
    expect(appliesOn({ startsOn: '2026-04-01', endsOn: '2026-04-30' }, '2026-05-01')).toBe(false);
    expect(appliesOn({ startsOn: '2026-04-01' }, '2030-01-01')).toBe(true);
  });

  test('when the gap is 2 cycles on a month-end schedule, then a gift at N blocks N+1 and N+2 but not N+3', () => {
    const gifted = cycleAt(monthly, 1).cycleKey; // 2026-02-28
    expect(gifted).toBe('2026-02-28');
    for (const [index, blocked] of [
      [2, true],
      [3, true],
      [4, false],
    ] as const) {
      const cycle = cycleAt(monthly, index);
      expect(isWithinGap(gifted, gapStartKey(monthly, cycle, 2), cycle)).toBe(blocked);
    }
    // No gap: only the box itself.
    const next = cycleAt(monthly, 2);
    expect(isWithinGap(gifted, gapStartKey(monthly, next, 0), next)).toBe(false);
    // Near the anchor the gap starts at cycle 0.
    expect(gapStartKey(monthly, cycleAt(monthly, 1), 5)).toBe('2026-01-31');
  });

  test("when the gift add-ons are chosen, then it is the first active one in the merchant's order with stock, else the first active", () => {
    const addon = (id: string, status: string, tracked: boolean, onHand: number) => ({ _id: id, status, stock: { tracked, onHand } });
    const addons = [addon('a', 'archived', false, 0), addon('b', 'active', true, 0), addon('c', 'active', true, 4), addon('d', 'active', false, 0)];
    expect(chooseGiftAddon(['a', 'b', 'c', 'd'], addons)?._id).toBe('c');
    expect(chooseGiftAddon(['d', 'c'], addons)?._id).toBe('d');
    expect(chooseGiftAddon(['a', 'b'], addons)?._id).toBe('b');
    expect(chooseGiftAddon(['a', 'x'], addons)).toBeUndefined();
  });

  test('when an award id is derived, then it depends on the box only', () => {
    expect(giftAwardId('sub_a', '2026-04-01')).toBe(giftAwardId('sub_a', '2026-04-01'));
    expect(giftAwardId('sub_a', '2026-04-01')).not.toBe(giftAwardId('sub_a', '2026-05-01'));
    expect(giftAwardId('sub_a', '2026-04-01')).toMatch(/^gaw_[0-9a-z]{20}$/);
  });
});
