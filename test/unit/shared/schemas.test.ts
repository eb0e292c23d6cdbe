import { z } from 'zod';
import { isSafeRecordKey, safeRecord, wholeNumber } from '../../../src/shared/schemas';

describe('safeRecord', () => {
  const Options = safeRecord(z.string(), z.string());

  test.each(['constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', '$set', 'a.b', 'nul\0'])(
    'when a key is %j, then the record is refused',
    (key) => {
      expect(isSafeRecordKey(key)).toBe(false);
      const result = Options.safeParse({ [key]: 'x' });
      expect(result.success).toBe(false);
    },
  );

  test('when keys are ordinary names, then the record is kept as given', () => {
    expect(Options.parse({ roast: 'dark', Constructor_2: 'ok', proto: 'ok' })).toEqual({ roast: 'dark', Constructor_2: 'ok', proto: 'ok' });
  });
});

describe('wholeNumber', () => {
  test('when a value is outside its range or not whole, then it is refused with the range in words', () => {
    const Days = wholeNumber(1, 365);
    expect(Days.parse(365)).toBe(365);
    for (const bad of [0, 366, 1.5, Number.MAX_SAFE_INTEGER, Number.NaN, '3']) {
      const result = Days.safeParse(bad);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toBe('must be a whole number from 1 to 365');
    }
  });

  test('when a range goes beyond the request limit, then the schema cannot be built', () => {
    expect(() => wholeNumber(0, Number.MAX_SAFE_INTEGER)).toThrow(/outside the request limit/);
  });
});
