import { findAddon } from '../addons/addon.queries';
import { merchantProfile } from '../merchants/merchant.queries';
import { findPlan } from '../plans/plan.queries';
import { addLocalDays, cycleByKey, daysBetween, isBeforeCutoff, localDateOf, nextCycle, type BillingSchedule, type Cycle } from '../shared/calendar';
import { ConflictError, InvalidStateError, invalidInput, NotFoundError } from '../shared/errors';
import { newId } from '../shared/ids';
import { iso } from '../shared/schemas';
import { boxFor, boxKeysFollowing, firstCycleOnOrAfter, firstOpenChargedCycle, firstOpenCycle, isOpen } from './subscription-calendar';
import type { SubscriptionDeps } from './subscription-deps';
import { subscriptionSettingsOf, type SubscriptionSettings } from './subscription-settings';
import { canDo, SUBSCRIPTION_ACTIONS, type SubscriptionAction } from './subscription-states';
import { applyChange, changeWithRetry, findSubscription, subscriptionFact } from './subscription-store';
import { syncSubscriptionToStripe } from './subscription-stripe-sync.service';
import { toSubscriptionView } from './subscription-views';
import { SubscriptionModel, type BoxSelection, type Subscription, type SubscriptionAddon } from './subscription.model';
import type { SubscriptionView } from './subscription.schemas';

/**
 * What a shopper or the merchant changes on a subscription. Each use case checks the state machine
 * (subscription-states.ts) and the one rule for which boxes can still change (the first open box), writes one
 * guarded update with its fact, then brings Stripe in line and answers the subscription as it now is.
 */

async function settingsFor(merchantId: string): Promise<SubscriptionSettings> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  return subscriptionSettingsOf(merchant);
}

const ACTION_WORDS: Record<SubscriptionAction, string> = {
  skip: 'skip a box',
  pause: 'be paused',
  resume: 'be resumed',
  swap: 'change its box',
  setSecondChoice: 'have a second choice',
  changeCadence: 'change its cadence',
  moveChargeDate: 'move its charge date',
  changeAddons: 'change its add-ons',
  acceptSaveOffer: 'take a save offer',
  applyPromoCode: 'take a promo code',
  shipBoxElsewhere: 'send a box to another address',
  cancel: 'be cancelled',
  migratePrice: 'move to a new price',
};

export function requireCan(subscription: Subscription, action: SubscriptionAction): void {
  if (!canDo(subscription.status, action)) throw new InvalidStateError(`A ${subscription.status} subscription cannot ${ACTION_WORDS[action]}.`);
}

export async function changed(deps: SubscriptionDeps, updated: Subscription): Promise<SubscriptionView> {
  await syncSubscriptionToStripe(deps, updated);
  return toSubscriptionView(updated, deps.clock.now(), { history: true });
}

/** The cycle given (which must be open), or the first open box that will be charged. */
export function changeableCycle(subscription: Subscription, now: Date, cycleKey: string | undefined): Cycle {
  if (!cycleKey) {
    const cycle = firstOpenChargedCycle(subscription, now);
    if (!cycle) throw new InvalidStateError('No upcoming box can change.');
    return cycle;
  }
  const cycle = cycleByKey(subscription.schedule, cycleKey);
  if (!cycle) throw invalidInput('cycleKey', 'is not a charge date of this subscription');
  if (cycle.chargeAt <= now) throw new InvalidStateError(`The box of ${cycle.cycleKey} is already charged.`);
  if (!isOpen(subscription, cycle, now)) {
    throw new InvalidStateError(`The box of ${cycle.cycleKey} locked at ${cycle.cutoffAt.toISOString()} (its cut-off); it can no longer change.`);
  }
  return cycle;
}

