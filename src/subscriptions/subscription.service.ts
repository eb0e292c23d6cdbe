import { CustomerModel } from '../customers/customer.model';
import { ensureStripeCustomer } from '../customers/customer.service';
import { MerchantModel } from '../merchants/merchant.model';
import { PlanModel, type FirstBoxDiscount, type Plan } from '../plans/plan.model';
import { comebackOfferFor } from '../offers/offer.service';
import { standingOf } from '../loyalty/loyalty-standing.service';
import { isEligible } from '../perks/eligibility';
import { activePerks } from '../perks/perk.service';
import { attributeReferral } from '../referrals/referral.service';
import { cycleAt, cycleByKey, daysBetween, localDateOf, localTimeOf, nextCycle, upcomingCycles, isBeforeCutoff, type BillingSchedule, type Cycle } from '../shared/calendar';
import { isDuplicateKeyError } from '../shared/db';
import { ConflictError, InvalidStateError, NotFoundError, OutOfStockError, ValidationError } from '../shared/errors';
import { derivedId, newId } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { percentOf } from '../shared/money';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import type { StripeGateway } from '../stripe/stripe-gateway';
import { AddonModel } from '../addons/addon.model';
import { BoxOrderModel, type LineGrant, type LineKind } from '../orders/box-order.model';
import { canFillPlanLine } from '../orders/order-stock.service';
import { subscriptionSettingsOf, type SubscriptionSettings } from './subscription-settings';
import {
  SubscriptionEventModel,
  SubscriptionModel,
  type BoxSelection,
  type FirstBoxOffer,
  type Subscription,
  type SubscriptionAddon,
  type SubscriptionStatus,
} from './subscription.model';
import type { CreateSubscriptionBody, SubscriptionView } from './subscription.schemas';

/** What keeping a subscription in step with Stripe needs (the sync job has exactly this). */
export interface SubscriptionSyncDeps {
  clock: Clock;
  stripe: StripeGateway;
  logger: Logger;
}

export interface SubscriptionDeps extends SubscriptionSyncDeps {
  publicUrl: string;
}

const LIVE: SubscriptionStatus[] = ['trialing', 'active', 'past_due'];
const HOUR_MS = 3_600_000;

// ---------------------------------------------------------------------------------------------------------
// Reading: the calendar of a subscription and what the shopper will pay next
// ---------------------------------------------------------------------------------------------------------

type CycleState = 'scheduled' | 'skipped' | 'paused';

function cycleState(subscription: Subscription, cycle: Cycle): CycleState {
  const pause = subscription.pause;
  if (pause && cycle.chargeOn >= pause.startsOn && (!pause.resumeOn || cycle.chargeOn < pause.resumeOn)) return 'paused';
  if (subscription.skippedCycleKeys.includes(cycle.cycleKey)) return 'skipped';
  return 'scheduled';
}

/** Will this cycle be charged and its box sent? Not when skipped, paused, after a cancellation, or once ended. */
export function isCycleCharged(subscription: Subscription, cycle: Cycle): boolean {
  if (subscription.status === 'cancelled' || subscription.status === 'incomplete') return false;
  const end = subscription.cancellation?.effectiveAt;
  if (end && cycle.chargeAt >= end) return false;
  return cycleState(subscription, cycle) === 'scheduled';
}

