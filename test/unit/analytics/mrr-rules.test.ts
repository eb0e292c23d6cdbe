import { contribution, discountedBox, monthlyAmount, movementOf, rate, recurrenceOf, signed } from '../../../src/analytics/mrr-rules';
import { parseRebuildArgs } from '../../../src/analytics-rebuild';

describe('MRR rules', () => {
  test.each([
    ['month-1', 2600, 2600],
    ['month-2', 2600, 1300],
    ['month-3', 1000, 333], // 333.33
    ['week-1', 700, 3000],
    ['week-2', 2400, 5143], // 5142.86
    ['week-2', 1500, 3214], // 3214.29
    ['week-4', 2800, 3000],
  ])('when a box of %s costs %i, then it counts %i per 30 days', (cadence, price, monthly) => {
    expect(monthlyAmount(price, recurrenceOf(cadence)!)).toBe(monthly);
  });

  test('when a cadence key is not one of ours, then it has no recurrence', () => {
    expect([recurrenceOf('year-1'), recurrenceOf('month-0'), recurrenceOf('month')]).toEqual([undefined, undefined, undefined]);
  });

  test('when a lasting discount applies, then it comes off the box (a percentage rounded half up, never below zero)', () => {
    expect(discountedBox(2600, undefined)).toBe(2600);
    expect(discountedBox(2600, { percentOff: 15 })).toBe(2210);
    expect(discountedBox(2599, { percentOff: 10 })).toBe(2339); // 259.9 → 260 off
    expect(discountedBox(2600, { amountOffMinor: 500 })).toBe(2100);
    expect(discountedBox(400, { amountOffMinor: 500 })).toBe(0);
  });

  test('when a subscription is not billed, then it contributes nothing; past due keeps its MRR only once billed', () => {
    expect(['incomplete', 'trialing', 'active', 'paused', 'past_due', 'cancelled'].map((s) => contribution(2600, s as never, true))).toEqual([
      0, 0, 2600, 0, 2600, 0,
    ]);
    expect(contribution(2600, 'past_due', false)).toBe(0);
  });

  const move = (before: [number, string, boolean], after: [number, string], returning = false) =>
    movementOf({
      before: { mrr: before[0], status: before[1] as never, billedBefore: before[2] },
      after: { mrr: after[0], status: after[1] as never },
      returningCustomer: returning,
    });

  test('when MRR changes, then the movement is ChartMogul’s kind, with pauses kept apart from churn', () => {
    expect(move([0, 'incomplete', false], [2600, 'active'])).toEqual({ kind: 'new', amountMinor: 2600 });
    expect(move([0, 'trialing', false], [2600, 'active'])).toEqual({ kind: 'new', amountMinor: 2600 });
    expect(move([0, 'incomplete', false], [2600, 'active'], true)).toEqual({ kind: 'reactivation', amountMinor: 2600 });
    expect(move([0, 'paused', true], [2600, 'active'])).toEqual({ kind: 'resumed', amountMinor: 2600 });
    expect(move([2600, 'active', true], [4000, 'active'])).toEqual({ kind: 'expansion', amountMinor: 1400 });
    expect(move([4000, 'active', true], [2600, 'active'])).toEqual({ kind: 'contraction', amountMinor: 1400 });
    expect(move([2600, 'active', true], [0, 'paused'])).toEqual({ kind: 'paused', amountMinor: 2600 });
    expect(move([2600, 'past_due', true], [0, 'cancelled'])).toEqual({ kind: 'churn', amountMinor: 2600 });
    expect(move([2600, 'active', true], [2600, 'past_due'])).toBeNull();
    expect(move([0, 'paused', true], [0, 'cancelled'])).toBeNull(); // its MRR already left when it paused
    expect(move([0, 'trialing', false], [0, 'cancelled'])).toBeNull();
  });

  test('when movements are summed, then the outgoing kinds subtract', () => {
    expect(['new', 'expansion', 'contraction', 'churn', 'reactivation', 'paused', 'resumed'].map((k) => signed(k as never, 10))).toEqual([
      10, 10, -10, -10, 10, -10, 10,
    ]);
  });

  test('when a rate has nothing to divide by, then it is null; otherwise a fraction to 4 places', () => {
    expect([rate(1, 0), rate(0, 5), rate(6543, 14343), rate(1, 3)]).toEqual([null, 0, 0.4562, 0.3333]);
  });
});

describe('npm run analytics:rebuild arguments', () => {
  test('when given nothing or one store, then it rebuilds every store or that one; anything else is refused', () => {
    expect(parseRebuildArgs([])).toEqual({});
    expect(parseRebuildArgs(['--merchant', 'mer_0123456789abcdefghij'])).toEqual({ merchantId: 'mer_0123456789abcdefghij' });
    expect(parseRebuildArgs(['--merchant'])).toHaveProperty('error');
    expect(parseRebuildArgs(['--merchant', 'plan_0123456789abcdefghij'])).toHaveProperty('error');
    expect(parseRebuildArgs(['--all'])).toHaveProperty('error');
  });
});
