import { DateTime } from 'luxon';
import type { MessageCategory } from './message-contract';

/**
 * Reminders and marketing reach people in their daytime: from 08:00 to 20:00 on the recipient's clock. One
 * queued (or due again after a failed attempt) outside that window waits for the next 08:00 there; a
 * transactional message goes at once. Pure: "now" is a parameter.
 */
export const DAYTIME = { startHour: 8, endHour: 20 } as const;

/**
 * The earliest instant from `at` at which a message of `category` may go to someone in `timezone` (an IANA
 * name). Local times come from the zone's rules, so the answer is right on the days clocks change: 08:00
 * after a spring-forward night is 08:00 on the new offset, and the repeated hour of a fall-back night is
 * still night.
 */
export function earliestSendAt(at: Date, timezone: string, category: MessageCategory): Date {
  if (category === 'transactional') return at;
  const local = DateTime.fromJSDate(at, { zone: timezone });
  if (!local.isValid) throw new RangeError(`timezone must be an IANA time zone name, got ${JSON.stringify(timezone)}`);
  if (local.hour >= DAYTIME.startHour && local.hour < DAYTIME.endHour) return at;
  const day = local.hour < DAYTIME.startHour ? local : local.plus({ days: 1 });
  return day.set({ hour: DAYTIME.startHour, minute: 0, second: 0, millisecond: 0 }).toJSDate();
}
