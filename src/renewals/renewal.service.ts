import { findAddon } from '../addons/addon.queries';
import { baseHoldId } from '../inventory/stock';
import { actors } from '../events/fact-types';
import type { BoxOrder, OrderLine } from '../orders/box-order.model';
import { unpaidBoxesOf, unpaidBoxesOfEach } from '../orders/order.queries';
import { assembleBoxAtCutoff, cancelUnsentBox, recordInvoiceItems, settleUnsettledOrders, type BoxExtras } from '../orders/order.service';
import { cycleByKey, type Cycle } from '../shared/calendar';
import { InvalidStateError, NotFoundError } from '../shared/errors';
import { batchMemo, batchShare, readEveryTime, type RunMemo } from '../shared/run-memo';
import {
  armRenewalCheck,
  findForRenewal,
  firstOpenCycle,
  isCycleCharged,
  nextChargedCycle,
  retryRenewalCheckAt,
  skipCycleWithNothingToShip,
  subscriptionsDueForRenewal,
  type SubscriptionSyncDeps,
} from '../subscriptions/subscription.service';
import { BUILDING_STATUSES, isStatusIn } from '../subscriptions/subscription-states';
import type { Subscription } from '../subscriptions/subscription.model';

/** Nothing to build until the subscription changes (cancelled, paused with no end): every change re-arms the check. */
const NOTHING_DUE = new Date('9999-12-31T00:00:00.000Z');
const RETRY_AFTER_FAILURE_MS = 5 * 60_000;
const RECHECK_IN_DUNNING_MS = 60 * 60_000;

export interface RenewalDeps extends SubscriptionSyncDeps {
  /** What the retention layer adds to each box (handed in by the composition root; none without it). */
  extras?: BoxExtras | undefined;
  /**
   * The reads that are the same for every box of a batch (the store's profile, catalog, perks, offers, loyalty
   * programme): `prepareDueBoxes` makes a new memo for each batch, so nothing is served from an earlier one.
   */
  memo?: RunMemo | undefined;
}

const JOB = actors.job('renewals.prepare-boxes');

/**
 * Subscriptions prepared at once by one run (an option: `prepareDueBoxes(deps, { concurrency })`). Two
 * preparations of one box can meet anyway (two workers, or a run that outlives its lock): each claims the box
 * as a numbered attempt, only the box's latest attempt can record its lines, a new attempt gives back older
 * attempts' holds the box does not record, and one that loses its write gives back its own
 * (src/orders/box-assembly.service.ts, `claimPreparation`). `npm run bench:cutoff` measures other values with
 * BENCH_CUTOFF_CONCURRENCY.
 */
export const PREPARE_BOXES_CONCURRENCY = 8;

/**
 * The renewals.prepare-boxes job: every subscription whose next box reached its cut-off gets that box built
 * and its stock reserved, boxes that will not be sent any more give their stock back, and orders whose stock
 * does not follow their status yet are settled. Batches until nothing is due, `concurrency` subscriptions at
 * once. Returns how many were looked at.
 */
export async function prepareDueBoxes(base: RenewalDeps, options: { batchSize?: number; maxBatches?: number; concurrency?: number } = {}): Promise<number> {
  const deps = { ...base, actor: base.actor ?? JOB };
  const batchSize = options.batchSize ?? 100;
  const concurrency = Math.max(1, options.concurrency ?? PREPARE_BOXES_CONCURRENCY);
  let seen = 0;
  for (let batch = 0; batch < (options.maxBatches ?? 50); batch += 1) {
    const now = deps.clock.now();
    const due = await subscriptionsDueForRenewal(now, batchSize);
    // The batch's reads: store-wide ones once, and per-box ones no other box of the batch changes, once for all of them.
    const batchDeps = { ...deps, memo: batchMemo(due) };
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < due.length) {
        const subscription = due[next]!;
        next += 1;
        try {
          await prepareBoxesOf(batchDeps, subscription);
        } catch (error) {
          deps.logger.warn({ err: error, subscriptionId: subscription._id }, 'next box not prepared; retrying in 5 minutes');
          await retryRenewalCheckAt(subscription._id, new Date(now.getTime() + RETRY_AFTER_FAILURE_MS));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, lane));
    seen += due.length;
    if (due.length < batchSize) break;
  }
  await settleUnsettledOrders();
  return seen;
}

