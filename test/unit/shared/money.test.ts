import { formatMoney, minorDigits, toDecimalString } from '../../../src/shared/money';

describe('money formatting', () => {
  test.each([
    [2400, 'USD', '24.00'],
    [5, 'USD', '0.05'],
    [-5, 'USD', '-0.05'],
    [0, 'EUR', '0.00'],
    [500, 'JPY', '500'],
    [1234, 'KWD', '1.234'],
    [Number.MAX_SAFE_INTEGER, 'USD', '90071992547409.91'],
  ])('when %i minor units of %s are shown as a decimal, then it reads %s', (amount, currency, expected) => {
    expect(toDecimalString(amount, currency)).toBe(expected);
  });

  test('when a currency is formatted for people, then its own number of decimals is used', () => {
    expect(minorDigits('USD')).toBe(2);
    expect(minorDigits('JPY')).toBe(0);
    expect(formatMoney(2400, 'USD')).toBe('$24.00');
    expect(formatMoney(500, 'JPY')).toBe('¥500');
    expect(formatMoney(123456, 'EUR', 'de-DE')).toBe('1.234,56\u00a0€');
  });

  test('when an amount is not a safe integer, then it is refused', () => {
    expect(() => toDecimalString(12.5, 'USD')).toThrow(RangeError);
    expect(() => toDecimalString(2 ** 53, 'USD')).toThrow(RangeError);
  });
});