/** The next cycle that will be charged after `now`, or undefined when none will (paused with no end, cancelled). */
export function nextChargedCycle(subscription: Subscription, now: Date): Cycle | undefined {
  if (subscription.status === 'cancelled' || subscription.status === 'incomplete') return undefined;
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
function boxFor(subscription: Subscription, cycle: Cycle): BoxSelection {
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
function isOpen(subscription: Subscription, cycle: Cycle, now: Date): boolean {
  return cycle.index >= firstOpenCycle(subscription, now).index;
}

/** The first open box that will be charged (not skipped or paused, before any cancellation), if any. */
function firstOpenChargedCycle(subscription: Subscription, now: Date): Cycle | undefined {
  const open = firstOpenCycle(subscription, now);
  return nextChargedCycle(subscription, new Date(open.chargeAt.getTime() - 1));
}

// ---------------------------------------------------------------------------------------------------------
// What is in a cycle's box, and what it costs
// ---------------------------------------------------------------------------------------------------------

export interface BoxLine {
  kind: LineKind;
  /** Stable within the cycle: `plan`, `addon:<subscription add-on line id>`, `discount:<what>`, `gift:<award>`... */
  key: string;
  /** Why the retention engine put it in the box (perks, gifts, offers, loyalty). */
  grantedBy?: LineGrant;
  description: string;
  sku?: string;
  quantity: number;
  unitAmountMinor: number;
  planId?: string;
  variantId?: string;
  addonId?: string;
  /** Our price id the line is charged at (plan or add-on price). */
  priceId?: string;
}

/**
 * The lines of a cycle's box: the plan variant at the subscriber's price, the add-ons for that cycle, the
 * first-box discount on the first charge and any one-time discount for that cycle. All integer minor units.
 */
export async function boxContentsFor(
  subscription: Subscription,
  cycle: Cycle,
  /** Plans the caller already read (the view does), to read them once. */
  plans?: Map<string, Plan>,
): Promise<{ box: BoxSelection; lines: BoxLine[]; totalMinor: number; currency: string }> {
  const box = boxFor(subscription, cycle);
  const plan = plans?.get(box.planId) ?? (await PlanModel.findOne({ _id: box.planId, merchantId: subscription.merchantId }).lean());
  const variant = plan?.variants.find((v) => v._id === box.variantId);
  const price = plan?.prices.find((p) => p._id === box.priceId);
  if (!plan || !variant || !price) throw new Error(`subscription ${subscription._id} refers to a missing plan part`);
  const lines: BoxLine[] = [
    {
      kind: 'plan',
      key: 'plan',
      description: `${plan.name}: ${variant.name}`,
      sku: variant.sku,
      quantity: 1,
      unitAmountMinor: price.amountMinor,
      planId: plan._id,
      variantId: variant._id,
      priceId: price._id,
    },
  ];
  const extras = addonsFor(subscription, cycle);
  if (extras.length > 0) {
    const addons = new Map(
      (await AddonModel.find({ _id: { $in: extras.map((line) => line.addonId) }, merchantId: subscription.merchantId }).lean()).map((a) => [a._id, a]),
    );
    for (const line of extras) {
      const addon = addons.get(line.addonId);
      const addonPrice = addon?.prices.find((p) => p._id === line.priceId);
      if (addon && addonPrice) {
        lines.push({
          kind: 'addon',
          key: `addon:${line._id}`,
          description: addon.name,
          sku: addon.sku,
          quantity: line.quantity,
          unitAmountMinor: addonPrice.amountMinor,
          addonId: addon._id,
          priceId: addonPrice._id,
        });
      }
    }
  }
  const subtotal = (): number => lines.reduce((sum, line) => sum + line.unitAmountMinor * line.quantity, 0);
  const firstBox = subscription.firstBoxOffer ?? (plan.firstBoxDiscount ? planFirstBoxOffer(plan.firstBoxDiscount) : undefined);
  if (cycle.cycleKey === subscription.firstChargeKey && firstBox) {
    lines.push({ kind: 'discount', key: 'discount:first-box', description: firstBox.description, quantity: 1, unitAmountMinor: -firstBoxOff(firstBox, price.amountMinor) });
  }
  for (const discount of (subscription.discounts ?? []).filter((d) => d.cycleKey === cycle.cycleKey)) {
    lines.push({
      kind: 'discount',
      key: `discount:${discount._id}`,
      description: `${discount.percentOff}% off this box`,
      quantity: 1,
      unitAmountMinor: -percentOf(subtotal(), discount.percentOff),
    });
  }
  return { box, lines, totalMinor: subtotal(), currency: price.currency };
}

function planFirstBoxOffer(discount: FirstBoxDiscount): FirstBoxOffer {
  return discount.type === 'amount'
    ? { source: 'plan', description: 'First box discount', amountOffMinor: discount.amountOffMinor }
    : { source: 'plan', description: 'First box discount', percentOff: discount.percentOff };
}

/** What a first-box offer takes off a box of this price. */
function firstBoxOff(offer: FirstBoxOffer, priceMinor: number): number {
  return offer.percentOff !== undefined ? percentOf(priceMinor, offer.percentOff) : Math.min(offer.amountOffMinor ?? 0, priceMinor);
}

/**
 * The calendar with cycle 0 at `instant` (Stripe's billing anchor): same cadence, zone and cut-off; the
 * local date and time of day of that instant; a monthly calendar keeps that day of the month.
 */
export function anchoredScheduleAt(schedule: BillingSchedule, instant: Date): BillingSchedule {
  const { anchorDay: _anchorDay, ...rest } = schedule;
  return { ...rest, anchorOn: localDateOf(instant, schedule.timezone), chargeAt: localTimeOf(instant, schedule.timezone) };
}

/** The cycle a Stripe invoice period belongs to: Stripe's UTC instant and our local-time calendar differ by at most an hour. */
export function cycleOfPeriodStart(subscription: Subscription, periodStart: Date): Cycle {
  return nextCycle(subscription.schedule, new Date(periodStart.getTime() - 12 * HOUR_MS));
}

// ---------------------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------------------

async function plansOf(subscription: Subscription): Promise<Map<string, Plan>> {
  const ids = [...new Set([subscription.box.planId, subscription.pendingChange?.planId].filter((id): id is string => Boolean(id)))];
  const plans = await PlanModel.find({ _id: { $in: ids }, merchantId: subscription.merchantId }).lean();
  return new Map(plans.map((plan) => [plan._id, plan]));
}

function boxView(box: BoxSelection, plans: Map<string, Plan>) {
  const plan = plans.get(box.planId);
  const variant = plan?.variants.find((v) => v._id === box.variantId);
  const cadence = plan?.cadences.find((c) => c.key === box.cadenceKey);
  const price = plan?.prices.find((p) => p._id === box.priceId);
  if (!plan || !variant || !cadence || !price) throw new Error(`subscription box refers to a missing plan part: ${JSON.stringify(box)}`);
  return {
    planId: plan._id,
    planName: plan.name,
    variantId: variant._id,
    variantName: variant.name,
    cadence: { key: cadence.key, interval: cadence.interval, intervalCount: cadence.intervalCount },
    price: { id: price._id, amountMinor: price.amountMinor, currency: price.currency },
  };
}

type FirstBoxState = 'awaiting_payment' | 'charged';

/**
 * The first box, while it is not an ordinary upcoming cycle: charged at sign-up (saved card) or at Checkout,
 * its charge is not ahead, so the calendar's next cycle is the second box. It is shown through the first
 * period, `awaiting_payment` until the shopper has paid (Checkout open, or the first invoice failing) and
 * `charged` once Stripe has taken the payment. None after the first period, or for a cancelled subscription.
 */
async function firstBoxOf(subscription: Subscription, now: Date): Promise<{ cycle: Cycle; state: FirstBoxState } | undefined> {
  if (subscription.status === 'cancelled') return undefined;
  // The first box's date at the calendar's time of day (a cadence change may have anchored the calendar after it).
  const { anchorDay: _anchorDay, ...schedule } = subscription.schedule;
  const cycle = cycleAt({ ...schedule, anchorOn: subscription.firstChargeKey }, 0);
  if (subscription.status === 'incomplete') return { cycle, state: 'awaiting_payment' };
  const next = nextCycle(subscription.schedule, now);
  const previous = next.index > 0 ? cycleAt(subscription.schedule, next.index - 1) : undefined;
  // Ahead (a trial): an ordinary upcoming cycle. Past the first period: a box like the others.
  if (cycle.chargeAt > now || (previous && previous.chargeOn > cycle.chargeOn)) return undefined;
  if (subscription.status === 'past_due') {
    const paid = await BoxOrderModel.exists({ subscriptionId: subscription._id, cycleKey: cycle.cycleKey, stripeInvoiceId: { $exists: true } });
    if (!paid) return { cycle, state: 'awaiting_payment' };
  }
  return { cycle, state: 'charged' };
}

async function nextChargeView(subscription: Subscription, cycle: Cycle, plans: Map<string, Plan>): Promise<NonNullable<SubscriptionView['nextCharge']>> {
  const contents = await boxContentsFor(subscription, cycle, plans);
  return {
    cycleKey: cycle.cycleKey,
    chargeAt: iso(cycle.chargeAt),
    cutoffAt: iso(cycle.cutoffAt),
    box: boxView(boxFor(subscription, cycle), plans),
    lines: contents.lines.map((line) => ({ description: line.description, quantity: line.quantity, amountMinor: line.unitAmountMinor })),
    total: { amountMinor: contents.totalMinor, currency: contents.currency },
  };
}

export async function toSubscriptionView(subscription: Subscription, now: Date, options: { history: boolean; checkoutUrl?: string | null }): Promise<SubscriptionView> {
  const plans = await plansOf(subscription);
  const first = await firstBoxOf(subscription, now);
  const cycleView = (cycle: Cycle, state: CycleState | FirstBoxState) => ({ cycleKey: cycle.cycleKey, chargeAt: iso(cycle.chargeAt), cutoffAt: iso(cycle.cutoffAt), state });
  // Until Checkout is paid the first box is what the shopper pays next, and nothing after it is due yet.
  if (subscription.status === 'incomplete') {
    return viewOf(subscription, plans, options, first ? await nextChargeView(subscription, first.cycle, plans) : null, first ? [cycleView(first.cycle, first.state)] : []);
  }
  const next = nextChargedCycle(subscription, now);
  const nextCharge = next ? await nextChargeView(subscription, next, plans) : null;
  const upcoming =
    subscription.status === 'cancelled'
      ? []
      : [
          ...(first ? [cycleView(first.cycle, first.state)] : []),
          ...upcomingCycles(subscription.schedule, now, 6)
            .filter((cycle) => !subscription.cancellation || cycle.chargeAt < subscription.cancellation.effectiveAt)
            .map((cycle) => cycleView(cycle, cycleState(subscription, cycle))),
        ];
  return viewOf(subscription, plans, options, nextCharge, upcoming);
}

async function viewOf(
  subscription: Subscription,
  plans: Map<string, Plan>,
  options: { history: boolean; checkoutUrl?: string | null },
  nextCharge: SubscriptionView['nextCharge'],
  upcoming: SubscriptionView['upcomingCycles'],
): Promise<SubscriptionView> {
  const history = options.history
    ? (await SubscriptionEventModel.find({ merchantId: subscription.merchantId, subscriptionId: subscription._id }).sort({ revision: 1 }).lean()).map(
        (event) => ({ type: event.type, at: iso(event.at), data: event.data }),
      )
    : [];
  return {
    id: subscription._id,
    object: 'subscription',
    status: subscription.status,
    customerId: subscription.customerId,
    box: boxView(subscription.box, plans),
    pendingChange: subscription.pendingChange
      ? { ...boxView(subscription.pendingChange, plans), effectiveCycleKey: subscription.pendingChange.effectiveCycleKey }
      : null,
    secondChoiceVariantId: subscription.secondChoiceVariantId ?? null,
    nextCharge,
    upcomingCycles: upcoming,
    addons: subscription.addons.map((line) => ({ id: line._id, addonId: line.addonId, quantity: line.quantity, kind: line.kind, fromCycleKey: line.fromCycleKey })),
    pause: subscription.pause
      ? { pausedAt: iso(subscription.pause.pausedAt), startsOn: subscription.pause.startsOn, resumeOn: subscription.pause.resumeOn ?? null }
      : null,
    cancellation: subscription.cancellation
      ? {
          requestedAt: iso(subscription.cancellation.requestedAt),
          reason: subscription.cancellation.reason,
          comment: subscription.cancellation.comment ?? null,
          mode: subscription.cancellation.mode,
          effectiveAt: iso(subscription.cancellation.effectiveAt),
        }
      : null,
    dunning: subscription.dunning
      ? {
          since: iso(subscription.dunning.since),
          attempts: subscription.dunning.attempts,
          lastFailureAt: iso(subscription.dunning.lastFailureAt),
          updatePaymentUrl: subscription.dunning.updatePaymentUrl ?? null,
        }
      : null,
    checkoutUrl: options.checkoutUrl ?? null,
    stripeSubscriptionId: subscription.stripe.subscriptionId ?? null,
    history,
    createdAt: iso(subscription.createdAt),
    updatedAt: iso(subscription.updatedAt),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Writing: events, conditional updates, Stripe in step
// ---------------------------------------------------------------------------------------------------------

/**
 * Appends the dated fact for the revision a change produced. The one way subscription facts are written:
 * recording the same revision again (a replayed event or job) is a no-op; any other failure is raised.
 */
export async function recordSubscriptionEvent(deps: SubscriptionSyncDeps, subscription: Pick<Subscription, '_id' | 'merchantId' | 'revision'>, type: string, data: Record<string, unknown>): Promise<void> {
  await SubscriptionEventModel.updateOne(
    { merchantId: subscription.merchantId, subscriptionId: subscription._id, revision: subscription.revision },
    { $setOnInsert: { _id: newId('sev'), type, at: deps.clock.now(), data } },
    { upsert: true },
  ).catch((error: unknown) => {
    if (!isDuplicateKeyError(error)) throw error;
  });
}

async function findSubscription(merchantId: string, subscriptionId: string): Promise<Subscription> {
  const subscription = await SubscriptionModel.findOne({ _id: subscriptionId, merchantId }).lean();
  if (!subscription) throw new NotFoundError('No subscription with this id.');
  return subscription;
}

/**
 * Applies a change only if the subscription is still as it was read (same revision): a concurrent change
 * makes this one fail with 409 rather than silently overwrite it.
 */
async function applyChange(
  deps: SubscriptionDeps,
  subscription: Subscription,
  update: { $set?: Record<string, unknown>; $unset?: Record<string, 1>; $addToSet?: Record<string, unknown>; $pull?: Record<string, unknown>; $push?: Record<string, unknown> },
): Promise<Subscription> {
  const result = await SubscriptionModel.findOneAndUpdate(
    { _id: subscription._id, merchantId: subscription.merchantId, revision: subscription.revision },
    { ...update, $set: { ...(update.$set ?? {}), updatedAt: deps.clock.now(), stripeSyncDueAt: deps.clock.now() }, $inc: { revision: 1 } },
    { returnDocument: 'after', lean: true },
  );
  if (!result) throw new ConflictError('The subscription was changed by another request meanwhile. Read it again and retry.');
  return result;
}

function stripePriceOf(plan: Plan, priceId: string): string {
  const price = plan.prices.find((p) => p._id === priceId);
  if (!price?.stripePriceId) throw new InvalidStateError('This plan is not mirrored to Stripe yet; try again in a minute.');
  return price.stripePriceId;
}

const SYNC_RETRY_MS = 60_000;
/**
 * After a charge, the next push waits this long: our calendar keeps the merchant's local time while Stripe
 * renews at a fixed UTC instant, so across a DST change Stripe's invoice can come an hour after our
 * chargeAt. Pushing the following cycle's pause before that invoice exists would void it.
 */
const PUSH_AFTER_CHARGE_MS = 3 * HOUR_MS;

/**
 * Brings Stripe in line with our record, for the invoice Stripe will create next: collection paused while
 * that cycle is paused or skipped (its invoice is voided; collection resumes at the following box's
 * cut-off), the item on the price of the box charged next, cancellation at period end, a moved charge date,
 * a cancellation now. One update, keyed by the record revision and the cycle, so a repeat sends the same key.
 * It never fails the caller: on failure the push is due again in a minute, and the job retries it. On
 * success the next push is due after the next charge, when the following cycle becomes the one Stripe bills.
 */
export async function syncSubscriptionToStripe(deps: SubscriptionSyncDeps, subscription: Subscription): Promise<void> {
  const now = deps.clock.now();
  const stripeId = subscription.stripe.subscriptionId;
  const done = (set: Record<string, unknown>, unset: Record<string, 1> = {}) =>
    SubscriptionModel.updateOne(
      { _id: subscription._id, revision: subscription.revision },
      { $set: set, $unset: { 'stripe.lastSyncError': 1, ...unset } },
    );
  try {
    if (!stripeId || subscription.status === 'incomplete') {
      await done({}, { stripeSyncDueAt: 1 });
      return;
    }
    if (subscription.status === 'cancelled') {
      if (subscription.cancellation?.mode === 'now' && !subscription.stripe.canceledAt) {
        await deps.stripe.cancelSubscription(stripeId, `subscription:${subscription._id}:cancel`);
      }
      await done({ 'stripe.canceledAt': subscription.stripe.canceledAt ?? now }, { stripeSyncDueAt: 1 });
      return;
    }
    const next = nextCycle(subscription.schedule, now);
    const nextState = cycleState(subscription, next);
    const following = nextCycle(subscription.schedule, next.chargeAt);
    let pauseCollection: { resumesAt?: Date } | null = null;
    if (nextState === 'paused') {
      const resume = subscription.pause?.resumeOn ? firstCycleOnOrAfter(subscription.schedule, subscription.pause.resumeOn) : undefined;
      pauseCollection = resume ? { resumesAt: resume.cutoffAt } : {};
    } else if (nextState === 'skipped') {
      pauseCollection = { resumesAt: following.cutoffAt };
    }
    const charged = nextChargedCycle(subscription, now);
    let item: { itemId: string; priceId: string } | undefined;
    if (charged && subscription.stripe.itemId) {
      const box = boxFor(subscription, charged);
      const plan = await PlanModel.findOne({ _id: box.planId, merchantId: subscription.merchantId }).lean();
      if (!plan) throw new Error(`plan ${box.planId} of subscription ${subscription._id} is missing`);
      item = { itemId: subscription.stripe.itemId, priceId: stripePriceOf(plan, box.priceId) };
    }
    let couponId: string | undefined;
    const discount = charged && (subscription.discounts ?? []).find((d) => d.cycleKey === charged.cycleKey);
    if (discount) {
      couponId =
        discount.stripeCouponId ??
        (
          await deps.stripe.createCoupon(
            {
              name: `${discount.percentOff}% off your next box`,
              percentOff: discount.percentOff,
              metadata: { boxcycle_merchant_id: subscription.merchantId, boxcycle_subscription_id: subscription._id, boxcycle_discount_id: discount._id },
            },
            `subscription-discount:${discount._id}:coupon`,
          )
        ).id;
      await SubscriptionModel.updateOne({ _id: subscription._id, 'discounts._id': discount._id }, { $set: { 'discounts.$.stripeCouponId': couponId } });
    }
    await deps.stripe.updateSubscription(
      stripeId,
      {
        ...(couponId ? { couponId } : {}),
        pauseCollection,
        cancelAtPeriodEnd: subscription.cancellation?.mode === 'period_end',
        ...(item ? { item } : {}),
        ...(subscription.stripe.moveNextChargeTo ? { trialEnd: subscription.stripe.moveNextChargeTo } : {}),
      },
      `subscription:${subscription._id}:sync:r${subscription.revision}:${next.cycleKey}`,
    );
    await done(
      { stripeSyncDueAt: new Date(next.chargeAt.getTime() + PUSH_AFTER_CHARGE_MS) },
      { 'stripe.moveNextChargeTo': 1 },
    );
  } catch (error) {
    deps.logger.warn({ err: error, subscriptionId: subscription._id }, 'subscription not synced to Stripe; retrying in a minute');
    await SubscriptionModel.updateOne(
      { _id: subscription._id, revision: subscription.revision },
      { $set: { stripeSyncDueAt: new Date(now.getTime() + SYNC_RETRY_MS), 'stripe.lastSyncError': error instanceof Error ? error.message : String(error) } },
    );
  }
}

/**
 * The job's step for one subscription: a pause whose last box has passed ends by itself, then Stripe is
 * brought in line. Both are conditional on the revision read, so several workers running it change nothing twice.
 */
export async function runDueSubscriptionSync(deps: SubscriptionSyncDeps, subscriptionId: string): Promise<void> {
  let subscription = await SubscriptionModel.findById(subscriptionId).lean();
  if (!subscription) return;
  const now = deps.clock.now();
  const resumeOn = subscription.pause?.resumeOn;
  if (subscription.status === 'paused' && resumeOn && nextCycle(subscription.schedule, now).chargeOn >= resumeOn) {
    const resumed = await SubscriptionModel.findOneAndUpdate(
      { _id: subscription._id, revision: subscription.revision, status: 'paused' },
      { $set: { status: 'active', updatedAt: now }, $unset: { pause: 1 }, $inc: { revision: 1 } },
      { returnDocument: 'after', lean: true },
    );
    if (!resumed) return; // changed meanwhile: the next run sees the new state
    await recordSubscriptionEvent(deps, resumed, 'subscription.resumed', { automatic: true, resumeOn });
    subscription = resumed;
  }
  const change = subscription.pendingChange;
  if (change && nextCycle(subscription.schedule, now).chargeOn >= change.effectiveCycleKey) {
    // The swapped box's cycle has come: it is the box from now on.
    const { effectiveCycleKey, requestedAt: _requestedAt, ...box } = change;
    const applied = await SubscriptionModel.findOneAndUpdate(
      { _id: subscription._id, revision: subscription.revision },
      { $set: { box, updatedAt: now }, $unset: { pendingChange: 1 }, $inc: { revision: 1 } },
      { returnDocument: 'after', lean: true },
    );
    if (!applied) return;
    await recordSubscriptionEvent(deps, applied, 'subscription.swap_applied', { effectiveCycleKey, box });
    subscription = applied;
  }
  await syncSubscriptionToStripe(deps, subscription);
}

/** Every subscription whose Stripe push is due, a batch at a time. */
export async function syncDueSubscriptions(deps: SubscriptionSyncDeps, batchSize = 100): Promise<number> {
  const due = await SubscriptionModel.find({ stripeSyncDueAt: { $lte: deps.clock.now() } }, { _id: 1 })
    .sort({ stripeSyncDueAt: 1 })
    .limit(batchSize)
    .lean();
  for (const { _id } of due) await runDueSubscriptionSync(deps, _id);
  return due.length;
}

/** The first cycle charged on or after a local date. */
function firstCycleOnOrAfter(schedule: BillingSchedule, date: string): Cycle {
  // Start two days early (any zone's local date is within a day of UTC), then step: a handful of steps.
  let cycle = nextCycle(schedule, new Date(Date.parse(`${date}T00:00:00Z`) - 2 * 86_400_000));
  while (cycle.chargeOn < date) cycle = nextCycle(schedule, cycle.chargeAt);
  return cycle;
}

async function changed(deps: SubscriptionDeps, updated: Subscription, event: string, data: Record<string, unknown>): Promise<SubscriptionView> {
  await recordSubscriptionEvent(deps, updated, event, data);
  await syncSubscriptionToStripe(deps, updated);
  return toSubscriptionView(updated, deps.clock.now(), { history: true });
}

async function settingsFor(merchantId: string): Promise<SubscriptionSettings> {
  const merchant = await MerchantModel.findById(merchantId, { subscriptionSettings: 1 }).lean();
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  return subscriptionSettingsOf(merchant);
}

function requireStatus(subscription: Subscription, allowed: SubscriptionStatus[], action: string): void {
  if (!allowed.includes(subscription.status)) {
    throw new InvalidStateError(`A ${subscription.status} subscription cannot ${action}.`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Use cases
// ---------------------------------------------------------------------------------------------------------

/**
 * Subscribes a customer: with a saved payment method the Stripe subscription is created now (its first
 * invoice charges the first box, or a trial starts); with `checkout: true` a Stripe Checkout Session is
 * created and the subscription waits, `incomplete`, for Stripe to confirm payment.
 */
export async function createSubscription(
  deps: SubscriptionDeps,
  merchantId: string,
  input: CreateSubscriptionBody,
  idempotencyKey?: string,
): Promise<SubscriptionView> {
  // With an Idempotency-Key the id, and so every Stripe key below, is the same on a retry after a failure:
  // Stripe answers the retry with the objects it already made, and a finished attempt is found here.
  const id = idempotencyKey ? derivedId('sub', `${merchantId}:${idempotencyKey}`) : newId('sub');
  const existing = await SubscriptionModel.findOne({ _id: id, merchantId }).lean();
  if (existing) return toSubscriptionView(existing, deps.clock.now(), { history: true });

  const [merchant, customer, plan] = await Promise.all([
    MerchantModel.findById(merchantId).lean(),
    CustomerModel.findOne({ _id: input.customerId, merchantId }).lean(),
    PlanModel.findOne({ _id: input.planId, merchantId }).lean(),
  ]);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  if (!customer) throw new ValidationError([{ field: 'body.customerId', message: 'is not one of your customers' }]);
  if (!plan) throw new ValidationError([{ field: 'body.planId', message: 'is not one of your plans' }]);
  if (plan.status !== 'active') throw new InvalidStateError('This plan is archived and takes no new subscribers.');
  const variant = plan.variants.find((v) => v._id === input.variantId && v.status === 'active');
  if (!variant) throw new ValidationError([{ field: 'body.variantId', message: 'is not an offered variant of this plan' }]);
  const cadence = plan.cadences.find((c) => c.key === input.cadence && c.status === 'active');
  if (!cadence) throw new ValidationError([{ field: 'body.cadence', message: `is not offered; offered: ${plan.cadences.filter((c) => c.status === 'active').map((c) => c.key).join(', ')}` }]);
  // Without a trial the first box is charged now (or at Checkout) and made at payment: refuse a box that
  // nothing on hand can fill. With a trial it is built at its cut-off, and skipped with no charge if it cannot ship.
  if (plan.trialDays === 0 && !(await canFillPlanLine(merchantId, plan, variant._id, undefined))) {
    const substitutes = (variant.substituteSkus ?? []).length > 0 ? ', and so are the variants sent in its place' : '';
    throw new OutOfStockError(`${variant.name} is out of stock${substitutes}: its first box cannot be sent. Choose another variant, or subscribe when it is back in stock.`);
  }
  const stripePriceId = stripePriceOf(plan, cadence.currentPriceId);
  const stripeCustomerId = await ensureStripeCustomer(deps, customer);

  const now = deps.clock.now();
  // Cycle 0 is the first charge: now, or when the trial ends. Stripe renews at that instant's time of day,
  // so the calendar uses the same local time; later cycles are computed from this anchor.
  const trialEnd = plan.trialDays > 0 ? new Date(now.getTime() + plan.trialDays * 24 * HOUR_MS) : undefined;
  const firstChargeAt = trialEnd ?? now;
  const schedule: BillingSchedule = {
    cadence: { interval: cadence.interval, intervalCount: cadence.intervalCount },
    anchorOn: localDateOf(firstChargeAt, merchant.timezone),
    chargeAt: localTimeOf(firstChargeAt, merchant.timezone),
    timezone: merchant.timezone,
    cutoffDays: subscriptionSettingsOf(merchant).cutoffDays,
  };
  // The first box gets the best of the plan's discount, a referral's welcome offer and a comeback offer.
  const offers: FirstBoxOffer[] = plan.firstBoxDiscount ? [planFirstBoxOffer(plan.firstBoxDiscount)] : [];
  if (input.referralCode) {
    const referral = await attributeReferral(deps, { merchantId, code: input.referralCode, friendCustomerId: customer._id, friendSubscriptionId: id });
    const welcome = referral.welcomeOffer;
    // An amount offer in another currency than the plan's cannot be given as is: the other offers apply.
    if (welcome.type === 'percent' || welcome.currency === plan.currency) offers.push({
      source: 'referral',
      id: referral.referralId,
      description: 'Welcome offer from a friend',
      ...(welcome.type === 'percent' ? { percentOff: welcome.percentOff } : { amountOffMinor: welcome.amountOffMinor }),
    });
  }
  const comeback = await comebackOfferFor(merchantId, customer._id, deps.clock.now(), { currency: plan.currency, priceMinor: plan.prices.find((p) => p._id === cadence.currentPriceId)?.amountMinor ?? 0 });
  if (comeback?.comeback) {
    const { percentOff, amountOffMinor } = comeback.comeback;
    offers.push({ source: 'comeback', id: comeback._id, description: comeback.name, ...(percentOff !== undefined ? { percentOff } : { amountOffMinor: amountOffMinor! }) });
  }
  const firstPriceMinor = plan.prices.find((p) => p._id === cadence.currentPriceId)?.amountMinor ?? 0;
  const firstBoxOffer = offers.sort((a, b) => firstBoxOff(b, firstPriceMinor) - firstBoxOff(a, firstPriceMinor))[0];
  let couponId: string | undefined;
  if (firstBoxOffer) {
    couponId = (
      await deps.stripe.createCoupon(
        {
          name: firstBoxOffer.description,
          ...(firstBoxOffer.percentOff !== undefined ? { percentOff: firstBoxOffer.percentOff } : { amountOffMinor: firstBoxOffer.amountOffMinor!, currency: plan.currency }),
          metadata: { boxcycle_merchant_id: merchantId, boxcycle_subscription_id: id, boxcycle_offer: firstBoxOffer.source },
        },
        `subscription:${id}:first-box-coupon:${firstBoxOffer.source}`,
      )
    ).id;
  }
  const metadata = { boxcycle_merchant_id: merchantId, boxcycle_subscription_id: id };
  const box: BoxSelection = { planId: plan._id, variantId: variant._id, cadenceKey: cadence.key, priceId: cadence.currentPriceId };
  const base: Subscription = {
    _id: id,
    merchantId,
    customerId: customer._id,
    status: 'incomplete',
    box,
    schedule,
    skippedCycleKeys: [],
    firstChargeKey: schedule.anchorOn,
    ...(firstBoxOffer ? { firstBoxOffer } : {}),
    addons: [],
    discounts: [],
    stripe: { customerId: stripeCustomerId, ...(couponId ? { couponId } : {}) },
    revision: 0,
    createdAt: now,
    updatedAt: now,
  };

  let checkoutUrl: string | null = null;
  if (input.checkout) {
    const session = await deps.stripe.createCheckoutSession(
      {
        customerId: stripeCustomerId,
        priceId: stripePriceId,
        successUrl: `${deps.publicUrl}/shop/subscriptions/${id}?checkout=success`,
        cancelUrl: `${deps.publicUrl}/shop/subscriptions/${id}?checkout=cancelled`,
        ...(plan.trialDays > 0 ? { trialDays: plan.trialDays } : {}),
        ...(couponId ? { couponId } : {}),
        clientReferenceId: id,
        metadata,
      },
      `subscription:${id}:checkout`,
    );
    base.stripe.checkoutSessionId = session.id;
    checkoutUrl = session.url;
  } else {
    const created = await deps.stripe.createSubscription(
      { customerId: stripeCustomerId, priceId: stripePriceId, defaultPaymentMethod: input.paymentMethodId!, ...(trialEnd ? { trialEnd } : {}), ...(couponId ? { couponId } : {}), metadata },
      `subscription:${id}:create`,
    );
    base.stripe.subscriptionId = created.id;
    base.stripe.itemId = created.itemId;
    // Stripe confirms the first payment by webhook (invoice.paid); until then we trust what it answered.
    base.status = trialEnd ? 'trialing' : created.status === 'active' ? 'active' : 'incomplete';
  }
  try {
    await SubscriptionModel.create(base);
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // a concurrent retry of the same request stored it
    return toSubscriptionView(await findSubscription(merchantId, id), now, { history: true });
  }
  await recordSubscriptionEvent(deps, base, 'subscription.created', {
    planId: plan._id,
    variantId: variant._id,
    cadence: cadence.key,
    priceId: cadence.currentPriceId,
    via: input.checkout ? 'checkout' : 'payment_method',
  });
  return toSubscriptionView(base, now, { history: true, checkoutUrl });
}

export async function getSubscription(deps: SubscriptionDeps, merchantId: string, subscriptionId: string): Promise<SubscriptionView> {
  return toSubscriptionView(await findSubscription(merchantId, subscriptionId), deps.clock.now(), { history: true });
}

export async function listSubscriptions(
  deps: SubscriptionDeps,
  merchantId: string,
  query: { limit: number; startingAfter?: string | undefined; status?: SubscriptionStatus | undefined; planId?: string | undefined; customerId?: string | undefined },
) {
  const filter = {
    merchantId,
    ...(query.status ? { status: query.status } : {}),
    ...(query.planId ? { 'box.planId': query.planId } : {}),
    ...(query.customerId ? { customerId: query.customerId } : {}),
    ...afterCursor(decodeCursor(query.startingAfter)),
  };
  const subscriptions = await SubscriptionModel.find(filter).sort({ createdAt: -1, _id: -1 }).limit(query.limit + 1).lean();
  const page = listPage(subscriptions, query.limit, (s) => s);
  const now = deps.clock.now();
  const data = await Promise.all(page.data.map(async (s) => {
    const { history: _history, ...view } = await toSubscriptionView(s, now, { history: false });
    return view;
  }));
  return { ...page, data };
}

/** The cycle given (which must be open), or the first open box that will be charged. */
function changeableCycle(subscription: Subscription, now: Date, cycleKey: string | undefined): Cycle {
  if (!cycleKey) {
    const cycle = firstOpenChargedCycle(subscription, now);
    if (!cycle) throw new InvalidStateError('No upcoming box can change.');
    return cycle;
  }
  const cycle = cycleByKey(subscription.schedule, cycleKey);
  if (!cycle) throw new ValidationError([{ field: 'body.cycleKey', message: 'is not a charge date of this subscription' }]);
  if (cycle.chargeAt <= now) throw new InvalidStateError(`The box of ${cycle.cycleKey} is already charged.`);
  if (!isOpen(subscription, cycle, now)) {
    throw new InvalidStateError(`The box of ${cycle.cycleKey} locked at ${cycle.cutoffAt.toISOString()} (its cut-off); it can no longer change.`);
  }
  return cycle;
}

export async function skipBox(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, cycleKey: string | undefined): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, LIVE, 'skip a box');
  const cycle = changeableCycle(subscription, deps.clock.now(), cycleKey);
  if (subscription.skippedCycleKeys.includes(cycle.cycleKey)) throw new InvalidStateError(`The box of ${cycle.cycleKey} is already skipped.`);
  const updated = await applyChange(deps, subscription, { $addToSet: { skippedCycleKeys: cycle.cycleKey } });
  return changed(deps, updated, 'subscription.skipped', { cycleKey: cycle.cycleKey });
}

export async function unskipBox(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, cycleKey: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, LIVE, 'unskip a box');
  if (!subscription.skippedCycleKeys.includes(cycleKey)) throw new InvalidStateError(`The box of ${cycleKey} is not skipped.`);
  changeableCycle(subscription, deps.clock.now(), cycleKey);
  const updated = await applyChange(deps, subscription, { $pull: { skippedCycleKeys: cycleKey } });
  return changed(deps, updated, 'subscription.unskipped', { cycleKey });
}

export async function pauseSubscription(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, input: { cycles?: number | undefined; until?: string | undefined }): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, ['trialing', 'active'], 'be paused');
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
    if (input.until! <= localDateOf(now, subscription.schedule.timezone)) {
      throw new ValidationError([{ field: 'body.until', message: 'must be a date after today' }]);
    }
    resumeOn = firstCycleOnOrAfter(subscription.schedule, input.until!).chargeOn;
  }
  if (resumeOn <= startsOn) throw new ValidationError([{ field: 'body.until', message: 'is before the next box that can still change' }]);
  const updated = await applyChange(deps, subscription, { $set: { status: 'paused', pause: { pausedAt: now, startsOn, resumeOn } } });
  return changed(deps, updated, 'subscription.paused', { resumeOn, ...(input.cycles ? { cycles: input.cycles } : { until: input.until }) });
}

export async function resumeSubscription(deps: SubscriptionDeps, merchantId: string, subscriptionId: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, ['paused'], 'be resumed');
  const updated = await applyChange(deps, subscription, { $set: { status: 'active' }, $unset: { pause: 1 } });
  return changed(deps, updated, 'subscription.resumed', {});
}

