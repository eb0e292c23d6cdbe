import { formatMoney, fromDecimalString, minorDigits, toDecimalString } from '../../../src/shared/money';

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

describe('fromDecimalString', () => {
  test.each([
    ['24', 'USD', 2400],
    ['24.00', 'USD', 2400],
    ['24.5', 'USD', 2450],
    [' 0.05 ', 'USD', 5],
    ['500', 'JPY', 500],
    ['1.234', 'KWD', 1234],
  ])('when %s %s is typed, then it is %i minor units', (text, currency, minor) => {
    expect(fromDecimalString(text, currency)).toBe(minor);
  });
  test.each([
    ['24.005', 'USD'],
    ['5.5', 'JPY'],
    ['-1', 'USD'],
    ['1e3', 'USD'],
    ['12,50', 'EUR'],
    ['', 'USD'],
    ['9999999999999999', 'USD'],
  ])('when %s %s is typed, then it is not an amount', (text, currency) => {
    expect(fromDecimalString(text, currency)).toBeUndefined();
  });
  test('when an amount goes through the decimal string and back, then it is the same', () => {
    for (const [minor, currency] of [
      [2400, 'USD'],
      [5, 'USD'],
      [500, 'JPY'],
      [1234, 'KWD'],
    ] as const) {
      expect(fromDecimalString(toDecimalString(minor, currency), currency)).toBe(minor);
    }
  });
});