export async function skipBox(
  deps: SubscriptionDeps,
  merchantId: string,
  subscriptionId: string,
  cycleKey: string | undefined,
  /** Taken as a save offer instead of cancelling: the fact says so (`saveOffer`), for the analytics. */
  asSaveOffer = false,
): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'skip');
  const cycle = changeableCycle(subscription, deps.clock.now(), cycleKey);
  if (subscription.skippedCycleKeys.includes(cycle.cycleKey)) throw new InvalidStateError(`The box of ${cycle.cycleKey} is already skipped.`);
  const updated = await applyChange(deps, subscription, { $addToSet: { skippedCycleKeys: cycle.cycleKey } }, 'subscription.skipped', {
    cycleKey: cycle.cycleKey,
    ...(asSaveOffer ? { saveOffer: 'skip_next' } : {}),
  });
  return changed(deps, updated);
}

export async function unskipBox(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, cycleKey: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'skip');
  if (!subscription.skippedCycleKeys.includes(cycleKey)) throw new InvalidStateError(`The box of ${cycleKey} is not skipped.`);
  changeableCycle(subscription, deps.clock.now(), cycleKey);
  const updated = await applyChange(deps, subscription, { $pull: { skippedCycleKeys: cycleKey } }, 'subscription.unskipped', { cycleKey });
  return changed(deps, updated);
}

export async function pauseSubscription(
  deps: SubscriptionDeps,
  merchantId: string,
  subscriptionId: string,
  input: { cycles?: number | undefined; until?: string | undefined },
  /** Taken as a save offer instead of cancelling: the fact says so (`saveOffer`), for the analytics. */
  asSaveOffer = false,
): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'pause');
  const now = deps.clock.now();
  // Boxes already locked (past their cut-off) still go out: the pause starts with the first open one.
  const startsOn = firstOpenCycle(subscription, now).chargeOn;
  let resumeOn: string;
  if (input.cycles !== undefined) {
    // Pause the next `cycles` boxes that can still change; the one after is the first charged again.
    let cycle = firstOpenCycle(subscription, now);
    for (let i = 0; i < input.cycles; i += 1) cycle = nextCycle(subscription.schedule, cycle.chargeAt);
    resumeOn = cycle.chargeOn;
  } else {
    if (input.until! <= localDateOf(now, subscription.schedule.timezone)) throw invalidInput('until', 'must be a date after today');
    resumeOn = firstCycleOnOrAfter(subscription.schedule, input.until!).chargeOn;
  }
  if (resumeOn <= startsOn) throw invalidInput('until', 'is before the next box that can still change');
  const updated = await applyChange(deps, subscription, { $set: { status: 'paused', pause: { pausedAt: now, startsOn, resumeOn } } }, 'subscription.paused', {
    startsOn,
    resumeOn,
    ...(input.cycles ? { cycles: input.cycles } : { until: input.until }),
    ...(asSaveOffer ? { saveOffer: 'pause' } : {}),
  });
  return changed(deps, updated);
}

export async function resumeSubscription(deps: SubscriptionDeps, merchantId: string, subscriptionId: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'resume');
  const updated = await applyChange(deps, subscription, { $set: { status: 'active' }, $unset: { pause: 1 } }, 'subscription.resumed', { automatic: false });
  return changed(deps, updated);
}

/** Changes plan or variant from the first cycle whose box is not locked: no proration, no surprise. */
export async function swapBox(
  deps: SubscriptionDeps,
  merchantId: string,
  subscriptionId: string,
  input: { planId?: string | undefined; variantId: string; cadence?: string | undefined },
): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'swap');
  const planId = input.planId ?? subscription.box.planId;
  const plan = await findPlan(merchantId, planId);
  if (!plan) throw invalidInput('planId', 'is not one of your plans');
  if (plan.status !== 'active' && planId !== subscription.box.planId) throw new InvalidStateError('This plan is archived and takes no new subscribers.');
  const variant = plan.variants.find((v) => v._id === input.variantId && v.status === 'active');
  if (!variant) throw invalidInput('variantId', 'is not an offered variant of this plan');
  const cadenceKey = input.cadence ?? subscription.box.cadenceKey;
  const cadence = plan.cadences.find((c) => c.key === cadenceKey && c.status === 'active');
  if (!cadence) throw invalidInput('cadence', 'is not offered by this plan');
  if (cadenceKey !== subscription.box.cadenceKey) throw invalidInput('cadence', 'is changed on its own (a change of cadence), not with a swap');
  const now = deps.clock.now();
  const effective = firstOpenCycle(subscription, now);
  // Same plan: they keep the price they have. Another plan: its current price (nextCharge shows it).
  const current = boxFor(subscription, effective);
  const priceId = planId === current.planId ? current.priceId : cadence.currentPriceId;
  if (!plan.prices.find((p) => p._id === priceId)?.stripePriceId)
    throw new InvalidStateError('This plan is not mirrored to Stripe yet; try again in a minute.');
  const target: BoxSelection = { planId, variantId: variant._id, cadenceKey, priceId };
  const update =
    effective.cycleKey === nextCycle(subscription.schedule, now).cycleKey
      ? { $set: { box: target }, $unset: { pendingChange: 1 as const } }
      : { $set: { pendingChange: { ...target, effectiveCycleKey: effective.cycleKey, requestedAt: now } } };
  const updated = await applyChange(deps, subscription, update, 'subscription.swapped', { from: current, to: target, effectiveCycleKey: effective.cycleKey });
  return changed(deps, updated);
}