/** Changes plan, variant or cadence from the first cycle whose box is not locked: no proration, no surprise. */
export async function swapBox(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, input: { planId?: string | undefined; variantId: string; cadence?: string | undefined }): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, ['trialing', 'active', 'paused'], 'change its box');
  const planId = input.planId ?? subscription.box.planId;
  const plan = await PlanModel.findOne({ _id: planId, merchantId }).lean();
  if (!plan) throw new ValidationError([{ field: 'body.planId', message: 'is not one of your plans' }]);
  if (plan.status !== 'active' && planId !== subscription.box.planId) throw new InvalidStateError('This plan is archived and takes no new subscribers.');
  const variant = plan.variants.find((v) => v._id === input.variantId && v.status === 'active');
  if (!variant) throw new ValidationError([{ field: 'body.variantId', message: 'is not an offered variant of this plan' }]);
  const cadenceKey = input.cadence ?? subscription.box.cadenceKey;
  const cadence = plan.cadences.find((c) => c.key === cadenceKey && c.status === 'active');
  if (!cadence) throw new ValidationError([{ field: 'body.cadence', message: 'is not offered by this plan' }]);
  if (cadenceKey !== subscription.box.cadenceKey) {
    throw new ValidationError([{ field: 'body.cadence', message: 'change the cadence with POST /subscriptions/{id}/cadence' }]);
  }
  const now = deps.clock.now();
  const effective = firstOpenCycle(subscription, now);
  // Same plan: they keep the price they have. Another plan: its current price (nextCharge shows it).
  const current = boxFor(subscription, effective);
  const priceId = planId === current.planId ? current.priceId : cadence.currentPriceId;
  if (!plan.prices.find((p) => p._id === priceId)?.stripePriceId) {
    throw new InvalidStateError('This plan is not mirrored to Stripe yet; try again in a minute.');
  }
  const target: BoxSelection = { planId, variantId: variant._id, cadenceKey, priceId };
  const update =
    effective.cycleKey === nextCycle(subscription.schedule, now).cycleKey
      ? { $set: { box: target }, $unset: { pendingChange: 1 as const } }
      : { $set: { pendingChange: { ...target, effectiveCycleKey: effective.cycleKey, requestedAt: now } } };
  const updated = await applyChange(deps, subscription, update);
  return changed(deps, updated, 'subscription.swapped', { from: current, to: target, effectiveCycleKey: effective.cycleKey });
}

