/**
 * Billing calendar: when each cycle of a subscription charges and when its box locks.
 *
 * A schedule is an intent — an anchor (cycle 0's local charge date, plus the intended day of month), a
 * cadence, a local time of day and the merchant's IANA time zone. Cycle N is always computed from the
 * anchor, never from cycle N-1, so short months never make the day drift (Jan 31 → Feb 28 → Mar 31).
 *
 * Calendar rules (which day, which time of day) are applied in the merchant's zone; the results that the
 * rest of the system compares against "now" are UTC instants. Everything here is pure: "now" is always a
 * parameter, never read from the system clock.
 */
import { DateTime, IANAZone } from 'luxon';

/** A calendar date in the merchant's zone: 'YYYY-MM-DD'. */
export type LocalDate = string;

/** A wall-clock time of day in the merchant's zone: 'HH:mm' (24-hour). */
export type LocalTime = string;

export interface Cadence {
  interval: 'week' | 'month';
  /** Integer >= 1: every `intervalCount` weeks or months. */
  intervalCount: number;
}

export interface BillingSchedule {
  cadence: Cadence;
  /** Local date of cycle 0's charge. */
  anchorOn: LocalDate;
  /** 1..31, the intended day of month for monthly cadences; defaults to anchorOn's day. */
  anchorDay?: number;
  /** Local time of day charges happen, e.g. '09:00'. */
  chargeAt: LocalTime;
  /** IANA time zone of the merchant, e.g. 'Europe/Berlin'. */
  timezone: string;
  /** The box for a cycle locks this many local days before its charge, at the same local time. Integer >= 0. */
  cutoffDays: number;
}

export interface Cycle {
  index: number;
  /** The cycle's scheduled local charge date ('YYYY-MM-DD'): stable, what orders, skips and gifts key on. */
  cycleKey: string;
  chargeOn: LocalDate;
  /** UTC instant of the charge. */
  chargeAt: Date;
  /** UTC instant after which the cycle's box can no longer be changed. */
  cutoffAt: Date;
}

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------

/**
 * Zone names found valid: ICU's zones do not change while the process runs, and checking one builds an
 * `Intl.DateTimeFormat` (the cut-off job checks a schedule's zone many times a box). Only valid names are kept,
 * at most `KNOWN_ZONES_MAX`; an unknown name is checked every time.
 */
const knownZones = new Set<string>();
const KNOWN_ZONES_MAX = 2_000;

/** Whether `tz` names a time zone the platform's ICU data knows (e.g. 'America/New_York', 'UTC'). */
export function isValidTimezone(tz: string): boolean {
  if (typeof tz !== 'string' || tz.length === 0) return false;
  if (knownZones.has(tz)) return true;
  if (!IANAZone.isValidZone(tz)) return false;
  if (knownZones.size < KNOWN_ZONES_MAX) knownZones.add(tz);
  return true;
}