/** The shopper's second choice: another active variant of their box's plan, or none. */
export async function setSecondChoice(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, variantId: string | null): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'setSecondChoice');
  if (variantId !== null) {
    const plan = await findPlan(merchantId, subscription.box.planId);
    const variant = plan?.variants.find((v) => v._id === variantId && v.status === 'active');
    if (!variant || variantId === subscription.box.variantId) throw invalidInput('variantId', "must be another offered variant of the box's plan");
  }
  const updated = await applyChange(
    deps,
    subscription,
    variantId === null ? { $unset: { secondChoiceVariantId: 1 } } : { $set: { secondChoiceVariantId: variantId } },
    'subscription.second_choice_set',
    { variantId },
  );
  return changed(deps, updated);
}

export async function cancelSubscription(
  deps: SubscriptionDeps,
  merchantId: string,
  subscriptionId: string,
  input: { mode: 'now' | 'period_end'; reason: string; comment?: string | undefined },
): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'cancel');
  const { cancellationReasons } = await settingsFor(merchantId);
  if (!cancellationReasons.includes(input.reason)) throw invalidInput('reason', `must be one of: ${cancellationReasons.join(', ')}`);
  if (subscription.cancellation?.mode === 'period_end' && input.mode === 'period_end') {
    throw new InvalidStateError('This subscription is already set to end at the end of its period.');
  }
  const now = deps.clock.now();
  const mode = subscription.status === 'incomplete' ? 'now' : input.mode;
  const effectiveAt = mode === 'now' ? now : nextCycle(subscription.schedule, now).chargeAt;
  const cancellation = { requestedAt: now, reason: input.reason, ...(input.comment ? { comment: input.comment } : {}), mode, effectiveAt };
  // Cancelling now: the push that follows cancels the Stripe subscription (and is retried until it has).
  const updated = await applyChange(
    deps,
    subscription,
    { $set: { cancellation, ...(mode === 'now' ? { status: 'cancelled' } : {}) } },
    mode === 'now' ? 'subscription.cancelled' : 'subscription.cancellation_scheduled',
    { reason: input.reason, ...(input.comment ? { comment: input.comment } : {}), mode, effectiveAt: iso(effectiveAt), from: subscription.status },
  );
  return changed(deps, updated);
}

export async function reactivateSubscription(deps: SubscriptionDeps, merchantId: string, subscriptionId: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  if (subscription.status === 'cancelled' || subscription.cancellation?.mode !== 'period_end') {
    throw new InvalidStateError('Only a subscription set to end at the end of its period can be reactivated; subscribe again instead.');
  }
  if (subscription.cancellation.effectiveAt <= deps.clock.now()) throw new InvalidStateError('This subscription has already ended.');
  const updated = await applyChange(deps, subscription, { $unset: { cancellation: 1 } }, 'subscription.reactivated', {
    reason: subscription.cancellation.reason,
  });
  return changed(deps, updated);
}