/** The shopper's second choice: another active variant of their box's plan, or none. */
export async function setSecondChoice(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, variantId: string | null): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, ['trialing', 'active', 'paused', 'past_due'], 'have a second choice');
  if (variantId !== null) {
    const plan = await PlanModel.findOne({ _id: subscription.box.planId, merchantId }, { variants: 1 }).lean();
    const variant = plan?.variants.find((v) => v._id === variantId && v.status === 'active');
    if (!variant || variantId === subscription.box.variantId) {
      throw new ValidationError([{ field: 'body.variantId', message: "must be another offered variant of the box's plan" }]);
    }
  }
  const updated = await applyChange(deps, subscription, variantId === null ? { $unset: { secondChoiceVariantId: 1 } } : { $set: { secondChoiceVariantId: variantId } });
  return changed(deps, updated, 'subscription.second_choice_set', { variantId });
}

export async function cancelSubscription(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, input: { mode: 'now' | 'period_end'; reason: string; comment?: string | undefined }): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, ['incomplete', 'trialing', 'active', 'paused', 'past_due'], 'be cancelled');
  const { cancellationReasons } = await settingsFor(merchantId);
  if (!cancellationReasons.includes(input.reason)) {
    throw new ValidationError([{ field: 'body.reason', message: `must be one of: ${cancellationReasons.join(', ')}` }]);
  }
  if (subscription.cancellation?.mode === 'period_end' && input.mode === 'period_end') {
    throw new InvalidStateError('This subscription is already set to end at the end of its period.');
  }
  const now = deps.clock.now();
  const mode = subscription.status === 'incomplete' ? 'now' : input.mode;
  const effectiveAt = mode === 'now' ? now : nextCycle(subscription.schedule, now).chargeAt;
  const cancellation = { requestedAt: now, reason: input.reason, ...(input.comment ? { comment: input.comment } : {}), mode, effectiveAt };
  // Cancelling now: the push that follows cancels the Stripe subscription (and is retried until it has).
  const updated = await applyChange(deps, subscription, { $set: { cancellation, ...(mode === 'now' ? { status: 'cancelled' } : {}) } });
  return changed(deps, updated, mode === 'now' ? 'subscription.cancelled' : 'subscription.cancellation_scheduled', { reason: input.reason, mode, effectiveAt: iso(effectiveAt) });
}

