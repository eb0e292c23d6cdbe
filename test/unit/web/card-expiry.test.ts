import { brandName, cardExpiry } from '../../../src/web/shop/payment.pages';

/** How the Payment page words a card's expiry: a card works to the end of its expiry month, in the store's calendar. */
describe("a card's expiry, in words", () => {
  test.each([
    ['when it ended last month, then it has expired', { expMonth: 4, expYear: 2026 }, '2026-05-01', null, 'expired', 'April 2026'],
    ['when it ended last year, then it has expired', { expMonth: 12, expYear: 2025 }, '2026-01-31', null, 'expired', 'December 2025'],
    ['when it ends this month, then it expires soon (it still works today)', { expMonth: 5, expYear: 2026 }, '2026-05-31', null, 'soon', 'May 2026'],
    ['when it ends next month, across a year, then it expires soon', { expMonth: 1, expYear: 2027 }, '2026-12-15', null, 'soon', 'January 2027'],
    ['when it ends in two months, then it is fine', { expMonth: 7, expYear: 2026 }, '2026-05-04', null, 'ok', 'July 2026'],
    ['when it ends before the next charge, then it expires soon', { expMonth: 7, expYear: 2026 }, '2026-05-04', '2026-08-01', 'soon', 'July 2026'],
    ['when the next charge is in its last month, then it is fine', { expMonth: 7, expYear: 2026 }, '2026-05-04', '2026-07-31', 'ok', 'July 2026'],
  ] as const)('%s', (_name, card, today, chargeOn, state, expires) => {
    expect(cardExpiry(card, today, chargeOn, 'en-US')).toEqual({ state, expires });
  });

  test('when the shopper reads another language, then the month is written in it', () => {
    expect(cardExpiry({ expMonth: 3, expYear: 2030 }, '2026-05-04', null, 'de-DE').expires).toBe('März 2030');
  });

  test('when a brand is known, then it reads as people write it; an unknown one is capitalised', () => {
    expect([brandName('visa'), brandName('amex'), brandName('mastercard'), brandName('link_card')]).toEqual([
      'Visa',
      'American Express',
      'Mastercard',
      'Link card',
    ]);
  });
});
