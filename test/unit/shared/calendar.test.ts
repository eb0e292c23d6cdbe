import { DateTime, Settings } from 'luxon';
import {
  addLocalDays,
  addMonthsClamped,
  anniversaryIn,
  type BillingSchedule,
  chargeDateOf,
  cycleAt,
  cycleByKey,
  datesWithAnniversaryOn,
  isBeforeCutoff,
  isLocalDate,
  isLocalTime,
  isValidTimezone,
  localDateOf,
  nextCycle,
  toInstant,
  upcomingCycles,
} from '../../../src/shared/calendar';

/** A plain schedule: monthly at 09:00 New York time, anchored on Jan 31, locking 3 days before. */
function buildSchedule(overrides: Partial<BillingSchedule> = {}): BillingSchedule {
  return {
    cadence: { interval: 'month', intervalCount: 1 },
    anchorOn: '2026-01-31',
    chargeAt: '09:00',
    timezone: 'America/New_York',
    cutoffDays: 3,
    ...overrides,
  };
}

/** The first `count` charge dates of a schedule. */
function chargeDates(schedule: BillingSchedule, count: number): string[] {
  return Array.from({ length: count }, (_, index) => chargeDateOf(schedule, index));
}

/** An instant as the merchant sees it, with the offset: '2026-03-08T09:00-04:00'. */
function localReading(instant: Date, timezone: string): string | null {
  return DateTime.fromJSDate(instant, { zone: timezone }).toISO({ suppressMilliseconds: true, suppressSeconds: true });
}

describe('calendar: local dates, times and zones', () => {
  test('when a date is checked, then only real calendar dates written YYYY-MM-DD pass', () => {
    expect(['2026-02-28', '2028-02-29', '2026-12-31', '0001-01-01'].map(isLocalDate)).toEqual([true, true, true, true]);
    expect(['2026-02-29', '2026-02-30', '2026-04-31', '2026-13-01', '2026-00-10', '2026-2-3', '20260203', '0000-01-01', ''].map(isLocalDate)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  test('when a time is checked, then only HH:mm from 00:00 to 23:59 passes', () => {
    expect(['00:00', '09:00', '23:59'].map(isLocalTime)).toEqual([true, true, true]);
    expect(['24:00', '9:00', '09:60', '09:00:00', '0900', ''].map(isLocalTime)).toEqual([false, false, false, false, false, false]);
  });

  test('when a time zone is checked, then IANA names pass and anything else fails', () => {
    expect(['America/New_York', 'Europe/Berlin', 'Australia/Sydney', 'UTC'].map(isValidTimezone)).toEqual([true, true, true, true]);
    expect(['Mars/Olympus', 'New York', '+05:00', ''].map(isValidTimezone)).toEqual([false, false, false, false]);
  });

  test('when days are added, then month, year and leap-day boundaries are crossed both ways', () => {
    expect(addLocalDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addLocalDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addLocalDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addLocalDays('2026-03-10', -3)).toBe('2026-03-07');
    expect(addLocalDays('2026-03-10', 0)).toBe('2026-03-10');
  });

  test("when an instant is read in a zone, then its local date is that zone's date", () => {
    const instant = new Date('2026-01-01T03:00:00Z');
    expect(localDateOf(instant, 'America/New_York')).toBe('2025-12-31');
    expect(localDateOf(instant, 'Europe/Berlin')).toBe('2026-01-01');
    expect(localDateOf(new Date('2026-01-01T12:00:00Z'), 'Pacific/Auckland')).toBe('2026-01-02');
  });
});

describe('calendar: months counted from the anchor', () => {
  test('when months are added to Jan 31, then each month clamps on its own and the day never drifts', () => {
    expect([1, 2, 3, -1, -2].map((months) => addMonthsClamped('2026-01-31', months))).toEqual([
      '2026-02-28',
      '2026-03-31',
      '2026-04-30',
      '2025-12-31',
      '2025-11-30',
    ]);
  });

  test('when a monthly schedule is anchored on Jan 31, then 13 cycles fall on each month end in turn', () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-31' });

    expect(chargeDates(schedule, 13)).toEqual([
      '2026-01-31',
      '2026-02-28',
      '2026-03-31',
      '2026-04-30',
      '2026-05-31',
      '2026-06-30',
      '2026-07-31',
      '2026-08-31',
      '2026-09-30',
      '2026-10-31',
      '2026-11-30',
      '2026-12-31',
      '2027-01-31',
    ]);
  });

  test('when a month-end schedule reaches February of a leap year, then it charges on Feb 29', () => {
    const schedule = buildSchedule({ anchorOn: '2028-01-31' });

    expect(chargeDates(schedule, 3)).toEqual(['2028-01-31', '2028-02-29', '2028-03-31']);
  });

  test('when a schedule is anchored on Feb 29 every 12 months, then it charges Feb 28 until the next leap year', () => {
    const schedule = buildSchedule({ anchorOn: '2028-02-29', cadence: { interval: 'month', intervalCount: 12 } });

    expect(chargeDates(schedule, 5)).toEqual(['2028-02-29', '2029-02-28', '2030-02-28', '2031-02-28', '2032-02-29']);
  });

  test('when a shopper chose the 31st but started on Apr 30, then later cycles still charge on the 31st where it exists', () => {
    const schedule = buildSchedule({ anchorOn: '2026-04-30', anchorDay: 31 });

    expect(chargeDates(schedule, 4)).toEqual(['2026-04-30', '2026-05-31', '2026-06-30', '2026-07-31']);
  });

  test('when a schedule is anchored on the 30th, then February clamps and March is back on the 30th', () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-30' });

    expect(chargeDates(schedule, 3)).toEqual(['2026-01-30', '2026-02-28', '2026-03-30']);
  });
});

describe('calendar: cadences', () => {
  test('when a schedule charges every 3 months from Jan 31, then it lands on the quarter months, clamped', () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-31', cadence: { interval: 'month', intervalCount: 3 } });

    expect(chargeDates(schedule, 5)).toEqual(['2026-01-31', '2026-04-30', '2026-07-31', '2026-10-31', '2027-01-31']);
  });

  test('when a schedule charges every 2 weeks, then it keeps its weekday and local time across the spring DST change', () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-01', cadence: { interval: 'week', intervalCount: 2 } });

    const cycles = Array.from({ length: 6 }, (_, index) => cycleAt(schedule, index));

    expect(cycles.map((cycle) => cycle.chargeOn)).toEqual(['2026-01-01', '2026-01-15', '2026-01-29', '2026-02-12', '2026-02-26', '2026-03-12']);
    expect(cycles.map((cycle) => DateTime.fromISO(cycle.chargeOn).weekdayLong)).toEqual(Array(6).fill('Thursday'));
    expect(localReading(cycles[4]!.chargeAt, 'America/New_York')).toBe('2026-02-26T09:00-05:00');
    expect(localReading(cycles[5]!.chargeAt, 'America/New_York')).toBe('2026-03-12T09:00-04:00');
  });
});

