import { cycleAt, type BillingSchedule } from '../../../src/shared/calendar';
import { beatsFirstBoxOffer, promoCodeDiscount, promoCodeDiscountFor, promoCodeOff, runningPromoCode } from '../../../src/subscriptions/subscription-discounts';
import type { PromoCodeTerms } from '../../../src/subscriptions/subscription-deps';

/** Every two weeks on Mondays at 09:00 in New York, from Mar 2, 2026, locking 3 days before. */
const schedule: BillingSchedule = {
  cadence: { interval: 'week', intervalCount: 2 },
  anchorOn: '2026-03-02',
  chargeAt: '09:00',
  timezone: 'America/New_York',
  cutoffDays: 3,
};

function buildTerms(overrides: Partial<PromoCodeTerms> = {}): PromoCodeTerms {
  return {
    promoCodeId: 'pcode_1',
    code: 'SPRING',
    description: 'Spring',
    percentOff: 10,
    duration: 'once',
    stripeCouponId: 'co_1',
    stripePromotionCodeId: 'promo_1',
    ...overrides,
  };
}

const now = new Date('2026-03-01T00:00:00Z');

describe('promo code discounts', () => {
  test('when a code lasts N boxes, then it covers N dates of the calendar from its first box; once covers one; forever has no end', () => {
    const from = cycleAt(schedule, 1);
    expect(promoCodeDiscount('sub_1', buildTerms({ duration: 'repeating', boxes: 3 }), schedule, from, { winsFirstBox: false, now })).toMatchObject({
      cycleKey: '2026-03-16',
      untilCycleKey: '2026-04-13',
    });
    expect(promoCodeDiscount('sub_1', buildTerms(), schedule, from, { winsFirstBox: false, now })).toMatchObject({
      cycleKey: '2026-03-16',
      untilCycleKey: '2026-03-16',
    });
    const forever = promoCodeDiscount('sub_1', buildTerms({ duration: 'forever' }), schedule, from, { winsFirstBox: false, now });
    expect(forever.untilCycleKey).toBeUndefined();
    // One per code and subscription.
    expect(forever._id).toBe(promoCodeDiscount('sub_1', buildTerms(), schedule, from, { winsFirstBox: true, now })._id);
  });

  test('when a box is looked at, then the code discounts the boxes it covers; on the first box only if it won it', () => {
    const discount = promoCodeDiscount('sub_1', buildTerms({ duration: 'repeating', boxes: 2 }), schedule, cycleAt(schedule, 0), { winsFirstBox: false, now });
    const subscription = { firstChargeKey: '2026-03-02', discounts: [discount] };
    expect(promoCodeDiscountFor(subscription, '2026-03-02')).toBeUndefined();
    expect(promoCodeDiscountFor(subscription, '2026-03-16')).toBe(discount);
    expect(promoCodeDiscountFor(subscription, '2026-03-30')).toBeUndefined();
    expect(promoCodeDiscountFor({ ...subscription, discounts: [{ ...discount, winsFirstBox: true }] }, '2026-03-02')).toBeDefined();
    // Running while its last box is open; not after.
    expect(runningPromoCode(subscription, cycleAt(schedule, 1))).toBe(discount);
    expect(runningPromoCode(subscription, cycleAt(schedule, 2))).toBeUndefined();
  });

  test('when a code is worth its amount, then it never takes more than the box, and nothing in another currency', () => {
    expect(promoCodeOff({ percentOff: 15 }, 2599, 'USD')).toBe(389); // rounded down
    expect(promoCodeOff({ amountOffMinor: 1000, currency: 'USD' }, 2600, 'USD')).toBe(1000);
    expect(promoCodeOff({ amountOffMinor: 5000, currency: 'USD' }, 2600, 'USD')).toBe(2600);
    expect(promoCodeOff({ amountOffMinor: 1000, currency: 'EUR' }, 2600, 'USD')).toBe(0);
    expect(promoCodeOff({ percentOff: 100 }, 0, 'USD')).toBe(0);
  });

  test('when a code meets a first-box offer, then the one worth more on the plan price wins, and a tie keeps the offer', () => {
    const plan = { source: 'plan' as const, description: 'First box discount', percentOff: 20 };
    expect(beatsFirstBoxOffer({ percentOff: 25 }, plan, 2600)).toBe(true);
    expect(beatsFirstBoxOffer({ percentOff: 20 }, plan, 2600)).toBe(false);
    expect(beatsFirstBoxOffer({ amountOffMinor: 600 }, plan, 2600)).toBe(true); // $6.00 > $5.20
    expect(beatsFirstBoxOffer({ amountOffMinor: 500 }, plan, 2600)).toBe(false);
    expect(beatsFirstBoxOffer({ percentOff: 1 }, undefined, 2600)).toBe(true);
  });
});