export async function reactivateSubscription(deps: SubscriptionDeps, merchantId: string, subscriptionId: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  if (subscription.status === 'cancelled' || subscription.cancellation?.mode !== 'period_end') {
    throw new InvalidStateError('Only a subscription set to end at the end of its period can be reactivated; subscribe again instead.');
  }
  if (subscription.cancellation.effectiveAt <= deps.clock.now()) throw new InvalidStateError('This subscription has already ended.');
  const updated = await applyChange(deps, subscription, { $unset: { cancellation: 1 } });
  return changed(deps, updated, 'subscription.reactivated', {});
}

/**
 * What is keyed to a box follows it when the calendar moves from `from` on: the k-th box from `from` on the
 * old calendar is the k-th box of the new one (whose cycle 0 is `from` at its new date). A box's one-time
 * discount, its add-ons and the first-box offer stay with it wherever its date goes; so do its skip and a
 * swap waiting for it when only the date moves (`sameRhythm`). When the cadence changes, later skips were
 * made for the old rhythm's dates and are dropped (the next box keeps its date, and its skip); a pending
 * swap is dropped by the caller. Boxes before `from` keep their dates.
 */
function boxKeysFollowing(subscription: Subscription, from: Cycle, schedule: BillingSchedule, options: { sameRhythm: boolean }): Record<string, unknown> {
  const follow = (key: string): string => {
    const old = key < from.cycleKey ? undefined : cycleByKey(subscription.schedule, key);
    return old ? cycleAt(schedule, old.index - from.index).cycleKey : key;
  };
  const change = subscription.pendingChange;
  return {
    addons: subscription.addons.map((line) => ({ ...line, fromCycleKey: follow(line.fromCycleKey) })),
    discounts: (subscription.discounts ?? []).map((discount) => ({ ...discount, cycleKey: follow(discount.cycleKey) })),
    firstChargeKey: follow(subscription.firstChargeKey),
    skippedCycleKeys: options.sameRhythm ? subscription.skippedCycleKeys.map(follow) : subscription.skippedCycleKeys.filter((key) => key <= from.chargeOn),
    ...(options.sameRhythm && change ? { 'pendingChange.effectiveCycleKey': follow(change.effectiveCycleKey) } : {}),
  };
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
  requireStatus(subscription, ['trialing', 'active'], 'change its cadence');
  if (cadenceKey === subscription.box.cadenceKey) throw new InvalidStateError(`The subscription already comes every ${cadenceKey}.`);
  const plan = await PlanModel.findOne({ _id: subscription.box.planId, merchantId }).lean();
  const cadence = plan?.cadences.find((c) => c.key === cadenceKey && c.status === 'active');
  if (!plan || !cadence) throw new ValidationError([{ field: 'body.cadence', message: 'is not offered by this plan' }]);
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
  const updated = await applyChange(deps, subscription, {
    // A pending swap was for the old cadence's price: it does not carry over.
    $set: { schedule, box, ...boxKeysFollowing(subscription, next, schedule, { sameRhythm: false }), 'stripe.moveNextChargeTo': next.chargeAt },
    $unset: { pendingChange: 1 },
  });
  return changed(deps, updated, 'subscription.cadence_changed', { from: subscription.box.cadenceKey, to: cadenceKey, fromCycleKey: next.cycleKey });
}

