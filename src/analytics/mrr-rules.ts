/**
 * The rules of MRR, as pure functions (docs/analytics.md states them in words). A subscription's MRR is
 * what its box costs per 30 days, in its currency, net of a discount that lasts for ever, without tax and
 * shipping (neither is in a plan's price); it counts only while the subscription is billed: active, or past
 * due after having been billed (dunning keeps MRR until it ends).
 */

export type CountedStatus = 'incomplete' | 'trialing' | 'active' | 'paused' | 'past_due' | 'cancelled';

/** How a box recurs: `month-1`, `week-2` (the plan's cadence key). */
export interface Recurrence {
  interval: 'week' | 'month';
  intervalCount: number;
}

export function recurrenceOf(cadenceKey: string): Recurrence | undefined {
  const match = /^(week|month)-([1-9][0-9]*)$/.exec(cadenceKey);
  if (!match) return undefined;
  return { interval: match[1] as Recurrence['interval'], intervalCount: Number(match[2]) };
}

/**
 * A box price per 30 days, in minor units, rounded half up once: a month is 30 days whatever its length, so
 * a monthly box counts its price; every 2 weeks counts price × 30 / 14; every 2 months, half its price. A
 * prepaid term of N boxes would be spread the same way, per box (there are none yet).
 */
export function monthlyAmount(boxAmountMinor: number, recurrence: Recurrence): number {
  const days = recurrence.interval === 'week' ? 7 * recurrence.intervalCount : 30 * recurrence.intervalCount;
  return Math.round((boxAmountMinor * 30) / days);
}

/** A discount on every box, for ever (a `forever` promo code); time-limited ones do not change MRR. */
export type LastingDiscount = { percentOff: number } | { amountOffMinor: number };

/** A box's price after a lasting discount (a percentage rounded half up, never below zero). */
export function discountedBox(boxAmountMinor: number, discount: LastingDiscount | undefined): number {
  if (!discount) return boxAmountMinor;
  const off = 'percentOff' in discount ? Math.round((boxAmountMinor * discount.percentOff) / 100) : discount.amountOffMinor;
  return Math.max(0, boxAmountMinor - off);
}

/** What a subscription contributes now: its monthly amount while billed, else 0. */
export function contribution(monthly: number, status: CountedStatus, billedBefore: boolean): number {
  if (status === 'active') return monthly;
  if (status === 'past_due') return billedBefore ? monthly : 0;
  return 0;
}

/** The kinds of MRR movement: ChartMogul's five, and a pause and its end kept apart from churn and reactivation. */
export const MOVEMENT_KINDS = ['new', 'expansion', 'contraction', 'churn', 'reactivation', 'paused', 'resumed'] as const;
export type MovementKind = (typeof MOVEMENT_KINDS)[number];
/** Kinds that take MRR away (stored as positive amounts). */
export const OUTGOING_KINDS: readonly MovementKind[] = ['contraction', 'churn', 'paused'];

export interface MovementInput {
  before: { mrr: number; status: CountedStatus; billedBefore: boolean };
  after: { mrr: number; status: CountedStatus };
  /** The shopper had a subscription of this store cancelled before this one was first billed. */
  returningCustomer: boolean;
}

/**
 * Which movement a change of one subscription's MRR is (null: none). 0 → more: `new` the first time it is
 * billed (`reactivation` when the shopper had cancelled a subscription before), `resumed` after a pause;
 * more → 0: `paused` when paused, else `churn`; more → more: `expansion` or `contraction`.
 */
export function movementOf(input: MovementInput): { kind: MovementKind; amountMinor: number } | null {
  const { before, after } = input;
  const delta = after.mrr - before.mrr;
  if (delta === 0) return null;
  if (before.mrr === 0) {
    if (before.billedBefore) return { kind: before.status === 'paused' ? 'resumed' : 'reactivation', amountMinor: after.mrr };
    return { kind: input.returningCustomer ? 'reactivation' : 'new', amountMinor: after.mrr };
  }
  if (after.mrr === 0) return { kind: after.status === 'paused' ? 'paused' : 'churn', amountMinor: before.mrr };
  return delta > 0 ? { kind: 'expansion', amountMinor: delta } : { kind: 'contraction', amountMinor: -delta };
}

/** A movement's effect on MRR: outgoing kinds subtract. */
export function signed(kind: MovementKind, amountMinor: number): number {
  return OUTGOING_KINDS.includes(kind) ? -amountMinor : amountMinor;
}

/** A rate as a fraction rounded to 4 places, or null when there is nothing to divide by. */
export function rate(numerator: number, denominator: number): number | null {
  if (denominator <= 0) return null;
  return Math.round((numerator / denominator) * 10_000) / 10_000;
}