/**
 * The next cycle, which must be the first open box: changes of calendar move Stripe's next charge, so they
 * apply from the next box only, and not while a box before it is locked.
 */
function nextChangeableOrRefuse(subscription: Subscription, now: Date, what: string): Cycle {
  if (subscription.cancellation) {
    throw new InvalidStateError(`This subscription ends on ${subscription.cancellation.effectiveAt.toISOString()}; reactivate it to ${what}.`);
  }
  const next = nextCycle(subscription.schedule, now);
  if (!isOpen(subscription, next, now)) {
    throw new InvalidStateError(
      `The box of ${next.cycleKey} is locked (cut-off ${next.cutoffAt.toISOString()}); ${what} once the locked boxes are charged (the first open box is ${firstOpenCycle(subscription, now).cycleKey}).`,
    );
  }
  return next;
}

/**
 * Changes how often boxes come, from the next box (which must not be locked). The calendar is re-anchored
 * on that box's date; the price is the plan's current price for the new cadence. Stripe gets the new price
 * with no proration and keeps its next charge at that date.
 */
export async function changeCadence(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, cadenceKey: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'changeCadence');
  if (cadenceKey === subscription.box.cadenceKey) throw new InvalidStateError(`The subscription already comes every ${cadenceKey}.`);
  const plan = await findPlan(merchantId, subscription.box.planId);
  const cadence = plan?.cadences.find((c) => c.key === cadenceKey && c.status === 'active');
  if (!plan || !cadence) throw invalidInput('cadence', 'is not offered by this plan');
  const now = deps.clock.now();
  const next = nextChangeableOrRefuse(subscription, now, 'change the cadence');
  const schedule: BillingSchedule = {
    ...subscription.schedule,
    cadence: { interval: cadence.interval, intervalCount: cadence.intervalCount },
    anchorOn: next.chargeOn,
  };
  if (cadence.interval === 'week') {
    delete schedule.anchorDay;
  } else if (subscription.schedule.cadence.interval === 'month') {
    // Month to month keeps the intended day (a Jan 31 box whose next is Apr 30 stays on the 31st).
    schedule.anchorDay = subscription.schedule.anchorDay ?? Number(subscription.schedule.anchorOn.slice(8, 10));
  } else {
    schedule.anchorDay = Number(next.chargeOn.slice(8, 10));
  }
  const box: BoxSelection = { ...subscription.box, cadenceKey, priceId: cadence.currentPriceId };
  const updated = await applyChange(
    deps,
    subscription,
    {
      // A pending swap was for the old cadence's price: it does not carry over.
      $set: { schedule, box, ...boxKeysFollowing(subscription, next, schedule, { sameRhythm: false }), 'stripe.moveNextChargeTo': next.chargeAt },
      $unset: { pendingChange: 1 },
    },
    'subscription.cadence_changed',
    {
      from: subscription.box.cadenceKey,
      to: cadenceKey,
      fromCycleKey: next.cycleKey,
      fromPriceId: subscription.box.priceId,
      toPriceId: cadence.currentPriceId,
      planId: subscription.box.planId, // the plan the new price belongs to (a waiting swap to another plan is dropped)
    },
  );
  return changed(deps, updated);
}

/**
 * Moves the next charge to another date (and the calendar with it), within the merchant's limit. The box of
 * the new date must still be changeable, so its cut-off must be ahead.
 */
export async function changeChargeDate(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, date: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'moveChargeDate');
  const now = deps.clock.now();
  const next = nextChangeableOrRefuse(subscription, now, 'move the charge date');
  if (subscription.skippedCycleKeys.includes(next.cycleKey)) {
    throw new InvalidStateError(`The box of ${next.cycleKey} is skipped; un-skip it first, or move a later charge after it.`);
  }
  const limit = (await settingsFor(merchantId)).maxChargeDateShiftDays;
  const shift = daysBetween(next.chargeOn, date);
  if (shift === 0) throw new InvalidStateError(`The next charge is already on ${date}.`);
  if (Math.abs(shift) > limit) throw invalidInput('date', `must be within ${limit} days of the next charge (${next.chargeOn})`);
  const { schedule, moved } = movedTo(subscription, date);
  if (!isBeforeCutoff(moved, now)) throw invalidInput('date', `is too soon: its box would already be locked (cut-off ${moved.cutoffAt.toISOString()})`);
  const updated = await applyChange(
    deps,
    subscription,
    // The next box and every later one move together: what is keyed to each box goes with it.
    { $set: { schedule, ...boxKeysFollowing(subscription, next, schedule, { sameRhythm: true }), 'stripe.moveNextChargeTo': moved.chargeAt } },
    'subscription.charge_date_changed',
    { from: next.chargeOn, to: date },
  );
  return changed(deps, updated);
}

