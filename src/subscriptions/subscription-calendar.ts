import { cycleAt, cycleByKey, isBeforeCutoff, localDateOf, localTimeOf, nextCycle, type BillingSchedule, type Cycle } from '../shared/calendar';
import type { PostalAddress } from '../customers/customer.model';
import type { BoxSelection, Subscription, SubscriptionAddon } from './subscription.model';
import { isStatusIn, NOT_CHARGING } from './subscription-states';

/**
 * A subscription's calendar: which cycles are charged, which box each gets, and the one rule for which boxes
 * can still change. Pure functions of the subscription document and an instant.
 */

const HOUR_MS = 3_600_000;

export type CycleState = 'scheduled' | 'skipped' | 'paused';

export function cycleState(subscription: Pick<Subscription, 'pause' | 'skippedCycleKeys'>, cycle: Cycle): CycleState {
  const pause = subscription.pause;
  if (pause && cycle.chargeOn >= pause.startsOn && (!pause.resumeOn || cycle.chargeOn < pause.resumeOn)) return 'paused';
  if (subscription.skippedCycleKeys.includes(cycle.cycleKey)) return 'skipped';
  return 'scheduled';
}

/** Will this cycle be charged and its box sent? Not when skipped, paused, after a cancellation, or once ended. */
export function isCycleCharged(subscription: Subscription, cycle: Cycle): boolean {
  if (isStatusIn(subscription.status, NOT_CHARGING)) return false;
  const end = subscription.cancellation?.effectiveAt;
  if (end && cycle.chargeAt >= end) return false;
  return cycleState(subscription, cycle) === 'scheduled';
}

/** The next cycle that will be charged after `now`, or undefined when none will (paused with no end, cancelled). */
export function nextChargedCycle(subscription: Subscription, now: Date): Cycle | undefined {
  if (isStatusIn(subscription.status, NOT_CHARGING)) return undefined;
  const end = subscription.cancellation?.effectiveAt;
  let cycle = nextCycle(subscription.schedule, now);
  for (let i = 0; i < 500; i += 1) {
    if (end && cycle.chargeAt >= end) return undefined;
    if (cycleState(subscription, cycle) === 'scheduled') return cycle;
    // Paused with no end: nothing after this is charged.
    if (subscription.pause && !subscription.pause.resumeOn && cycle.chargeOn >= subscription.pause.startsOn) return undefined;
    cycle = nextCycle(subscription.schedule, cycle.chargeAt);
  }
  return undefined;
}

/** The box (plan, variant, price) a given cycle gets: the pending change once its cycle comes. */
export function boxFor(subscription: Pick<Subscription, 'box' | 'pendingChange'>, cycle: Cycle): BoxSelection {
  const change = subscription.pendingChange;
  return change && cycle.chargeOn >= change.effectiveCycleKey ? change : subscription.box;
}

/**
 * The first box still open: the first cycle whose cut-off is ahead. Every cycle before it is locked (its box
 * is built, or charged), and there can be several when the cut-off is as long as the cadence. This is the one
 * rule every change of a box goes by: skip, unskip, pause, swap, cadence, charge date, add-ons, save offers,
 * a price migration, a dunning that ends in a pause; the renewal builds every box before it.
 */
export function firstOpenCycle(subscription: Pick<Subscription, 'schedule'>, now: Date): Cycle {
  let cycle = nextCycle(subscription.schedule, now);
  while (!isBeforeCutoff(cycle, now)) cycle = nextCycle(subscription.schedule, cycle.chargeAt);
  return cycle;
}

/** Whether a cycle's box can still change: it is the first open box or after it. */
export function isOpen(subscription: Pick<Subscription, 'schedule'>, cycle: Cycle, now: Date): boolean {
  return cycle.index >= firstOpenCycle(subscription, now).index;
}

/** The first open box that will be charged (not skipped or paused, before any cancellation), if any. */
export function firstOpenChargedCycle(subscription: Subscription, now: Date): Cycle | undefined {
  const open = firstOpenCycle(subscription, now);
  return nextChargedCycle(subscription, new Date(open.chargeAt.getTime() - 1));
}

/** The first cycle charged on or after a local date. */
export function firstCycleOnOrAfter(schedule: BillingSchedule, date: string): Cycle {
  // Start two days early (any zone's local date is within a day of UTC), then step: a handful of steps.
  let cycle = nextCycle(schedule, new Date(Date.parse(`${date}T00:00:00Z`) - 2 * 86_400_000));
  while (cycle.chargeOn < date) cycle = nextCycle(schedule, cycle.chargeAt);
  return cycle;
}

/**
 * The calendar with cycle 0 at `instant` (Stripe's billing anchor): same cadence, zone and cut-off; the
 * local date and time of day of that instant; a monthly calendar keeps that day of the month.
 */