/**
 * One subscription: give back boxes that will not be sent, build every box whose cut-off has come (with a
 * cut-off as long as the cadence, two can be locked at once), and record when to look again. The last write
 * is conditional on the revision read: a change meanwhile leaves the check armed, and the next run works it
 * out again.
 */
export async function prepareNextBox(deps: RenewalDeps, subscriptionId: string): Promise<void> {
  const subscription = await findForRenewal(subscriptionId);
  if (subscription) await prepareBoxesOf(deps, subscription);
}

/** `prepareNextBox` for a subscription as the run read it (its batch's read). */
async function prepareBoxesOf(deps: RenewalDeps, subscription: Subscription): Promise<void> {
  const now = deps.clock.now();
  const unpaid = await releaseBoxesNotSent(deps, subscription);
  let dueAt = NOTHING_DUE;
  if (subscription.status === 'past_due') {
    // Stripe is retrying a payment: no new box is promised stock until it is paid or the dunning ends.
    dueAt = new Date(now.getTime() + RECHECK_IN_DUNNING_MS);
  } else if (isStatusIn(subscription.status, BUILDING_STATUSES)) {
    // Every charged box before the first open one is locked: each is built at its own cut-off.
    const open = firstOpenCycle(subscription, now);
    let cycle = nextChargedCycle(subscription, now);
    while (cycle && cycle.index < open.index) {
      const built = await buildBox(deps, subscription, cycle, unpaid);
      if (built === 'skipped') return; // the subscription changed (the cycle is skipped): checked again next run
      cycle = nextChargedCycle(subscription, cycle.chargeAt);
    }
    dueAt = cycle?.cutoffAt ?? NOTHING_DUE;
  }
  await armRenewalCheck(subscription, dueAt);
}

/**
 * Builds the cycle's box at its cut-off (src/orders/box-assembly.service.ts: the shopper's lines reserved,
 * then what the retention layer adds) and puts what is billed on top of the plan on the coming invoice. A box
 * with no variant to send is skipped: no charge.
 */
async function buildBox(deps: RenewalDeps, subscription: Subscription, cycle: Cycle, unpaid: readonly BoxOrder[]): Promise<'built' | 'skipped'> {
  const { order, unshippable } = await assembleBoxAtCutoff(
    { clock: deps.clock, extras: deps.extras, memo: deps.memo, unpaid, ...(deps.actor ? { actor: deps.actor } : {}) },
    subscription,
    cycle,
  );
  if (unshippable) {
    await skipUnshippableBox(deps, subscription, order, cycle); // (or finish a skip an earlier run began)
    return 'skipped';
  }
  // Only a box assembled is billed (a preparation that lost the box to a later attempt leaves it to that one).
  if (order.status === 'reserved' && order.assembledAt) await billBoxLines(deps, subscription, order);
  return 'built';
}

/** Lines that go on the cycle's invoice as items: add-ons (at their price) and amounts (shipping, amounts off). */
function billableLines(order: BoxOrder): OrderLine[] {
  return order.lines.filter((line) => {
    if (line.kind === 'plan' || line.kind === 'discount' || line.stripeInvoiceItemId) return false; // the subscription and its coupon bill these
    if (line.stock && line.stock !== 'reserved' && line.stock !== 'untracked') return false; // left out: not sent, not billed
    return line.kind === 'addon' || line.amountMinor !== 0;
  });
}