/**
 * Moves the next charge to another date (and the calendar with it), within the merchant's limit. The box of
 * the new date must still be changeable, so its cut-off must be ahead.
 */
export async function changeChargeDate(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, date: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, ['trialing', 'active'], 'move its charge date');
  const now = deps.clock.now();
  const next = nextChangeableOrRefuse(subscription, now, 'move the charge date');
  if (subscription.skippedCycleKeys.includes(next.cycleKey)) {
    throw new InvalidStateError(`The box of ${next.cycleKey} is skipped; un-skip it first, or move a later charge after it.`);
  }
  const limit = (await settingsFor(merchantId)).maxChargeDateShiftDays;
  const shift = daysBetween(next.chargeOn, date);
  if (shift === 0) throw new InvalidStateError(`The next charge is already on ${date}.`);
  if (Math.abs(shift) > limit) {
    throw new ValidationError([{ field: 'body.date', message: `must be within ${limit} days of the next charge (${next.chargeOn})` }]);
  }
  const schedule: BillingSchedule = { ...subscription.schedule, anchorOn: date, ...(subscription.schedule.cadence.interval === 'month' ? { anchorDay: Number(date.slice(8, 10)) } : {}) };
  const moved = cycleByKey(schedule, date)!;
  if (!isBeforeCutoff(moved, now)) {
    throw new ValidationError([{ field: 'body.date', message: `is too soon: its box would already be locked (cut-off ${moved.cutoffAt.toISOString()})` }]);
  }
  const updated = await applyChange(deps, subscription, {
    // The next box and every later one move together: what is keyed to each box goes with it.
    $set: { schedule, ...boxKeysFollowing(subscription, next, schedule, { sameRhythm: true }), 'stripe.moveNextChargeTo': moved.chargeAt },
  });
  return changed(deps, updated, 'subscription.charge_date_changed', { from: next.chargeOn, to: date });
}