/** The calendar with its next charge moved to `date`, and the moved box's cycle. */
function movedTo(subscription: Subscription, date: string): { schedule: BillingSchedule; moved: Cycle } {
  const schedule: BillingSchedule = {
    ...subscription.schedule,
    anchorOn: date,
    ...(subscription.schedule.cadence.interval === 'month' ? { anchorDay: Number(date.slice(8, 10)) } : {}),
  };
  return { schedule, moved: cycleByKey(schedule, date)! };
}

export interface ChargeDateWindow {
  /** The next charge's date now. */
  nextChargeOn: string;
  /** The first and last dates changeChargeDate accepts now (local dates, inclusive; not the next charge's own date). */
  earliest: string;
  latest: string;
  /** The merchant's limit, in days either way of the next charge. */
  maxShiftDays: number;
  /** Days before a charge that its box locks: the reason the earliest date may be later than the limit allows. */
  cutoffDays: number;
}

/**
 * The dates the next charge can move to now, by the same rules as changeChargeDate (for a date picker that
 * says its range); null when the next charge cannot move at all now (the status, a cancellation, a locked
 * or skipped next box, or a limit of 0 days).
 */
export async function chargeDateWindow(deps: SubscriptionDeps, merchantId: string, subscriptionId: string): Promise<ChargeDateWindow | null> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  if (!canDo(subscription.status, 'moveChargeDate') || subscription.cancellation) return null;
  const now = deps.clock.now();
  const next = nextCycle(subscription.schedule, now);
  if (!isOpen(subscription, next, now) || subscription.skippedCycleKeys.includes(next.cycleKey)) return null;
  const limit = (await settingsFor(merchantId)).maxChargeDateShiftDays;
  const latest = addLocalDays(next.chargeOn, limit);
  let earliest = addLocalDays(next.chargeOn, -limit);
  // A date whose box would already be locked is refused: the window starts at the first one still open.
  while (earliest <= latest && !isBeforeCutoff(movedTo(subscription, earliest).moved, now)) earliest = addLocalDays(earliest, 1);
  if (limit === 0 || earliest > latest || (earliest === latest && latest === next.chargeOn)) return null;
  return { nextChargeOn: next.chargeOn, earliest, latest, maxShiftDays: limit, cutoffDays: subscription.schedule.cutoffDays };
}

/**
 * Puts an add-on in the box: a one-time extra in the next box that can still change, or a recurring one in
 * every box from it on. Billed on that cycle's invoice; stock is reserved when the box is built at cut-off.
 * The add-on's kind is the default; a recurring add-on may also be taken for the next box only (`kind:
 * 'one_time'`), while a one-time add-on (a limited edition, say) never comes in every box.
 * An add-on not released yet is open to subscribers a perk gives early access (asked of the retention layer).
 */
