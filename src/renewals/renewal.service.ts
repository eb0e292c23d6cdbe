import { AddonModel } from '../addons/addon.model';
import { CustomerModel } from '../customers/customer.model';
import { queueNotification, type NotificationType } from '../notifications/notification.service';
import { BoxOrderModel, type BoxOrder, type OrderLine } from '../orders/box-order.model';
import { retentionLinesFor, settleRetentionOfOrder, settleRetentionSweep } from './box-extras.service';
import { cancelUnsentBox, insertBoxOrder, reserveBox, settleUnsettledOrders } from '../orders/order.service';
import { cycleByKey, type Cycle } from '../shared/calendar';
import { SubscriptionModel, type Subscription } from '../subscriptions/subscription.model';
import { firstOpenCycle, isCycleCharged, nextChargedCycle, recordSubscriptionEvent, type SubscriptionSyncDeps } from '../subscriptions/subscription.service';

/** Nothing to build until the subscription changes (cancelled, paused with no end): every change re-arms the check. */
const NOTHING_DUE = new Date('9999-12-31T00:00:00.000Z');
const RETRY_AFTER_FAILURE_MS = 5 * 60_000;
const RECHECK_IN_DUNNING_MS = 60 * 60_000;

/**
 * The renewals.prepare-boxes job: every subscription whose next box reached its cut-off gets that box built
 * and its stock reserved, boxes that will not be sent any more give their stock back, and orders whose stock
 * does not follow their status yet are settled. Batches until nothing is due. Returns how many were looked at.
 */
export async function prepareDueBoxes(deps: SubscriptionSyncDeps, options: { batchSize?: number; maxBatches?: number } = {}): Promise<number> {
  const batchSize = options.batchSize ?? 100;
  let seen = 0;
  for (let batch = 0; batch < (options.maxBatches ?? 50); batch += 1) {
    const now = deps.clock.now();
    const due = await SubscriptionModel.find({ $or: [{ renewalDueAt: { $lte: now } }, { renewalDueAt: null }] }, { _id: 1 })
      .limit(batchSize)
      .lean();
    for (const { _id } of due) {
      try {
        await prepareNextBox(deps, _id);
      } catch (error) {
        deps.logger.warn({ err: error, subscriptionId: _id }, 'next box not prepared; retrying in 5 minutes');
        await SubscriptionModel.updateOne({ _id }, { $set: { renewalDueAt: new Date(now.getTime() + RETRY_AFTER_FAILURE_MS) } });
      }
    }
    seen += due.length;
    if (due.length < batchSize) break;
  }
  await settleUnsettledOrders();
  await settleRetentionSweep(deps.clock);
  return seen;
}

/**
 * One subscription: give back boxes that will not be sent, build the next box when its cut-off has come,
 * and record when to look again. The last write is conditional on the revision read: a change meanwhile
 * leaves the check armed, and the next run works it out again.
 */
export async function prepareNextBox(deps: SubscriptionSyncDeps, subscriptionId: string): Promise<void> {
  const subscription = await SubscriptionModel.findById(subscriptionId).lean();
  if (!subscription) return;
  const now = deps.clock.now();
  await releaseBoxesNotSent(deps, subscription);
  let dueAt = NOTHING_DUE;
  if (subscription.status === 'past_due') {
    // Stripe is retrying a payment: no new box is promised stock until it is paid or the dunning ends.
    dueAt = new Date(now.getTime() + RECHECK_IN_DUNNING_MS);
  } else if (['active', 'trialing', 'paused'].includes(subscription.status)) {
    // Every charged box before the first open one is locked and gets built: several when the cut-off is as
    // long as the cadence. The next look is at the cut-off of the first open box that will be charged.
    const open = firstOpenCycle(subscription, now);
    let cycle = nextChargedCycle(subscription, now);
    while (cycle && cycle.index < open.index) {
      const built = await buildBox(deps, subscription, cycle);
      if (built === 'skipped') return; // the subscription changed (the cycle is skipped): checked again next run
      cycle = nextChargedCycle(subscription, cycle.chargeAt);
    }
    dueAt = cycle?.cutoffAt ?? NOTHING_DUE;
  }
  await SubscriptionModel.updateOne({ _id: subscription._id, revision: subscription.revision }, { $set: { renewalDueAt: dueAt } });
}

/**
 * Builds the cycle's box at its cut-off: the order is made once, stock reserved line by line (a variant out
 * of stock becomes the shopper's second choice or the merchant's substitute; an add-on out of stock is left
 * out and not charged), add-ons are put on the coming invoice, and the shopper is told of any change. A box
 * with no variant to send is skipped: no charge.
 */