/**
 * Puts an add-on in the box: a one-time extra in the next box that can still change, or a recurring one in
 * every box from it on. Billed on that cycle's invoice; stock is reserved when the box is built at cut-off.
 */
/** Whether an active early-access perk the subscription is eligible for opens this add-on before its release. */
async function hasEarlyAccess(subscription: Subscription, addonId: string, cycle: Cycle): Promise<boolean> {
  const perks = (await activePerks(subscription.merchantId)).filter((perk) => perk.benefit.kind === 'early_access' && perk.benefit.addonIds.includes(addonId));
  if (perks.length === 0) return false;
  const standing = await standingOf(subscription, cycle.chargeOn);
  return perks.some((perk) => isEligible(perk.eligibility, standing));
}

export async function addAddon(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, input: { addonId: string; quantity: number }): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, ['trialing', 'active', 'paused'], 'take add-ons');
  const addon = await AddonModel.findOne({ _id: input.addonId, merchantId }).lean();
  if (!addon || addon.status !== 'active') throw new ValidationError([{ field: 'body.addonId', message: 'is not an add-on you offer' }]);
  const plan = await PlanModel.findOne({ _id: subscription.box.planId, merchantId }, { currency: 1 }).lean();
  if (plan && addon.currency !== plan.currency) {
    throw new ValidationError([{ field: 'body.addonId', message: `is priced in ${addon.currency}; this subscription pays in ${plan.currency}` }]);
  }
  if (addon.stock.tracked && addon.stock.onHand < input.quantity) throw new InvalidStateError(`Only ${addon.stock.onHand} of this add-on left.`);
  const now = deps.clock.now();
  const cycle = firstOpenChargedCycle(subscription, now);
  if (!cycle) throw new InvalidStateError('No upcoming box can take an add-on.');
  if (addon.releasesOn && localDateOf(now, subscription.schedule.timezone) < addon.releasesOn && !(await hasEarlyAccess(subscription, addon._id, cycle))) {
    throw new InvalidStateError(`This add-on is available from ${addon.releasesOn}; early access is a perk for some subscribers.`);
  }
  const line: SubscriptionAddon = {
    _id: newId('sadd'),
    addonId: addon._id,
    priceId: addon.currentPriceId,
    quantity: input.quantity,
    kind: addon.kind,
    fromCycleKey: cycle.cycleKey,
    addedAt: now,
  };
  const updated = await applyChange(deps, subscription, { $push: { addons: line } });
  return changed(deps, updated, 'subscription.addon_added', { addonId: addon._id, quantity: input.quantity, kind: addon.kind, cycleKey: cycle.cycleKey });
}