/** Whether `s` is a real calendar date written 'YYYY-MM-DD' (so '2026-02-30' and '2026-2-3' are not). */
export function isLocalDate(s: string): boolean {
  const match = typeof s === 'string' ? LOCAL_DATE.exec(s) : null;
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** Whether `s` is a wall-clock time written 'HH:mm', 00:00 to 23:59. */
export function isLocalTime(s: string): boolean {
  return typeof s === 'string' && LOCAL_TIME.test(s);
}

function assertTimezone(tz: string): void {
  if (!isValidTimezone(tz)) throw new RangeError(`timezone must be an IANA time zone name, got ${JSON.stringify(tz)}`);
}

function assertInstant(instant: Date, name: string): void {
  if (!(instant instanceof Date) || Number.isNaN(instant.getTime())) {
    throw new RangeError(`${name} must be a valid Date, got ${String(instant)}`);
  }
}

function assertInteger(value: number, name: string, min?: number): void {
  if (!Number.isSafeInteger(value) || (min !== undefined && value < min)) {
    throw new RangeError(`${name} must be an integer${min === undefined ? '' : ` >= ${min}`}, got ${value}`);
  }
}

function parseLocalDate(date: LocalDate, name = 'date'): { year: number; month: number; day: number } {
  if (!isLocalDate(date)) {
    throw new RangeError(`${name} must be a real calendar date 'YYYY-MM-DD', got ${JSON.stringify(date)}`);
  }
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return { year, month, day };
}

function parseLocalTime(time: LocalTime): { hour: number; minute: number } {
  if (!isLocalTime(time)) throw new RangeError(`time must be 'HH:mm' (00:00 to 23:59), got ${JSON.stringify(time)}`);
  const [hour, minute] = time.split(':').map(Number) as [number, number];
  return { hour, minute };
}

/** Checks every field of a schedule, so each public function fails fast with a message naming the field. */
function assertSchedule(schedule: BillingSchedule): void {
  const { cadence, anchorOn, anchorDay, chargeAt, timezone, cutoffDays } = schedule;
  if (cadence.interval !== 'week' && cadence.interval !== 'month') {
    throw new RangeError(`cadence.interval must be 'week' or 'month', got ${JSON.stringify(cadence.interval)}`);
  }
  assertInteger(cadence.intervalCount, 'cadence.intervalCount', 1);
  parseLocalDate(anchorOn, 'anchorOn');
  parseLocalTime(chargeAt);
  assertTimezone(timezone);
  assertInteger(cutoffDays, 'cutoffDays', 0);
  if (anchorDay !== undefined) {
    if (cadence.interval !== 'month') throw new RangeError('anchorDay only applies to monthly cadences');
    // anchorOn is cycle 0's charge date, so it must be anchorDay clamped to its own month: the 31st may
    // be anchored on Apr 30, but not on May 15.
    if (addMonthsClamped(anchorOn, 0, anchorDay) !== anchorOn) {
      throw new RangeError(`anchorOn ${anchorOn} is not day ${anchorDay} of its month (clamped to the month's end)`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Local dates and instants
// ---------------------------------------------------------------------------------------------------------

function daysInMonth(year: number, month: number): number {
  return DateTime.utc(year, month, 1).daysInMonth as number;
}

/** Formats a calendar date, refusing years the 'YYYY-MM-DD' form cannot hold. */
function formatLocalDate(year: number, month: number, day: number): LocalDate {
  if (!(year >= 1 && year <= 9999)) throw new RangeError(`date out of range: year ${year} is not between 1 and 9999`);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: LocalDate, to: LocalDate): number {
  const a = parseLocalDate(from);
  const b = parseLocalDate(to);
  const ms = DateTime.utc(b.year, b.month, b.day).toMillis() - DateTime.utc(a.year, a.month, a.day).toMillis();
  return ms / DAY_MS; // exact: UTC days are always 24 hours
}

/** Calendar months from `from`'s month to `to`'s month, ignoring the days (Jan 31 → Feb 1 is 1). */
function monthsBetween(from: LocalDate, to: LocalDate): number {
  const a = parseLocalDate(from);
  const b = parseLocalDate(to);
  return (b.year - a.year) * 12 + (b.month - a.month);
}

/** The calendar date an instant falls on in `timezone`. */
export function localDateOf(instant: Date, timezone: string): LocalDate {
  assertInstant(instant, 'instant');
  assertTimezone(timezone);
  const local = DateTime.fromMillis(instant.getTime(), { zone: timezone });
  return formatLocalDate(local.year, local.month, local.day);
}

/** The local wall-clock time of an instant, to the minute (seconds dropped): 'HH:mm'. */
export function localTimeOf(instant: Date, timezone: string): LocalTime {
  assertInstant(instant, 'instant');
  assertTimezone(timezone);
  const local = DateTime.fromMillis(instant.getTime(), { zone: timezone });
  return `${String(local.hour).padStart(2, '0')}:${String(local.minute).padStart(2, '0')}`;
}

/** A month-day ('MM-DD') in `year`: 29 February falls on the 28th in other years. */
export function anniversaryIn(monthDay: string, year: number): LocalDate {
  const [month, day] = monthDay.split('-').map(Number) as [number, number];
  return formatLocalDate(year, month, Math.min(day, daysInMonth(year, month)));
}

/**
 * Every date from `fromYear` on, in a year before the day's own, whose anniversary (`anniversaryIn`) falls on
 * one of `days`, as inclusive ranges, earliest first: what a yearly job reads by start instant, instead of
 * every subscription, to find the starts it celebrates on those days. Exact: a date is in a range if and only
 * if its anniversary in some later year is one of `days`.
 */
export function datesWithAnniversaryOn(days: readonly LocalDate[], fromYear: number): Array<{ from: LocalDate; to: LocalDate }> {
  const dates = new Set<LocalDate>();
  for (const date of days) {
    const { year: dayYear, month, day } = parseLocalDate(date);
    for (let year = fromYear; year < dayYear; year += 1) {
      if (day <= daysInMonth(year, month)) dates.add(formatLocalDate(year, month, day));
      // A 29 February start is celebrated on the 28th when the day's year has no 29th.
      if (month === 2 && day === 28 && daysInMonth(dayYear, 2) === 28 && daysInMonth(year, 2) === 29) dates.add(formatLocalDate(year, 2, 29));
    }
  }
  const ranges: Array<{ from: LocalDate; to: LocalDate }> = [];
  for (const date of [...dates].sort()) {
    const last = ranges[ranges.length - 1];
    if (last && addLocalDays(last.to, 1) === date) last.to = date;
    else ranges.push({ from: date, to: date });
  }
  return ranges;
}

/** `date` plus `days` calendar days (may be negative). Pure calendar arithmetic: no zone, no DST. */
export function addLocalDays(date: LocalDate, days: number): LocalDate {
  const { year, month, day } = parseLocalDate(date);
  assertInteger(days, 'days');
  const result = DateTime.utc(year, month, day).plus({ days });
  return formatLocalDate(result.year, result.month, result.day);
}

/**
 * The date `months` months after the anchor, on the anchor's day of month clamped to the target month's
 * length: day = min(anchorDay ?? anchor's day, days in target month).
 *
 * Always counted from the anchor, so clamping never accumulates: anchor Jan 31 gives Feb 28 (+1),
 * Mar 31 (+2, not Mar 28), Apr 30 (+3). `anchorDay` keeps the intent when the anchor itself was clamped:
 * a shopper who chose the 31st and started on Apr 30 gets May 31.
 */
export function addMonthsClamped(anchorOn: LocalDate, months: number, anchorDay?: number): LocalDate {
  const anchor = parseLocalDate(anchorOn, 'anchorOn');
  assertInteger(months, 'months');
  if (anchorDay !== undefined && (!Number.isSafeInteger(anchorDay) || anchorDay < 1 || anchorDay > 31)) {
    throw new RangeError(`anchorDay must be an integer between 1 and 31, got ${anchorDay}`);
  }
  const monthIndex = anchor.year * 12 + (anchor.month - 1) + months;
  const year = Math.floor(monthIndex / 12);
  const month = monthIndex - year * 12 + 1;
  return formatLocalDate(year, month, Math.min(anchorDay ?? anchor.day, daysInMonth(year, month)));
}

/**
 * The UTC instant of a local date and wall-clock time in `timezone`, the same whenever it is called.
 *
 * Around DST changes a wall-clock time can occur zero times or twice:
 * - In a gap (spring forward, e.g. 02:30 on 2026-03-08 in America/New_York) the time does not exist; we
 *   take the same wall clock shifted forward by the gap's length (02:30 → 03:30 EDT = 07:30Z), which is
 *   also the moment that time would have been had the clocks not changed.
 * - In an overlap (fall back, e.g. 01:30 on 2026-11-01 in America/New_York) the time happens twice; we
 *   take the earlier one (01:30 EDT = 05:30Z), so a charge or a cutoff never happens late.
 *
 * Luxon is not used to resolve the local time: `DateTime.fromObject`/`fromISO` start from the zone's
 * offset at the system's current time, so for an ambiguous time they return the earlier instant in one
 * half of the year and the later one in the other. Only the zone's offset at a given instant is taken
 * from luxon, which is deterministic.
 */
export function toInstant(date: LocalDate, time: LocalTime, timezone: string): Date {
  const key = `${date} ${time} ${timezone}`;
  const known = instants.get(key);
  if (known !== undefined) return new Date(known);
  const instant = resolveInstant(date, time, timezone);
  // A bounded memo: a run computes the same cycles for many subscriptions of a store (each result is fixed by the zone data).
  if (instants.size >= INSTANTS_MAX) instants.clear();
  instants.set(key, instant.getTime());
  return instant;
}

/** `toInstant`'s results by `date time zone` (each needs three or four zone-offset lookups through Intl). */
const instants = new Map<string, number>();
const INSTANTS_MAX = 50_000;

function resolveInstant(date: LocalDate, time: LocalTime, timezone: string): Date {
  const { year, month, day } = parseLocalDate(date);
  const { hour, minute } = parseLocalTime(time);
  assertTimezone(timezone);
  const zone = IANAZone.create(timezone);
  const offsetAt = (ts: number): number => zone.offset(ts); // minutes east of UTC

  // The wall-clock reading as if it were UTC. The true instant is this minus the zone's offset then,
  // which is at most ±14 h away, and no zone changes its offset twice within two days. So the offsets a
  // day before and a day after are the only candidates: the ones in force on either side of any change.
  const wall = DateTime.utc(year, month, day, hour, minute).toMillis();
  const before = offsetAt(wall - DAY_MS);
  const after = offsetAt(wall + DAY_MS);
  const matches = [before, after].filter((offset) => offsetAt(wall - offset * MINUTE_MS) === offset).map((offset) => wall - offset * MINUTE_MS);

  // One match: an ordinary time. Two: an overlap, take the earlier instant.
  if (matches.length > 0) return new Date(Math.min(...matches));
  // None: a gap. Reading the wall clock with the offset from before the change lands just after the
  // change, at the wall clock shifted forward by the gap's length.
  return new Date(wall - before * MINUTE_MS);
}

// ---------------------------------------------------------------------------------------------------------
// Cycles
// ---------------------------------------------------------------------------------------------------------

/** The local charge date of cycle `index`, computed from the anchor. */
export function chargeDateOf(schedule: BillingSchedule, index: number): LocalDate {
  assertSchedule(schedule);
  assertInteger(index, 'index', 0);
  const { cadence, anchorOn, anchorDay } = schedule;
  return cadence.interval === 'week'
    ? addLocalDays(anchorOn, index * 7 * cadence.intervalCount)
    : addMonthsClamped(anchorOn, index * cadence.intervalCount, anchorDay);
}

/** Cycle `index` (0 is the anchor's cycle): its key, charge date, charge instant and cutoff instant. */
export function cycleAt(schedule: BillingSchedule, index: number): Cycle {
  const chargeOn = chargeDateOf(schedule, index);
  const { chargeAt, timezone, cutoffDays } = schedule;
  return {
    index,
    cycleKey: chargeOn,
    chargeOn,
    chargeAt: toInstant(chargeOn, chargeAt, timezone),
    // Counted in local days and resolved at the local charge time, so a cutoff that spans a DST change
    // is still at the charge's wall-clock time (not a fixed number of hours before the charge).
    cutoffAt: toInstant(addLocalDays(chargeOn, -cutoffDays), chargeAt, timezone),
  };
}

/**
 * The first cycle whose charge is strictly after `after` (a charge at exactly `after` has happened).
 *
 * The index is estimated from the calendar distance between the anchor and `after`'s local date, then
 * moved by a step or two: charge instants strictly increase with the index (one charge per distinct
 * local date, at the same wall-clock time), so walking back while the previous cycle is still later, and
 * forward while this one is not, ends on the answer.
 */
export function nextCycle(schedule: BillingSchedule, after: Date): Cycle {
  assertSchedule(schedule);
  assertInstant(after, 'after');
  const { cadence, anchorOn, timezone } = schedule;
  const afterOn = localDateOf(after, timezone);
  const elapsed =
    cadence.interval === 'week'
      ? Math.floor(daysBetween(anchorOn, afterOn) / (7 * cadence.intervalCount))
      : Math.floor(monthsBetween(anchorOn, afterOn) / cadence.intervalCount);

  let index = Math.max(0, elapsed);
  while (index > 0 && cycleAt(schedule, index - 1).chargeAt.getTime() > after.getTime()) index -= 1;
  let cycle = cycleAt(schedule, index);
  while (cycle.chargeAt.getTime() <= after.getTime()) cycle = cycleAt(schedule, cycle.index + 1);
  return cycle;
}

/** The cycle whose key is `cycleKey`, or undefined when the schedule charges on no such date. */
export function cycleByKey(schedule: BillingSchedule, cycleKey: string): Cycle | undefined {
  assertSchedule(schedule);
  parseLocalDate(cycleKey, 'cycleKey');
  const { cadence, anchorOn } = schedule;
  const step = cadence.interval === 'week' ? 7 * cadence.intervalCount : cadence.intervalCount;
  const distance = cadence.interval === 'week' ? daysBetween(anchorOn, cycleKey) : monthsBetween(anchorOn, cycleKey);
  if (distance < 0 || distance % step !== 0) return undefined;
  const cycle = cycleAt(schedule, distance / step);
  // A monthly key can be in the right month but on the wrong day (Feb 27 when the schedule charges Feb 28).
  return cycle.cycleKey === cycleKey ? cycle : undefined;
}

/** The next `count` cycles charging strictly after `after`, in order. */
export function upcomingCycles(schedule: BillingSchedule, after: Date, count: number): Cycle[] {
  assertInteger(count, 'count', 0);
  const first = nextCycle(schedule, after);
  return Array.from({ length: count }, (_, i) => (i === 0 ? first : cycleAt(schedule, first.index + i)));
}

/** Whether the cycle's box can still be changed at `now`: strictly before its cutoff. */
export function isBeforeCutoff(cycle: Cycle, now: Date): boolean {
  assertInstant(now, 'now');
  return now.getTime() < cycle.cutoffAt.getTime();
}