async function buildBox(deps: SubscriptionSyncDeps, subscription: Subscription, cycle: Cycle): Promise<'built' | 'skipped'> {
  const { order } = await insertBoxOrder(deps.clock, subscription, cycle, 'reserved', {}, (draft) => retentionLinesFor(deps.clock, subscription, cycle, draft));
  if (order.status === 'cancelled' && order.cancellationReason === 'out_of_stock') {
    await skipUnshippableBox(deps, subscription, order, cycle); // finish a skip an earlier run began
    return 'skipped';
  }
  if (order.status !== 'reserved') return 'built'; // paid already (the invoice came first), or cancelled
  const { order: reserved, unshippable } = await reserveBox(order, subscription, 'cutoff');
  // A plan line found short by an earlier run (which stopped before skipping) means the same.
  if (unshippable || reserved.lines.some((line) => line.kind === 'plan' && line.stock === 'short')) {
    await skipUnshippableBox(deps, subscription, reserved, cycle);
    return 'skipped';
  }
  await billBoxLines(deps, subscription, reserved);
  await settleRetentionOfOrder(deps.clock, reserved);
  const substituted = reserved.lines.filter((line) => line.substitutedFor);
  if (substituted.length > 0 || reserved.omittedLines.length > 0) {
    await tellShopper(deps, subscription, 'box.adjusted', reserved._id, {
      shipOn: reserved.shipOn,
      substituted: substituted.map((line) => ({ chosen: line.substitutedFor!.description, sent: line.description, rule: line.substitutedFor!.rule })),
      omitted: reserved.omittedLines,
    });
  }
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
 * items, keyed by the order line, so a retry never bills twice. Only what was reserved (or is not counted) is billed.
 */
async function billBoxLines(deps: SubscriptionSyncDeps, subscription: Subscription, order: BoxOrder): Promise<void> {
  const toBill = billableLines(order);
  if (toBill.length === 0) return;
  if (!subscription.stripe.subscriptionId) throw new Error(`subscription ${subscription._id} has no Stripe subscription to bill the box on`);
  for (const line of toBill) {
    const target = { customerId: subscription.stripe.customerId, subscriptionId: subscription.stripe.subscriptionId };
    const described = { description: `${line.description} (box of ${order.shipOn})`, metadata: { boxcycle_merchant_id: order.merchantId, boxcycle_order_id: order._id } };
    let item: { id: string };
    if (line.kind === 'addon') {
      const addon = await AddonModel.findOne({ _id: line.addonId, merchantId: order.merchantId }, { prices: 1 }).lean();
      const stripePriceId = addon?.prices.find((price) => price._id === line.priceId)?.stripePriceId;
      if (!stripePriceId) throw new Error(`add-on ${line.addonId} price ${line.priceId} is not mirrored to Stripe yet`);
      item = await deps.stripe.createInvoiceItem({ ...target, ...described, priceId: stripePriceId, quantity: line.quantity }, `invoice-item:${order._id}:${lineKeyOf(order, line)}:create`);
    } else {
      item = await deps.stripe.createInvoiceItem({ ...target, ...described, amountMinor: line.amountMinor, currency: order.currency }, `invoice-item:${order._id}:${lineKeyOf(order, line)}:create`);
    }
    const which = line.holdId ? { 'lines.holdId': line.holdId } : { 'lines.key': line.key };
    await BoxOrderModel.updateOne({ _id: order._id, ...which }, { $set: { 'lines.$.stripeInvoiceItemId': item.id } });
  }
}

/** A line's key in its box (orders built before keys were stored: from the hold id). */
function lineKeyOf(order: BoxOrder, line: OrderLine): string {
  return line.key ?? line.holdId!.slice(order._id.length + 1);
}

/**
 * Nothing can be sent for this cycle: the cycle is skipped first (Stripe voids its invoice: no charge), then
 * the shopper told and the box cancelled with its holds given back. Each step is idempotent, and a run that
 * stops half way is finished by the next one.
 */
async function skipUnshippableBox(deps: SubscriptionSyncDeps, subscription: Subscription, order: BoxOrder, cycle: Cycle): Promise<void> {
  const now = deps.clock.now();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const current = await SubscriptionModel.findById(subscription._id).lean();
    if (!current || current.skippedCycleKeys.includes(cycle.cycleKey)) break;
    const updated = await SubscriptionModel.findOneAndUpdate(
      { _id: current._id, revision: current.revision },
      { $addToSet: { skippedCycleKeys: cycle.cycleKey }, $set: { updatedAt: now, stripeSyncDueAt: now }, $inc: { revision: 1 } },
      { returnDocument: 'after', lean: true },
    );
    if (!updated) continue;
    await recordSubscriptionEvent(deps, updated, 'subscription.box_skipped', { cycleKey: cycle.cycleKey, reason: 'out_of_stock' });
    break;
  }
  const plan = order.lines.find((line) => line.kind === 'plan');
  await tellShopper(deps, subscription, 'box.skipped_out_of_stock', order._id, {
    description: plan?.substitutedFor?.description ?? plan?.description ?? 'your box',
    shipOn: order.shipOn,
  });
  await cancelBox(deps, order, 'out_of_stock', ['reserved']);
}

/** Queues a message to the subscription's shopper, once per box (`aboutKey`), addressed by name. */
async function tellShopper(deps: SubscriptionSyncDeps, subscription: Subscription, type: NotificationType, aboutKey: string, data: Record<string, unknown>): Promise<void> {
  const customer = await CustomerModel.findOne({ _id: subscription.customerId, merchantId: subscription.merchantId }, { name: 1 }).lean();
  await queueNotification(deps.clock, {
    merchantId: subscription.merchantId,
    customerId: subscription.customerId,
    subscriptionId: subscription._id,
    type,
    aboutKey,
    data: { name: customer?.name ?? 'there', ...data },
  });
}

/** Cancels a box not sent and removes the add-ons it put on the coming invoice (best effort: an invoiced item stays, and that invoice is voided or never paid). */
async function cancelBox(deps: SubscriptionSyncDeps, order: BoxOrder, reason: string, from: BoxOrder['status'][]): Promise<void> {
  const cancelled = await cancelUnsentBox(deps.clock, order, reason, from);
  if (!cancelled) return;
  await settleRetentionOfOrder(deps.clock, cancelled);
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
 */
async function releaseBoxesNotSent(deps: SubscriptionSyncDeps, subscription: Subscription): Promise<void> {
  const open = await BoxOrderModel.find({ subscriptionId: subscription._id, merchantId: subscription.merchantId, status: { $in: ['reserved', 'held'] } }).lean();
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
}