describe('calendar: DST', () => {
  test('when a New York schedule charges at 09:00 across both DST changes, then it is 09:00 local and the UTC hour moves', () => {
    const schedule = buildSchedule({ anchorOn: '2026-02-08', timezone: 'America/New_York' });

    expect(cycleAt(schedule, 0).chargeAt.toISOString()).toBe('2026-02-08T14:00:00.000Z'); // EST, -05:00
    expect(cycleAt(schedule, 1).chargeAt.toISOString()).toBe('2026-03-08T13:00:00.000Z'); // the change day, EDT
    expect(cycleAt(schedule, 8).chargeAt.toISOString()).toBe('2026-10-08T13:00:00.000Z'); // EDT
    expect(cycleAt(schedule, 9).chargeAt.toISOString()).toBe('2026-11-08T14:00:00.000Z'); // EST again
  });

  test('when a Berlin schedule charges weekly at 09:00 across both DST changes, then it is 09:00 local and the UTC hour moves', () => {
    const schedule = buildSchedule({ anchorOn: '2026-03-22', cadence: { interval: 'week', intervalCount: 1 }, timezone: 'Europe/Berlin' });

    expect(cycleAt(schedule, 0).chargeAt.toISOString()).toBe('2026-03-22T08:00:00.000Z'); // CET, +01:00
    expect(cycleAt(schedule, 1).chargeAt.toISOString()).toBe('2026-03-29T07:00:00.000Z'); // the change day, CEST
    expect(cycleAt(schedule, 30).chargeOn).toBe('2026-10-18');
    expect(cycleAt(schedule, 30).chargeAt.toISOString()).toBe('2026-10-18T07:00:00.000Z'); // CEST
    expect(cycleAt(schedule, 31).chargeAt.toISOString()).toBe('2026-10-25T08:00:00.000Z'); // the change day, CET
  });

  test('when a Sydney schedule charges at 09:00 across the southern-hemisphere changes, then it is 09:00 local', () => {
    const schedule = buildSchedule({ anchorOn: '2026-03-05', timezone: 'Australia/Sydney' });

    expect(cycleAt(schedule, 0).chargeAt.toISOString()).toBe('2026-03-04T22:00:00.000Z'); // AEDT, +11:00
    expect(cycleAt(schedule, 1).chargeAt.toISOString()).toBe('2026-04-04T23:00:00.000Z'); // AEST, +10:00
    expect(cycleAt(schedule, 6).chargeAt.toISOString()).toBe('2026-09-04T23:00:00.000Z'); // AEST
    expect(cycleAt(schedule, 7).chargeAt.toISOString()).toBe('2026-10-04T22:00:00.000Z'); // AEDT again
  });

  test('when a local time falls in the spring-forward gap, then it moves forward by the gap to the first valid instant', () => {
    expect(toInstant('2026-03-08', '01:59', 'America/New_York').toISOString()).toBe('2026-03-08T06:59:00.000Z');
    expect(toInstant('2026-03-08', '02:00', 'America/New_York').toISOString()).toBe('2026-03-08T07:00:00.000Z'); // 03:00 EDT
    expect(toInstant('2026-03-08', '02:30', 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT
    expect(toInstant('2026-03-08', '03:00', 'America/New_York').toISOString()).toBe('2026-03-08T07:00:00.000Z');
    expect(localReading(toInstant('2026-03-29', '02:30', 'Europe/Berlin'), 'Europe/Berlin')).toBe('2026-03-29T03:30+02:00');
    expect(localReading(toInstant('2026-10-04', '02:30', 'Australia/Sydney'), 'Australia/Sydney')).toBe('2026-10-04T03:30+11:00');
  });

  test('when a local time falls in a half-hour gap, then it moves forward by half an hour', () => {
    // Lord Howe Island moves its clocks by 30 minutes: 02:00 → 02:30 on 2026-10-04.
    expect(localReading(toInstant('2026-10-04', '02:15', 'Australia/Lord_Howe'), 'Australia/Lord_Howe')).toBe('2026-10-04T02:45+11:00');
  });

  test('when a whole local day was skipped, then its times move forward by the whole day', () => {
    // Samoa jumped from Dec 29 to Dec 31, 2011 (UTC-10 → UTC+14).
    expect(localReading(toInstant('2011-12-30', '09:00', 'Pacific/Apia'), 'Pacific/Apia')).toBe('2011-12-31T09:00+14:00');
  });

  test('when a local time happens twice at the fall-back change, then the earlier instant is used', () => {
    expect(toInstant('2026-11-01', '00:59', 'America/New_York').toISOString()).toBe('2026-11-01T04:59:00.000Z');
    expect(toInstant('2026-11-01', '01:00', 'America/New_York').toISOString()).toBe('2026-11-01T05:00:00.000Z'); // EDT
    expect(toInstant('2026-11-01', '01:30', 'America/New_York').toISOString()).toBe('2026-11-01T05:30:00.000Z'); // EDT
    expect(toInstant('2026-11-01', '02:00', 'America/New_York').toISOString()).toBe('2026-11-01T07:00:00.000Z'); // EST
    expect(toInstant('2026-10-25', '02:30', 'Europe/Berlin').toISOString()).toBe('2026-10-25T00:30:00.000Z'); // CEST
    expect(toInstant('2026-04-05', '02:30', 'Australia/Sydney').toISOString()).toBe('2026-04-04T15:30:00.000Z'); // AEDT
    expect(toInstant('2026-04-05', '01:45', 'Australia/Lord_Howe').toISOString()).toBe('2026-04-04T14:45:00.000Z'); // +11:00
  });

  describe('whatever the system clock says', () => {
    const systemNow = Settings.now;
    afterEach(() => {
      Settings.now = systemNow;
    });

    test('when the system clock is in winter or in summer, then an ambiguous time still resolves to the earlier instant', () => {
      // Luxon's own parsing starts from the offset in force at the system's "now", so on its own it gives
      // 06:30Z in winter and 05:30Z in summer for this time.
      for (const now of ['2026-01-15T12:00:00Z', '2026-07-15T12:00:00Z']) {
        Settings.now = () => Date.parse(now);

        expect(toInstant('2026-11-01', '01:30', 'America/New_York').toISOString()).toBe('2026-11-01T05:30:00.000Z');
        expect(toInstant('2026-03-08', '02:30', 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z');
      }
    });
  });

  test("when a New York cutoff spans the spring change, then it is at the charge's local time, 71 hours before", () => {
    const schedule = buildSchedule({ anchorOn: '2026-03-10', cutoffDays: 3, timezone: 'America/New_York' });

    const cycle = cycleAt(schedule, 0);

    expect(localReading(cycle.chargeAt, 'America/New_York')).toBe('2026-03-10T09:00-04:00');
    expect(localReading(cycle.cutoffAt, 'America/New_York')).toBe('2026-03-07T09:00-05:00');
    expect(cycle.chargeAt.getTime() - cycle.cutoffAt.getTime()).toBe(71 * 3_600_000);
  });

  test("when a Berlin cutoff spans the autumn change, then it is at the charge's local time, 73 hours before", () => {
    const schedule = buildSchedule({ anchorOn: '2026-10-27', cutoffDays: 3, timezone: 'Europe/Berlin' });

    const cycle = cycleAt(schedule, 0);

    expect(cycle.chargeAt.toISOString()).toBe('2026-10-27T08:00:00.000Z');
    expect(cycle.cutoffAt.toISOString()).toBe('2026-10-24T07:00:00.000Z');
    expect(localReading(cycle.cutoffAt, 'Europe/Berlin')).toBe('2026-10-24T09:00+02:00');
  });

  test("when a cutoff's local time does not exist on its day, then it moves forward like any other gap time", () => {
    const schedule = buildSchedule({ anchorOn: '2026-03-09', chargeAt: '02:30', cutoffDays: 1, timezone: 'America/New_York' });

    const cycle = cycleAt(schedule, 0);

    expect(cycle.chargeAt.toISOString()).toBe('2026-03-09T06:30:00.000Z');
    expect(cycle.cutoffAt.toISOString()).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT, still before the charge
  });
});

describe('calendar: cycles', () => {
  test("when a cycle is built, then its key is its local charge date and its instants are in the merchant's zone", () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-31', cutoffDays: 3, timezone: 'America/New_York' });

    expect(cycleAt(schedule, 1)).toEqual({
      index: 1,
      cycleKey: '2026-02-28',
      chargeOn: '2026-02-28',
      chargeAt: new Date('2026-02-28T14:00:00.000Z'),
      cutoffAt: new Date('2026-02-25T14:00:00.000Z'),
    });
  });

  test('when the moment is exactly a charge, then the next cycle is the one after it', () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-31' });
    const charged = cycleAt(schedule, 1);

    expect(nextCycle(schedule, charged.chargeAt).index).toBe(2);
    expect(nextCycle(schedule, new Date(charged.chargeAt.getTime() - 1)).index).toBe(1);
  });

  test('when the moment is before the anchor, then the next cycle is cycle 0', () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-31' });
    const first = cycleAt(schedule, 0);

    expect(nextCycle(schedule, new Date('2020-01-01T00:00:00Z'))).toEqual(first);
    expect(nextCycle(schedule, new Date('2026-01-31T05:00:00Z'))).toEqual(first); // 00:00 on the anchor day
    expect(nextCycle(schedule, new Date(first.chargeAt.getTime() - 1))).toEqual(first);
  });

  test("when the moment is mid-month before a clamped charge day, then the next cycle is that month's", () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-31', timezone: 'America/New_York' });

    expect(nextCycle(schedule, new Date('2026-03-15T12:00:00Z')).chargeOn).toBe('2026-03-31');
    expect(nextCycle(schedule, new Date('2026-03-31T12:59:59.999Z')).chargeOn).toBe('2026-03-31'); // 08:59:59 EDT
    expect(nextCycle(schedule, new Date('2026-03-31T13:00:00Z')).chargeOn).toBe('2026-04-30'); // 09:00 EDT
  });

  test('when the moment is a thousand cycles after the anchor, then the next cycle is found at that index', () => {
    const monthly = buildSchedule({ anchorOn: '2026-01-31', timezone: 'America/New_York' });
    const weekly = buildSchedule({ anchorOn: '2026-01-05', cadence: { interval: 'week', intervalCount: 1 }, timezone: 'Europe/Berlin' });

    const monthlyNext = nextCycle(monthly, cycleAt(monthly, 999).chargeAt);
    const weeklyNext = nextCycle(weekly, new Date(cycleAt(weekly, 1000).chargeAt.getTime() - 1));

    expect(monthlyNext).toMatchObject({ index: 1000, chargeOn: '2109-05-31', chargeAt: new Date('2109-05-31T13:00:00Z') });
    expect(weeklyNext).toMatchObject({ index: 1000, chargeOn: '2045-03-06', chargeAt: new Date('2045-03-06T08:00:00Z') });
  });

  test('when upcoming cycles are listed, then they are the next ones in order', () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-31' });

    const upcoming = upcomingCycles(schedule, new Date('2026-02-10T00:00:00Z'), 3);

    expect(upcoming.map((cycle) => [cycle.index, cycle.cycleKey])).toEqual([
      [1, '2026-02-28'],
      [2, '2026-03-31'],
      [3, '2026-04-30'],
    ]);
    expect(upcomingCycles(schedule, new Date('2026-02-10T00:00:00Z'), 0)).toEqual([]);
  });

  test('when a cycle is looked up by its key, then the same cycle comes back', () => {
    const monthly = buildSchedule({ anchorOn: '2026-01-31' });
    const fortnightly = buildSchedule({ anchorOn: '2026-01-01', cadence: { interval: 'week', intervalCount: 2 } });

    for (const schedule of [monthly, fortnightly]) {
      for (let index = 0; index < 30; index += 1) {
        const cycle = cycleAt(schedule, index);
        expect(cycleByKey(schedule, cycle.cycleKey)).toEqual(cycle);
      }
    }
  });

  test("when a key is not one of the schedule's charge dates, then no cycle is found", () => {
    const monthly = buildSchedule({ anchorOn: '2026-01-31' });
    const quarterly = buildSchedule({ anchorOn: '2026-01-31', cadence: { interval: 'month', intervalCount: 3 } });
    const fortnightly = buildSchedule({ anchorOn: '2026-01-01', cadence: { interval: 'week', intervalCount: 2 } });

    expect(cycleByKey(monthly, '2026-02-27')).toBeUndefined(); // right month, wrong day
    expect(cycleByKey(monthly, '2025-12-31')).toBeUndefined(); // before the anchor
    expect(cycleByKey(quarterly, '2026-02-28')).toBeUndefined(); // a month the schedule skips
    expect(cycleByKey(fortnightly, '2026-01-08')).toBeUndefined(); // the off week
  });

  test('when the moment is just before, at or after the cutoff, then only just before is before the cutoff', () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-31', cutoffDays: 3 });
    const cycle = cycleAt(schedule, 0);
    const cutoff = cycle.cutoffAt.getTime();

    expect(isBeforeCutoff(cycle, new Date(cutoff - 1))).toBe(true);
    expect(isBeforeCutoff(cycle, new Date(cutoff))).toBe(false);
    expect(isBeforeCutoff(cycle, new Date(cutoff + 1))).toBe(false);
  });

  test('when the cutoff is 0 days, then the box locks at the charge itself', () => {
    const schedule = buildSchedule({ anchorOn: '2026-01-31', cutoffDays: 0 });

    const cycle = cycleAt(schedule, 0);

    expect(cycle.cutoffAt).toEqual(cycle.chargeAt);
  });
});

