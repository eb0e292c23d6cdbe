import { z } from 'zod';

/** Seconds since the epoch up to the year 9999: what Stripe's `created` can be. */
const UnixSeconds = z.number().int().min(0).max(253_402_300_799);

/** Stripe objects nest a few levels (an invoice's lines' pricing…); far below this, and below MongoDB's 100. */
export const MAX_EVENT_DEPTH = 32;

/**
 * The envelope of a Stripe event (snapshot, API v1), checked after the signature and before the inbox: a body
 * Stripe signed but that is not an event is refused with a 400 rather than failing later. The envelope is not
 * strict (Stripe adds fields to it over time); the fields a handler reads of `data.object` are checked by
 * that handler.
 */
export const StripeEventEnvelope = z.object({
  id: z.string().regex(/^evt_[A-Za-z0-9_]{1,255}$/, { error: 'must be a Stripe event id (evt_…)' }),
  object: z.literal('event'),
  type: z.string().regex(/^[a-z0-9_.]{1,200}$/, { error: 'must be a Stripe event type such as invoice.paid' }),
  api_version: z.string().max(100).nullable(),
  created: UnixSeconds,
  livemode: z.boolean(),
  data: z.object({
    object: z.record(z.string(), z.unknown()),
    previous_attributes: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type StripeEventEnvelope = z.infer<typeof StripeEventEnvelope>;

/** Whether `value` nests arrays or objects deeper than `max` levels (measured without recursion). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