export async function removeAddon(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, lineId: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireStatus(subscription, ['trialing', 'active', 'paused'], 'change its add-ons');
  const line = subscription.addons.find((a) => a._id === lineId);
  if (!line) throw new NotFoundError('No add-on with this id on this subscription.');
  const now = deps.clock.now();
  const cycle = cycleByKey(subscription.schedule, line.fromCycleKey);
  if (line.kind === 'one_time' && cycle && !isOpen(subscription, cycle, now)) {
    throw new InvalidStateError(`The box of ${line.fromCycleKey} is locked; its add-on can no longer be removed.`);
  }
  const updated = await applyChange(deps, subscription, { $pull: { addons: { _id: lineId } } });
  return changed(deps, updated, 'subscription.addon_removed', { addonId: line.addonId, lineId });
}

/** Add-on lines that go into a cycle's box. */
function addonsFor(subscription: Subscription, cycle: Cycle): SubscriptionAddon[] {
  return subscription.addons.filter((line) =>
    line.kind === 'one_time' ? line.fromCycleKey === cycle.cycleKey : line.fromCycleKey <= cycle.cycleKey,
  );
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
  if (!['trialing', 'active', 'paused'].includes(subscription.status) || subscription.cancellation) return [];
  const { saveOffers } = await settingsFor(merchantId);
  const now = deps.clock.now();
  const next = firstOpenChargedCycle(subscription, now);
  const offers: SaveOffer[] = [];
  if (saveOffers.skipNext && next && subscription.status !== 'paused') {
    offers.push({ type: 'skip_next', cycleKey: next.cycleKey, description: `Skip the box of ${next.cycleKey} and keep your subscription` });
  }
  if (saveOffers.pauseCycles > 0 && subscription.status !== 'paused') {
    offers.push({ type: 'pause', cycles: saveOffers.pauseCycles, description: `Pause for up to ${saveOffers.pauseCycles} boxes` });
  }
  if (saveOffers.discountPercentOff > 0 && next && !(subscription.discounts ?? []).some((d) => d.source === 'save_offer')) {
    offers.push({ type: 'discount', percentOff: saveOffers.discountPercentOff, cycleKey: next.cycleKey, description: `${saveOffers.discountPercentOff}% off your box of ${next.cycleKey}` });
  }
  return offers;
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
  if (offer.type === 'skip_next') return skipBox(deps, merchantId, subscriptionId, offer.cycleKey);
  if (offer.type === 'pause') {
    const cycles = input.cycles ?? offer.cycles!;
    if (cycles > offer.cycles!) throw new ValidationError([{ field: 'body.cycles', message: `must be at most ${offer.cycles}` }]);
    return pauseSubscription(deps, merchantId, subscriptionId, { cycles });
  }
  const subscription = await findSubscription(merchantId, subscriptionId);
  const discount = { _id: newId('sdis'), cycleKey: offer.cycleKey!, percentOff: offer.percentOff!, source: 'save_offer' as const, createdAt: deps.clock.now() };
  const updated = await applyChange(deps, subscription, { $push: { discounts: discount } });
  return changed(deps, updated, 'subscription.save_offer_accepted', { type: 'discount', percentOff: discount.percentOff, cycleKey: discount.cycleKey });
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
  const plan = await PlanModel.findOne({ _id: planId, merchantId }).lean();
  if (!plan) throw new NotFoundError('No plan with this id.');
  const cadence = plan.cadences.find((c) => c.key === cadenceKey);
  if (!cadence) throw new ValidationError([{ field: 'body.cadence', message: 'is not a cadence of this plan' }]);
  const priceId = cadence.currentPriceId;
  const now = deps.clock.now();
  let migrated = 0;
  const candidates = SubscriptionModel.find({
    merchantId,
    'box.planId': planId,
    'box.cadenceKey': cadenceKey,
    'box.priceId': { $ne: priceId },
    status: { $in: ['trialing', 'active', 'paused', 'past_due'] },
  }).lean().cursor();
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
      );
      await recordSubscriptionEvent(deps, updated, 'subscription.price_migrated', { fromPriceId: subscription.box.priceId, toPriceId: priceId, effectiveCycleKey: effective.cycleKey });
      await syncSubscriptionToStripe(deps, updated);
      migrated += 1;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // changed meanwhile: a re-run picks it up
    }
  }
  return { migrated, priceId };
}