export async function addAddon(
  deps: SubscriptionDeps,
  merchantId: string,
  subscriptionId: string,
  input: { addonId: string; quantity: number; kind?: SubscriptionAddon['kind'] | undefined },
): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'changeAddons');
  const addon = await findAddon(merchantId, input.addonId);
  if (!addon || addon.status !== 'active') throw invalidInput('addonId', 'is not an add-on you offer');
  const kind = input.kind ?? addon.kind;
  if (kind === 'recurring' && addon.kind === 'one_time') throw invalidInput('kind', 'must be one_time: this add-on comes in one box only');
  const plan = await findPlan(merchantId, subscription.box.planId);
  if (plan && addon.currency !== plan.currency) throw invalidInput('addonId', `is priced in ${addon.currency}; this subscription pays in ${plan.currency}`);
  if (addon.stock.tracked && addon.stock.onHand < input.quantity) throw new InvalidStateError(`Only ${addon.stock.onHand} of this add-on left.`);
  const now = deps.clock.now();
  const cycle = firstOpenChargedCycle(subscription, now);
  if (!cycle) throw new InvalidStateError('No upcoming box can take an add-on.');
  if (addon.releasesOn && localDateOf(now, subscription.schedule.timezone) < addon.releasesOn) {
    const early = deps.questions?.hasEarlyAccess ? await deps.questions.hasEarlyAccess(subscription, addon._id, cycle) : false;
    if (!early) throw new InvalidStateError(`This add-on is available from ${addon.releasesOn}; early access is a perk for some subscribers.`);
  }
  const line: SubscriptionAddon = {
    _id: newId('sadd'),
    addonId: addon._id,
    priceId: addon.currentPriceId,
    quantity: input.quantity,
    kind,
    fromCycleKey: cycle.cycleKey,
    addedAt: now,
  };
  const updated = await applyChange(deps, subscription, { $push: { addons: line } }, 'subscription.addon_added', {
    lineId: line._id,
    addonId: addon._id,
    quantity: input.quantity,
    kind,
    cycleKey: cycle.cycleKey,
  });
  return changed(deps, updated);
}

export async function removeAddon(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, lineId: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'changeAddons');
  const line = subscription.addons.find((a) => a._id === lineId);
  if (!line) throw new NotFoundError('No add-on with this id on this subscription.');
  const cycle = cycleByKey(subscription.schedule, line.fromCycleKey);
  if (line.kind === 'one_time' && cycle && !isOpen(subscription, cycle, deps.clock.now())) {
    throw new InvalidStateError(`The box of ${line.fromCycleKey} is locked; its add-on can no longer be removed.`);
  }
  const updated = await applyChange(deps, subscription, { $pull: { addons: { _id: lineId } } }, 'subscription.addon_removed', {
    addonId: line.addonId,
    lineId,
  });
  return changed(deps, updated);
}

export interface SaveOffer {
  type: 'skip_next' | 'pause' | 'discount';
  description: string;
  cycleKey?: string;
  cycles?: number;
  percentOff?: number;
}

/**
 * What the merchant offers a shopper about to cancel, instead of cancelling, given where the subscription
 * stands: skip the next box, pause for a while, or a one-time discount on the next box (once per subscription).
 */
export async function listSaveOffers(deps: SubscriptionDeps, merchantId: string, subscriptionId: string): Promise<SaveOffer[]> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  if (!canDo(subscription.status, 'acceptSaveOffer') || subscription.cancellation) return [];
  const { saveOffers } = await settingsFor(merchantId);
  const next = firstOpenChargedCycle(subscription, deps.clock.now());
  const offers: SaveOffer[] = [];
  if (saveOffers.skipNext && next && subscription.status !== 'paused') {
    offers.push({ type: 'skip_next', cycleKey: next.cycleKey, description: `Skip the box of ${next.cycleKey} and keep your subscription` });
  }
  if (saveOffers.pauseCycles > 0 && subscription.status !== 'paused') {
    offers.push({ type: 'pause', cycles: saveOffers.pauseCycles, description: `Pause for up to ${saveOffers.pauseCycles} boxes` });
  }
  if (saveOffers.discountPercentOff > 0 && next && !(subscription.discounts ?? []).some((d) => d.source === 'save_offer')) {
    offers.push({
      type: 'discount',
      percentOff: saveOffers.discountPercentOff,
      cycleKey: next.cycleKey,
      description: `${saveOffers.discountPercentOff}% off your box of ${next.cycleKey}`,
    });
  }
  return offers;
}

/**
 * The shopper about to cancel was shown this offer instead (the portal's cancel flow), recorded as a fact for
 * the save-offer metrics; nothing else changes (no push to Stripe).
 */
