import { FACT_TYPES } from '../../../src/events/fact-types';
import { describeFact, readableDate, SECRET_FACTS, whoDid } from '../../../src/web/shop/fact-wording';

/**
 * Every fact a shopper can meet on a receipt or their activity page reads as a sentence about their box, with
 * dates written for people (never `2026-05-18`), amounts in their currency, and nothing internal (ids).
 */

/** Data as each fact is recorded (the fields its service writes), with ids and dates that must not show. */
const SAMPLES: Record<(typeof FACT_TYPES)[number], Record<string, unknown>> = {
  'subscription.created': {
    planId: 'plan_1',
    variantId: 'var_1',
    cadence: 'month-1',
    priceMinor: 2600,
    currency: 'USD',
    status: 'incomplete',
    via: 'checkout',
  },
  'subscription.activated': { via: 'checkout', from: 'incomplete', to: 'active', stripeSubscriptionId: 'sub_stripe1' },
  'subscription.skipped': { cycleKey: '2026-05-18' },
  'subscription.unskipped': { cycleKey: '2026-05-18' },
  'subscription.paused': { startsOn: '2026-05-18', resumeOn: '2026-07-18', cycles: 2 },
  'subscription.resumed': { automatic: false },
  'subscription.swapped': { from: { variantId: 'var_1' }, to: { variantId: 'var_2' }, effectiveCycleKey: '2026-05-18' },
  'subscription.swap_applied': { effectiveCycleKey: '2026-05-18', box: { variantId: 'var_2' } },
  'subscription.cadence_changed': { from: 'month-1', to: 'week-2', fromCycleKey: '2026-05-18', fromPriceId: 'price_1', toPriceId: 'price_2' },
  'subscription.charge_date_changed': { from: '2026-05-18', to: '2026-05-21' },
  'subscription.addon_added': { lineId: 'sadd_1', addonId: 'addon_1', quantity: 1, kind: 'one_time', cycleKey: '2026-05-18' },
  'subscription.addon_removed': { addonId: 'addon_1', lineId: 'sadd_1' },
  'subscription.box_address_set': {
    cycleKey: '2026-05-18',
    address: { line1: '2 New St', city: 'Salem', postalCode: '97301', country: 'US' },
    from: null,
  },
  'subscription.second_choice_set': { variantId: 'var_3' },
  'subscription.save_offer_accepted': { type: 'discount', percentOff: 20, cycleKey: '2026-05-18' },
  'subscription.save_offer_shown': { type: 'discount', reason: 'too_expensive' },
  'subscription.promo_code_applied': {
    promoCodeId: 'promo_1',
    code: 'WELCOME10',
    description: '10% off',
    percentOff: 10,
    duration: 'once',
    fromCycleKey: '2026-05-18',
    untilCycleKey: null,
  },
  'subscription.price_migrated': { fromPriceId: 'price_1', toPriceId: 'price_2', effectiveCycleKey: '2026-05-18' },
  'subscription.cancellation_scheduled': { reason: 'too_expensive', mode: 'period_end', effectiveAt: '2026-05-18T14:00:00.000Z', from: 'active' },
  'subscription.cancelled': { reason: 'too_expensive', mode: 'now', effectiveAt: '2026-05-18T14:00:00.000Z', from: 'active' },
  'subscription.reactivated': { reason: 'too_expensive' },
  'subscription.payment_failed': { stripeInvoiceId: 'in_1', attempt: 2, startsDunning: false },
  'subscription.recovered': { by: 'payment', stripeInvoiceId: 'in_1', cycleKey: '2026-05-18', amountPaidMinor: 2600, attempts: 2 },
  'subscription.dunning_ended': { outcome: 'cancel', stripeStatus: 'unpaid', stripeInvoiceId: 'in_1' },
  'subscription.box_skipped': { cycleKey: '2026-05-18', reason: 'out_of_stock' },
  'subscription.status_synced': { from: 'active', to: 'past_due', stripeStatus: 'past_due' },
  'box.reserved': { cycleKey: '2026-05-18', shipOn: '2026-05-18', amountDueMinor: 2600, currency: 'USD', lines: [] },
  'box.adjusted': { cycleKey: '2026-05-18', shipOn: '2026-05-18', substituted: [], omitted: [] },
  'box.back_ordered': { cycleKey: '2026-05-18', shipOn: '2026-05-18', short: [] },
  'box.paid': { cycleKey: '2026-05-18', shipOn: '2026-05-18', stripeInvoiceId: 'in_1', amountPaidMinor: 2600, currency: 'USD', from: 'reserved' },
  'box.held': { cycleKey: '2026-05-18', stripeInvoiceId: 'in_1', attempt: 1 },
  'box.packed': { cycleKey: '2026-05-18', shipOn: '2026-05-18', from: 'paid' },
  'box.shipped': { cycleKey: '2026-05-18', shipOn: '2026-05-18', from: 'packed', carrier: 'USPS', trackingNumber: '9400', trackingUrl: null },
  'box.delivered': { cycleKey: '2026-05-18', shipOn: '2026-05-18', from: 'shipped' },
  'box.rated': { cycleKey: '2026-05-18', score: 4, hasComment: true, rerated: false },
  'box.cancelled': { cycleKey: '2026-05-18', shipOn: '2026-05-18', reason: 'out_of_stock', from: 'reserved', paid: false, description: 'Coffee' },
  'box.refunded': { cycleKey: '2026-05-18', from: 'paid', amountRefundedMinor: 2600, currency: 'USD' },
  'box.payment_refunded': { cycleKey: '2026-05-18', stripeChargeId: 'ch_1', amountRefundedMinor: 500, increaseMinor: 500, currency: 'USD', full: false },
  'box.charged_after_cancel': { cycleKey: '2026-05-18', stripeInvoiceId: 'in_1', amountPaidMinor: 2600, currency: 'USD' },
  'loyalty.tier_changed': { from: null, to: 'gold', direction: 'promoted', tier: 'Gold', reason: 'Reached Gold' },
  'loyalty.points_expiring': { points: 1200, expiresAt: '2026-05-18T14:00:00.000Z', expiresOn: '2026-05-18' },
  'loyalty.points_redeemed': { points: 200, creditMinor: 1000, currency: 'USD' },
  'loyalty.points_adjusted': { points: -50, reason: 'Returned a damaged box' },
  'referral.attributed': { code: 'ABCDEFGH', referrerCustomerId: 'cust_1', friendCustomerId: 'cust_2', friendSubscriptionId: 'sub_1' },
  'referral.held': { code: 'ABCDEFGH', reasons: ['same_shipping_address'] },
  'referral.approved': { code: 'ABCDEFGH', note: null },
  'referral.rejected': { code: 'ABCDEFGH', note: 'same household' },
  'referral.rewarded': { code: 'ABCDEFGH', reward: { type: 'points', points: 500 } },
  'gift.granted': { campaignId: 'gc_1', cycleKey: '2026-05-18', addonId: 'addon_9', description: 'A tin of biscuits' },
  'gift.delivered': {
    campaignId: 'gc_1',
    cycleKey: '2026-05-18',
    orderId: 'ord_1',
    shipOn: '2026-05-18',
    description: 'A tin of biscuits',
    boxStatus: 'delivered',
  },
  'gift.returned': { campaignId: 'gc_1', cycleKey: '2026-05-18', reason: 'out_of_stock', orderId: null },
  'customer.address_changed': { from: { line1: '1 Old St' }, to: { line1: '2 New St' } },
  'make_good.given': {
    makeGoodId: 'mkg_1',
    subject: 'Sorry about your March box',
    body: 'The beans were stale.',
    gift: { type: 'credit', creditMinor: 500, currency: 'USD' },
    boxes: 1,
  },
  'reward.granted': { occasion: 'birthday', offerId: 'offer_1', offerName: 'Birthday', reason: 'birthday', reward: { type: 'points', points: 300 } },
};

