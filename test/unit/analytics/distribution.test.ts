import { median, p90 } from '../../../src/analytics/box-kpis.reports';

/** The first-box waits are read as counts per number of days; the figures must be those of the values themselves. */
describe('median and p90 of a distribution read as counts', () => {
  /** The values the counts stand for, in order. */
  const spread = (counted: Array<[number, number]>): number[] => counted.flatMap(([value, count]) => Array<number>(count).fill(value));

  it.each<[string, Array<[number, number]>, number | null, number | null]>([
    ['nothing', [], null, null],
    ['one value', [[4, 1]], 4, 4],
    [
      'an odd count',
      [
        [1, 2],
        [3, 1],
        [9, 2],
      ],
      3,
      9,
    ],
    [
      'an even count: the mean of the two middle values',
      [
        [2, 1],
        [5, 1],
        [7, 1],
        [8, 1],
      ],
      6,
      8,
    ],
    [
      'an even count whose middle values are one value',
      [
        [3, 2],
        [6, 2],
      ],
      4.5,
      6,
    ],
    [
      'ten values: the 9th by nearest rank',
      [
        [1, 8],
        [2, 1],
        [30, 1],
      ],
      1,
      2,
    ],
    [
      'eleven values: the 10th by nearest rank',
      [
        [1, 9],
        [2, 1],
        [30, 1],
      ],
      1,
      2,
    ],
  ])('%s', (_name, counted, expectedMedian, expectedP90) => {
    expect(median(counted)).toBe(expectedMedian);
    expect(p90(counted)).toBe(expectedP90);
    // The same as sorting the values and taking places ⌈n/2⌉ (and the next) and ⌈0.9 n⌉.
    const values = spread(counted);
    if (values.length > 0) {
      const n = values.length;
      expect(median(counted)).toBe(n % 2 ? values[(n - 1) / 2] : (values[n / 2 - 1]! + values[n / 2]!) / 2);
      expect(p90(counted)).toBe(values[Math.ceil(0.9 * n) - 1]);
    }
  });
});