export async function recordSaveOfferShown(
  deps: SubscriptionDeps,
  merchantId: string,
  subscriptionId: string,
  shown: { type: SaveOffer['type']; reason: string },
): Promise<void> {
  await findSubscription(merchantId, subscriptionId);
  await changeWithRetry(deps, subscriptionId, () => ({
    update: {},
    facts: [subscriptionFact(deps, 'subscription.save_offer_shown', { type: shown.type, reason: shown.reason })],
    pushToStripe: false,
  }));
}

/** Accepts one of the offers listed by listSaveOffers; an offer not on that list is refused. */
export async function acceptSaveOffer(
  deps: SubscriptionDeps,
  merchantId: string,
  subscriptionId: string,
  input: { type: SaveOffer['type']; cycles?: number | undefined },
): Promise<SubscriptionView> {
  const offer = (await listSaveOffers(deps, merchantId, subscriptionId)).find((o) => o.type === input.type);
  if (!offer) throw new InvalidStateError(`The ${input.type} offer is not available for this subscription.`);
  if (offer.type === 'skip_next') return skipBox(deps, merchantId, subscriptionId, offer.cycleKey, true);
  if (offer.type === 'pause') {
    const cycles = input.cycles ?? offer.cycles!;
    if (cycles > offer.cycles!) throw invalidInput('cycles', `must be at most ${offer.cycles}`);
    return pauseSubscription(deps, merchantId, subscriptionId, { cycles }, true);
  }
  const subscription = await findSubscription(merchantId, subscriptionId);
  const discount = { _id: newId('sdis'), cycleKey: offer.cycleKey!, percentOff: offer.percentOff!, source: 'save_offer' as const, createdAt: deps.clock.now() };
  const updated = await applyChange(deps, subscription, { $push: { discounts: discount } }, 'subscription.save_offer_accepted', {
    type: 'discount',
    percentOff: discount.percentOff,
    cycleKey: discount.cycleKey,
  });
  return changed(deps, updated);
}

/**
 * Moves the subscribers of a plan's cadence who are on an older price to the current one, each from their
 * first box that is not locked yet (the price they were told stays for a locked box). Re-running it changes
 * nothing twice: only subscriptions still on an older price are touched, each with a revision-guarded update.
 */
export async function migrateSubscribersToCurrentPrice(
  deps: SubscriptionDeps,
  merchantId: string,
  planId: string,
  cadenceKey: string,
): Promise<{ migrated: number; priceId: string }> {
  const plan = await findPlan(merchantId, planId);
  if (!plan) throw new NotFoundError('No plan with this id.');
  const cadence = plan.cadences.find((c) => c.key === cadenceKey);
  if (!cadence) throw invalidInput('cadence', 'is not a cadence of this plan');
  const priceId = cadence.currentPriceId;
  const now = deps.clock.now();
  let migrated = 0;
  const candidates = SubscriptionModel.find({
    merchantId,
    'box.planId': planId,
    'box.cadenceKey': cadenceKey,
    'box.priceId': { $ne: priceId },
    status: { $in: SUBSCRIPTION_ACTIONS.migratePrice },
  })
    .lean()
    .cursor();
  for await (const subscription of candidates) {
    const effective = firstOpenCycle(subscription, now);
    const target: BoxSelection = { ...boxFor(subscription, effective), priceId };
    const immediate = effective.cycleKey === nextCycle(subscription.schedule, now).cycleKey;
    try {
      const updated = await applyChange(
        deps,
        subscription,
        immediate
          ? { $set: { box: target }, $unset: { pendingChange: 1 } }
          : { $set: { pendingChange: { ...target, effectiveCycleKey: effective.cycleKey, requestedAt: now } } },
        'subscription.price_migrated',
        { fromPriceId: subscription.box.priceId, toPriceId: priceId, effectiveCycleKey: effective.cycleKey },
      );
      await syncSubscriptionToStripe(deps, updated);
      migrated += 1;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // changed meanwhile: a re-run picks it up
    }
  }
  return { migrated, priceId };
}