export function anchoredScheduleAt(schedule: BillingSchedule, instant: Date): BillingSchedule {
  const { anchorDay: _anchorDay, ...rest } = schedule;
  return { ...rest, anchorOn: localDateOf(instant, schedule.timezone), chargeAt: localTimeOf(instant, schedule.timezone) };
}

/** Stripe renews at a fixed UTC instant while our calendar keeps local time: they differ by at most an hour (DST). */
const PERIOD_TOLERANCE_MS = 12 * HOUR_MS;

/**
 * The cycle a Stripe invoice bills: the one whose charge is at the start of the billed period (within the
 * tolerance). None when no cycle is charged then — an invoice that bills no box of ours, such as the $0
 * invoice Stripe makes when a trial starts (its period starts at sign-up; the first box is at the trial's end).
 */
export function cycleOfPeriodStart(subscription: Pick<Subscription, 'schedule'>, periodStart: Date): Cycle | undefined {
  const cycle = nextCycle(subscription.schedule, new Date(periodStart.getTime() - PERIOD_TOLERANCE_MS));
  return Math.abs(cycle.chargeAt.getTime() - periodStart.getTime()) <= PERIOD_TOLERANCE_MS ? cycle : undefined;
}

/** Add-on lines that go into a cycle's box. */
export function addonsFor(subscription: Pick<Subscription, 'addons'>, cycle: Cycle): SubscriptionAddon[] {
  return subscription.addons.filter((line) => (line.kind === 'one_time' ? line.fromCycleKey === cycle.cycleKey : line.fromCycleKey <= cycle.cycleKey));
}

/** Where a cycle's box goes when the shopper sent it elsewhere; undefined: to the shopper's own address. */
export function boxAddressFor(subscription: Pick<Subscription, 'boxAddresses'>, cycleKey: string): PostalAddress | undefined {
  return subscription.boxAddresses?.find((entry) => entry.cycleKey === cycleKey)?.address;
}

/**
 * What is keyed to a box follows it when the calendar moves from `from` on: the k-th box from `from` on the
 * old calendar is the k-th box of the new one (whose cycle 0 is `from` at its new date). A box's one-time
 * discount, its add-ons, the first-box offer and the boxes a promo code covers stay with them wherever their
 * dates go, and so does the address a box was sent to; so do its skip and a
 * swap waiting for it when only the date moves (`sameRhythm`). When the cadence changes, later skips were
 * made for the old rhythm's dates and are dropped (the next box keeps its date, and its skip); a pending
 * swap is dropped by the caller. Boxes before `from` keep their dates.
 */
export function boxKeysFollowing(
  subscription: Subscription,
  from: Cycle,
  schedule: BillingSchedule,
  options: { sameRhythm: boolean },
): Record<string, unknown> {
  const follow = (key: string): string => {
    const old = key < from.cycleKey ? undefined : cycleByKey(subscription.schedule, key);
    return old ? cycleAt(schedule, old.index - from.index).cycleKey : key;
  };
  const change = subscription.pendingChange;
  return {
    addons: subscription.addons.map((line) => ({ ...line, fromCycleKey: follow(line.fromCycleKey) })),
    discounts: (subscription.discounts ?? []).map((discount) =>
      discount.source === 'promo_code' && discount.untilCycleKey !== undefined
        ? { ...discount, cycleKey: follow(discount.cycleKey), untilCycleKey: follow(discount.untilCycleKey) }
        : { ...discount, cycleKey: follow(discount.cycleKey) },
    ),
    firstChargeKey: follow(subscription.firstChargeKey),
    ...(subscription.boxAddresses?.length ? { boxAddresses: subscription.boxAddresses.map((entry) => ({ ...entry, cycleKey: follow(entry.cycleKey) })) } : {}),
    skippedCycleKeys: options.sameRhythm ? subscription.skippedCycleKeys.map(follow) : subscription.skippedCycleKeys.filter((key) => key <= from.chargeOn),
    ...(options.sameRhythm && change ? { 'pendingChange.effectiveCycleKey': follow(change.effectiveCycleKey) } : {}),
  };
}

/**
 * The first box, while it is not an ordinary upcoming cycle: charged at sign-up (saved card) or at Checkout,
 * its charge is not ahead, so the calendar's next cycle is the second box. The cycle of the first charge, or
 * undefined when it is ahead (a trial) or past the first period.
 */
export function firstBoxCycle(subscription: Subscription, now: Date): Cycle | undefined {
  // The first box's date at the calendar's time of day (a cadence change may have anchored the calendar after it).
  const { anchorDay: _anchorDay, ...schedule } = subscription.schedule;
  const cycle = cycleAt({ ...schedule, anchorOn: subscription.firstChargeKey }, 0);
  if (subscription.status === 'incomplete') return cycle;
  const next = nextCycle(subscription.schedule, now);
  const previous = next.index > 0 ? cycleAt(subscription.schedule, next.index - 1) : undefined;
  if (cycle.chargeAt > now || (previous && previous.chargeOn > cycle.chargeOn)) return undefined;
  return cycle;
}
