/** How the portal writes instants and spans for a shopper: in their language and their time zone. */

/** "Thursday, April 2, 10:00 AM EDT" in this zone. */
export function dateTimeIn(instant: Date | string, timezone: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, {
    weekday: 'long',
    month: 'long',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    timeZone: timezone,
    timeZoneName: 'short',
  }).format(new Date(instant));
}

/** "Thursday, April 2" in this zone. */
export function dateIn(instant: Date | string, timezone: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { weekday: 'long', month: 'long', day: 'numeric', timeZone: timezone }).format(new Date(instant));
}

/** How long until `instant`, roughly and in words ("2 days 5 hours", "40 minutes"); null once it has passed. */
export function countdown(instant: Date | string, now: Date): string | null {
  const ms = new Date(instant).getTime() - now.getTime();
  if (ms <= 0) return null;
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (days > 0) return hours > 0 ? `${plural(days, 'day')} ${plural(hours, 'hour')}` : plural(days, 'day');
  if (hours > 0) return `${plural(hours, 'hour')} ${plural(minutes % 60, 'minute')}`;
  return plural(Math.max(1, minutes), 'minute');
}
