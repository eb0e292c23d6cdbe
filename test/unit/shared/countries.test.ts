import { COUNTRY_CODES, isCountryCode } from '../../../src/shared/countries';
import { CountryCode } from '../../../src/shared/schemas';

describe('ISO 3166-1 alpha-2 country codes', () => {
  test('when the list is read, then it holds the 249 assigned codes, each once, in order, each a region ICU names', () => {
    expect(COUNTRY_CODES).toHaveLength(249);
    expect(new Set(COUNTRY_CODES).size).toBe(249);
    expect([...COUNTRY_CODES].sort()).toEqual(COUNTRY_CODES);
    const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    expect(COUNTRY_CODES.filter((code) => !/^[A-Z]{2}$/.test(code) || names.of(code) === undefined)).toEqual([]);
  });

  test.each(['US', 'GB', 'DE', 'AX', 'BQ', 'CW', 'SS', 'SX', 'AQ', 'UM'])('when the code is %s, then it is accepted', (code) => {
    expect(isCountryCode(code)).toBe(true);
    expect(CountryCode.safeParse(code).success).toBe(true);
  });

  test.each(['ZZ', 'EU', 'UN', 'EZ', 'UK', 'XK', 'XA', 'AA', 'QO', 'AN', 'CS', 'SU', 'YU', 'us', 'USA', '', 'U'])(
    'when the code is %j, then it is refused',
    (code) => {
      expect(isCountryCode(code)).toBe(false);
      expect(CountryCode.safeParse(code).success).toBe(false);
    },
  );
});