/**
 * Puts the box's add-ons, shipping and amounts off on the subscription's coming invoice as pending invoice
 * items, keyed by the order line, so a retry never bills twice: the items are recorded on the order in one
 * write after the last, and a run that stops before it creates them again under the same idempotency keys
 * (Stripe answers the item it made). Only what was reserved (or is not counted) is billed.
 */
async function billBoxLines(deps: RenewalDeps, subscription: Subscription, order: BoxOrder): Promise<void> {
  const toBill = billableLines(order);
  if (toBill.length === 0) return;
  if (!subscription.stripe.subscriptionId) throw new Error(`subscription ${subscription._id} has no Stripe subscription to bill the box on`);
  const memo = deps.memo ?? readEveryTime;
  const target = { customerId: subscription.stripe.customerId, subscriptionId: subscription.stripe.subscriptionId };
  const made: Array<{ line: OrderLine; stripeInvoiceItemId: string }> = [];
  try {
    for (const line of toBill) made.push({ line, stripeInvoiceItemId: (await createInvoiceItem(deps, memo, target, order, line)).id });
  } finally {
    // What was made is recorded even when a later item fails.
    await recordInvoiceItems(order, made);
  }
}

/** One billable line as a pending invoice item on the subscription's coming invoice (its key: the order and line). */
async function createInvoiceItem(
  deps: RenewalDeps,
  memo: RunMemo,
  target: { customerId: string; subscriptionId: string },
  order: BoxOrder,
  line: OrderLine,
): Promise<{ id: string }> {
  const described = {
    description: `${line.description} (box of ${order.shipOn})`,
    metadata: { boxcycle_merchant_id: order.merchantId, boxcycle_order_id: order._id },
  };
  const idempotencyKey = `invoice-item:${order._id}:${lineKeyOf(order, line)}:create`;
  if (line.kind !== 'addon') {
    return deps.stripe.createInvoiceItem({ ...target, ...described, amountMinor: line.amountMinor, currency: order.currency }, idempotencyKey);
  }
  const { merchantId } = order;
  const addonId = line.addonId;
  const addon = addonId ? await memo(`addon:${merchantId}:${addonId}`, () => findAddon(merchantId, addonId)) : undefined;
  const stripePriceId = addon?.prices.find((price) => price._id === line.priceId)?.stripePriceId;
  if (!stripePriceId) throw new Error(`add-on ${line.addonId} price ${line.priceId} is not mirrored to Stripe yet`);
  return deps.stripe.createInvoiceItem({ ...target, ...described, priceId: stripePriceId, quantity: line.quantity }, idempotencyKey);
}

/** A line's key in its box (orders built before keys were stored: from the hold id). */
function lineKeyOf(order: BoxOrder, line: OrderLine): string {
  return line.key ?? baseHoldId(line.holdId!).slice(order._id.length + 1);
}

/**
 * Nothing can be sent for this cycle: the cycle is skipped first (Stripe voids its invoice: no charge), then
 * the box is cancelled (`out_of_stock`) with its holds given back; the shopper is told by the listener of that
 * fact. Each step is idempotent, and a run that stops half way is finished by the next one.
 */
async function skipUnshippableBox(deps: RenewalDeps, subscription: Subscription, order: BoxOrder, cycle: Cycle): Promise<void> {
  await skipCycleWithNothingToShip(deps, subscription._id, cycle.cycleKey);
  await cancelBox(deps, order, 'out_of_stock', ['reserved']);
}

/** Cancels a box not sent and removes what it put on the coming invoice (best effort: an invoiced item stays, and that invoice is voided or never paid). */
async function cancelBox(deps: RenewalDeps, order: BoxOrder, reason: string, from: BoxOrder['status'][]): Promise<void> {
  const cancelled = await cancelUnsentBox(deps, order, reason, from);
  if (!cancelled) return;
  for (const line of cancelled.lines) {
    if (!line.stripeInvoiceItemId) continue;
    try {
      await deps.stripe.deleteInvoiceItem(line.stripeInvoiceItemId, `invoice-item:${line.holdId}:delete`);
    } catch (error) {
      deps.logger.warn({ err: error, orderId: order._id, invoiceItem: line.stripeInvoiceItemId }, 'invoice item of a cancelled box not removed');
    }
  }
}

