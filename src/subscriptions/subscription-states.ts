/**
 * The subscription state machine, as data: its statuses, the moves between them, and which statuses allow
 * each action. Every service asks this table; no other file lists statuses.
 *
 *   incomplete ─┬─▶ trialing ─┬─▶ active ◀──▶ past_due
 *               └─▶ active    │     ▲ │           │
 *                             │     │ ▼           │
 *                             │   paused ◀────────┘ (dunning ends: pause)
 *   any but cancelled ───────────────▶ cancelled (final)
 */
export const SUBSCRIPTION_STATUSES = ['incomplete', 'trialing', 'active', 'paused', 'past_due', 'cancelled'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** Where a subscription may go from each status. */
export const SUBSCRIPTION_TRANSITIONS: Record<SubscriptionStatus, readonly SubscriptionStatus[]> = {
  incomplete: ['trialing', 'active', 'past_due', 'cancelled'],
  trialing: ['active', 'past_due', 'paused', 'cancelled'],
  active: ['past_due', 'paused', 'cancelled'],
  past_due: ['active', 'paused', 'cancelled'],
  paused: ['active', 'past_due', 'cancelled'],
  cancelled: [],
};

/** What a shopper or merchant can do, and in which statuses. */
export const SUBSCRIPTION_ACTIONS = {
  skip: ['trialing', 'active', 'past_due'],
  pause: ['trialing', 'active'],
  resume: ['paused'],
  swap: ['trialing', 'active', 'paused'],
  setSecondChoice: ['trialing', 'active', 'paused', 'past_due'],
  changeCadence: ['trialing', 'active'],
  moveChargeDate: ['trialing', 'active'],
  changeAddons: ['trialing', 'active', 'paused'],
  acceptSaveOffer: ['trialing', 'active', 'paused'],
  applyPromoCode: ['trialing', 'active', 'paused'],
  shipBoxElsewhere: ['trialing', 'active', 'paused', 'past_due'],
  cancel: ['incomplete', 'trialing', 'active', 'paused', 'past_due'],
  migratePrice: ['trialing', 'active', 'paused', 'past_due'],
} as const satisfies Record<string, readonly SubscriptionStatus[]>;
export type SubscriptionAction = keyof typeof SUBSCRIPTION_ACTIONS;

/** Statuses in which boxes are still to come (possibly later, when paused or past due). */
export const LIVE_STATUSES: readonly SubscriptionStatus[] = ['trialing', 'active', 'paused', 'past_due'];
/** Statuses that Stripe bills on schedule: their next box is built at its cut-off. */
export const BUILDING_STATUSES: readonly SubscriptionStatus[] = ['trialing', 'active', 'paused'];
/** Statuses a paid invoice turns into `active` (a trial ended, a dunning recovered, a checkout completed). */
export const ACTIVATED_BY_PAYMENT: readonly SubscriptionStatus[] = ['incomplete', 'trialing', 'past_due'];
/** Statuses in which a failed payment starts dunning (`past_due`). */
export const ENTERS_DUNNING: readonly SubscriptionStatus[] = ['trialing', 'active'];
/** Statuses in which Stripe's "unpaid" (retries over) applies the merchant's dunning outcome. */
export const ENDS_DUNNING: readonly SubscriptionStatus[] = ['trialing', 'active', 'past_due'];
/** Statuses in which no cycle is charged. */
export const NOT_CHARGING: readonly SubscriptionStatus[] = ['incomplete', 'cancelled'];

export function isStatusIn(status: SubscriptionStatus, statuses: readonly SubscriptionStatus[]): boolean {
  return statuses.includes(status);
}

export function canDo(status: SubscriptionStatus, action: SubscriptionAction): boolean {
  return (SUBSCRIPTION_ACTIONS[action] as readonly SubscriptionStatus[]).includes(status);
}

export function canMove(from: SubscriptionStatus, to: SubscriptionStatus): boolean {
  return SUBSCRIPTION_TRANSITIONS[from].includes(to);
}
