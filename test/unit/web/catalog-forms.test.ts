import { minorUnitsOf, readStockForm } from '../../../src/web/merchant/catalog-forms';

describe('the catalog forms’ money and stock fields', () => {
  test.each([
    ['24.00', 'USD', 2400],
    ['24', 'USD', 2400],
    ['24.5', 'USD', 2450],
    [' 0.05 ', 'EUR', 5],
    ['500', 'JPY', 500],
    ['1.234', 'KWD', 1234],
    ['99999999.99', 'USD', 9_999_999_999],
  ])('when a merchant types %s in %s, then it is %d minor units', (typed, currency, minor) => {
    expect(minorUnitsOf(typed, currency)).toEqual({ ok: true, value: minor });
  });

  test.each([
    ['', 'USD', 'Type a price'],
    ['24,00', 'USD', 'Type an amount such as 24.00'],
    ['24.001', 'USD', 'Type an amount such as 24.00'],
    ['-1', 'USD', 'Type an amount such as 24.00'],
    ['1e3', 'USD', 'Type an amount such as 24.00'],
    ['500.5', 'JPY', 'Type a whole amount, such as 500 (JPY has no smaller unit)'],
    ['99999999999', 'USD', 'This amount is too large'],
    ['100000000.00', 'USD', 'This amount is too large'],
  ])('when a merchant types %j in %s, then it is refused with words to fix it', (typed, currency, error) => {
    expect(minorUnitsOf(typed, currency)).toEqual({ ok: false, error });
  });

  test('when a stock adjustment is zero, a fraction or has no reason, then each is refused beside its field; a signed whole number passes', () => {
    expect(readStockForm({ adjustBy: '-3', reason: 'damaged' })).toMatchObject({ ok: true, body: { adjustBy: -3, reason: 'damaged' } });
    expect(readStockForm({ adjustBy: '0', reason: 'x' })).toMatchObject({ ok: false, errors: { adjustBy: 'Must not be zero' } });
    expect(readStockForm({ adjustBy: '2.5', reason: '' })).toMatchObject({
      ok: false,
      errors: { adjustBy: 'Type a whole number of units: 12 received, -3 removed', reason: 'Say why (received, damaged, counted…)' },
    });
    expect(readStockForm({ adjustBy: '1', reason: 'x', extra: 'y' })).toMatchObject({
      ok: false,
      errors: { _form: 'This form has fields it should not have.' },
    });
  });
});