/**
 * Boxes built but not to be sent any more give their stock back: the cycle is no longer charged (the
 * subscription was cancelled, or that cycle paused), or its payment failed and the dunning ended unpaid.
 * Returns the unpaid boxes as read (before any was cancelled here): the build takes a cycle with none for new.
 * In a batch, read for all of its subscriptions at once, with the batch: only this subscription's own
 * preparation changes them, once; a box paid or made meanwhile is met by the guarded writes (a cancel from
 * `reserved` or `held` only, the upsert that finds the box of a cycle).
 */
async function releaseBoxesNotSent(deps: RenewalDeps, subscription: Subscription): Promise<BoxOrder[]> {
  const { merchantId } = subscription;
  const open =
    (await batchShare(deps.memo ?? readEveryTime, 'unpaid-boxes', 'subscriptionIds', merchantId, subscription._id, (ids) =>
      unpaidBoxesOfEach(merchantId, ids),
    )) ?? [];
  for (const order of open) {
    if (order.status === 'held') {
      // Stripe retries each failed invoice on its own schedule: the box waits until that invoice is paid,
      // voided or marked uncollectible (handled as events), or the dunning ends (cancelled, or paused).
      if (subscription.status === 'cancelled' || subscription.status === 'paused') await cancelBox(deps, order, 'payment_failed', ['held']);
      continue;
    }
    // Cancelling at period end can still be undone (reactivate) until it takes effect: the box waits for it.
    if (subscription.cancellation?.mode === 'period_end' && subscription.status !== 'cancelled') continue;
    const cycle = cycleByKey(subscription.schedule, order.cycleKey);
    if (cycle && isCycleCharged(subscription, cycle)) continue;
    await cancelBox(deps, order, subscription.status === 'cancelled' ? 'subscription_cancelled' : 'cycle_not_charged', ['reserved']);
  }
  return open;
}

/** How long before its charge a shopper may still decline a box adjusted at its cut-off (Stripe drafts the invoice an hour before). */
const DECLINE_BEFORE_CHARGE_MS = 2 * 3_600_000;

/**
 * A box adjusted at its cut-off (its variant substituted, an extra left out) may be declined by the shopper until
 * shortly before its charge: the cycle is skipped (Stripe's invoice for it is voided: no charge) and the box
 * cancelled, its stock and grants given back. An exception to the cut-off, because the box is not what they chose.
 */
export async function declineAdjustedBox(deps: RenewalDeps, merchantId: string, subscriptionId: string, cycleKey: string): Promise<void> {
  const subscription = await findForRenewal(subscriptionId);
  if (!subscription || subscription.merchantId !== merchantId) throw new NotFoundError('No subscription with this id.');
  const order = (await unpaidBoxesOf(merchantId, subscriptionId)).find((box) => box.cycleKey === cycleKey);
  if (!order || order.status !== 'reserved') throw new InvalidStateError('This box is already charged or on its way.');
  const adjusted = order.lines.some((line) => line.substitutedFor) || (order.omittedLines ?? []).some((line) => line.reason === 'out_of_stock');
  if (!adjusted) throw new InvalidStateError('This box is as you chose it; skip boxes before their cut-off.');
  const cycle = cycleByKey(subscription.schedule, cycleKey);
  if (!cycle || cycle.chargeAt.getTime() - deps.clock.now().getTime() < DECLINE_BEFORE_CHARGE_MS)
    throw new InvalidStateError('This box is about to be charged: it can no longer be declined.');
  await skipCycleWithNothingToShip(deps, subscriptionId, cycleKey, 'declined_adjusted_box');
  await cancelBox(deps, order, 'declined_by_shopper', ['reserved']);
}