describe('describeFact', () => {
  test.each([...FACT_TYPES])('when a %s fact is shown to the shopper, then it reads as words: no raw dates, ids or internal names', (type) => {
    const words = describeFact(type, SAMPLES[type], { locale: 'en-US', timezone: 'America/New_York' });
    expect(words).not.toBe('a change');
    expect(words).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    expect(words).not.toMatch(/\b(sub|cust|var|price|plan|addon|sadd|ord|gc|in|ch)_[0-9a-z]/);
    expect(words).not.toMatch(/undefined|null|NaN|\[object/);
    expect(words).toMatch(/^[a-z0-9$]/); // a fragment: it follows "Done: "
  });

  test('when facts carry dates and amounts, then they are written for people in the shopper’s locale and the store’s zone', () => {
    const us = { locale: 'en-US', timezone: 'America/New_York' };
    expect(describeFact('subscription.skipped', { cycleKey: '2026-05-18' }, us)).toBe('the box of May 18, 2026 was skipped');
    expect(describeFact('subscription.skipped', { cycleKey: '2026-05-18' }, { locale: 'fr-FR', timezone: 'Europe/Paris' })).toBe(
      'the box of 18 mai 2026 was skipped',
    );
    // An instant is the store's day: 02:00 UTC on the 19th is still the 18th in New York.
    expect(describeFact('subscription.cancellation_scheduled', { effectiveAt: '2026-05-19T02:00:00.000Z' }, us)).toBe(
      'the subscription was set to end on May 18, 2026',
    );
    expect(describeFact('box.paid', { cycleKey: '2026-05-18', amountPaidMinor: 2600, currency: 'USD' }, us)).toBe('your box of May 18, 2026 was paid ($26.00)');
    expect(describeFact('box.paid', { cycleKey: '2026-05-18', amountPaidMinor: 2600, currency: 'EUR' }, { locale: 'de-DE' })).toBe(
      'your box of 18. Mai 2026 was paid (26,00\u00a0€)',
    );
    expect(describeFact('subscription.cadence_changed', { from: 'month-1', to: 'week-2' }, us)).toBe(
      'how often boxes come was changed from every month to every 2 weeks',
    );
    expect(describeFact('subscription.paused', { startsOn: '2026-05-18', resumeOn: '2026-07-18' }, us)).toBe(
      'the subscription was paused from May 18, 2026; it resumes with the box of July 18, 2026',
    );
    expect(describeFact('loyalty.points_redeemed', { points: 1200, creditMinor: 6000, currency: 'USD' }, us)).toBe(
      '1,200 points were turned into $60.00 of credit for the coming boxes',
    );
    expect(describeFact('box.rated', { cycleKey: '2026-05-18', score: 4 }, us)).toBe('your box of May 18, 2026 was rated 4/5');
  });

  test('when a fact was recorded before a field existed, or is unknown, then it still reads without blanks', () => {
    expect(describeFact('subscription.skipped', {})).toBe('a box was skipped');
    expect(describeFact('subscription.charge_date_changed', { from: 'soon' })).toBe('the charge date was moved from its date to another date');
    expect(describeFact('box.paid', { amountPaidMinor: 1.5, currency: 'USD' })).toBe('your box was paid');
    expect(describeFact('something.else', {})).toBe('a change');
    // Without a locale and zone: English, and instants in UTC.
    expect(describeFact('subscription.cancellation_scheduled', { effectiveAt: '2026-05-19T02:00:00.000Z' })).toBe(
      'the subscription was set to end on May 19, 2026',
    );
  });

  test('when a surprise gift is set aside, then its fact does not name the gift, and the activity page leaves such facts out', () => {
    expect(describeFact('gift.granted', SAMPLES['gift.granted'])).not.toContain('biscuits');
    expect(describeFact('gift.delivered', SAMPLES['gift.delivered'])).toContain('A tin of biscuits');
    expect(SECRET_FACTS).toEqual(['gift.granted', 'gift.returned']);
  });
});

describe('whoDid', () => {
  test('when the shopper looks at their own timeline, then the actor is "You", the store, Stripe or the system', () => {
    expect(whoDid({ kind: 'shopper', id: 'cust_1' }, 'cust_1')).toBe('You');
    expect(whoDid({ kind: 'merchant', id: 'key_1' }, 'cust_1')).toBe('The store');
    expect(whoDid({ kind: 'stripe', id: 'evt_1' }, 'cust_1')).toBe('Stripe (payments)');
    expect(whoDid({ kind: 'job', id: 'renewals.prepare-boxes' }, 'cust_1')).toBe('The system');
    expect(whoDid({ kind: 'system' }, 'cust_1')).toBe('The system');
  });
});

describe('readableDate', () => {
  test('when a value is not a date, then there is nothing to write', () => {
    expect(readableDate('soon', 'en-US', 'UTC')).toBeUndefined();
    expect(readableDate(42, 'en-US', 'UTC')).toBeUndefined();
    expect(readableDate('2026-05-18', 'not a locale!', 'Nowhere/Zone')).toBe('May 18, 2026');
  });
});