describe('calendar: invalid inputs', () => {
  test('when a date, time or zone is not valid, then a RangeError says so', () => {
    expect(() => addLocalDays('2026-02-30', 1)).toThrow(RangeError);
    expect(() => addLocalDays('2026-02-28', 1.5)).toThrow(RangeError);
    expect(() => addMonthsClamped('2026-13-01', 1)).toThrow(RangeError);
    expect(() => addMonthsClamped('2026-01-31', 1, 32)).toThrow(RangeError);
    expect(() => addMonthsClamped('9999-12-31', 1)).toThrow(/out of range/);
    expect(() => toInstant('2026-03-08', '24:00', 'America/New_York')).toThrow(RangeError);
    expect(() => toInstant('2026-03-08', '09:00', 'Mars/Olympus')).toThrow(/IANA time zone/);
    expect(() => localDateOf(new Date('2026-01-01T00:00:00Z'), 'Mars/Olympus')).toThrow(RangeError);
    expect(() => localDateOf(new Date(Number.NaN), 'UTC')).toThrow(RangeError);
  });

  test.each<[string, BillingSchedule]>([
    ['a zero interval count', buildSchedule({ cadence: { interval: 'month', intervalCount: 0 } })],
    ['a fractional interval count', buildSchedule({ cadence: { interval: 'week', intervalCount: 1.5 } })],
    ['an unknown interval', buildSchedule({ cadence: { interval: 'year' as 'month', intervalCount: 1 } })],
    ['an impossible anchor date', buildSchedule({ anchorOn: '2026-02-30' })],
    ['a bad charge time', buildSchedule({ chargeAt: '9am' })],
    ['a bad time zone', buildSchedule({ timezone: 'Mars/Olympus' })],
    ['a negative cutoff', buildSchedule({ cutoffDays: -1 })],
    ['anchor day 32', buildSchedule({ anchorOn: '2026-01-31', anchorDay: 32 })],
    ['an anchor day its anchor date is not on', buildSchedule({ anchorOn: '2026-05-15', anchorDay: 31 })],
    ['an anchor day on a weekly cadence', buildSchedule({ cadence: { interval: 'week', intervalCount: 1 }, anchorDay: 31 })],
  ])('when a schedule has %s, then every calendar function refuses it with a RangeError', (_, schedule) => {
    const after = new Date('2026-02-10T00:00:00Z');

    expect(() => chargeDateOf(schedule, 0)).toThrow(RangeError);
    expect(() => cycleAt(schedule, 0)).toThrow(RangeError);
    expect(() => nextCycle(schedule, after)).toThrow(RangeError);
    expect(() => cycleByKey(schedule, '2026-01-31')).toThrow(RangeError);
    expect(() => upcomingCycles(schedule, after, 0)).toThrow(RangeError);
  });

  test('when an index, key, count or moment is not valid, then a RangeError says so', () => {
    const schedule = buildSchedule();

    expect(() => cycleAt(schedule, -1)).toThrow(/index must be an integer >= 0/);
    expect(() => cycleAt(schedule, 1.5)).toThrow(RangeError);
    expect(() => cycleByKey(schedule, '2026-02-30')).toThrow(/cycleKey/);
    expect(() => upcomingCycles(schedule, new Date('2026-02-10T00:00:00Z'), -1)).toThrow(RangeError);
    expect(() => nextCycle(schedule, new Date(Number.NaN))).toThrow(/after must be a valid Date/);
    expect(() => isBeforeCutoff(cycleAt(schedule, 0), new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('anniversaries', () => {
  it('falls on the same month-day, and on 28 February for a 29 February start in a year without one', () => {
    expect(anniversaryIn('06-15', 2027)).toBe('2027-06-15');
    expect(anniversaryIn('02-29', 2027)).toBe('2027-02-28');
    expect(anniversaryIn('02-29', 2028)).toBe('2028-02-29');
  });

  /** Every date from `fromYear` to the window's last year, checked against the rule itself. */
  function bruteForce(days: string[], fromYear: number): string[] {
    const years = [...new Set(days.map((day) => Number(day.slice(0, 4))))];
    const found: string[] = [];
    for (let date = `${fromYear}-01-01`; date <= days[0]!; date = addLocalDays(date, 1)) {
      const start = Number(date.slice(0, 4));
      if (years.some((year) => year > start && days.includes(anniversaryIn(date.slice(5), year)))) found.push(date);
    }
    return found;
  }

  function expand(ranges: Array<{ from: string; to: string }>): string[] {
    const dates: string[] = [];
    for (const { from, to } of ranges) for (let date = from; date <= to; date = addLocalDays(date, 1)) dates.push(date);
    return dates;
  }

  it.each(['2026-03-03', '2028-03-02', '2026-01-04', '2027-02-28', '2028-02-29', '2028-03-01', '2026-07-20'])(
    'finds exactly the starts celebrated in the 8 days to %s',
    (today) => {
      const days = Array.from({ length: 8 }, (_, index) => addLocalDays(today, -index));
      const ranges = datesWithAnniversaryOn(days, 2019);
      expect(expand(ranges)).toEqual(bruteForce(days, 2019));
      // Merged: a range per year (two when the window crosses New Year or takes in a 29 February).
      expect(ranges.length).toBeLessThanOrEqual(2 * (Number(today.slice(0, 4)) - 2019));
    },
  );

  it('finds nothing when the store opened this year', () => {
    expect(datesWithAnniversaryOn(['2026-03-03', '2026-03-02'], 2026)).toEqual([]);
  });
});
