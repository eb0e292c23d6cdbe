import { z } from 'zod';
import { CustomerModel } from '../customers/customer.model';
import { queueNotification } from '../notifications/notification.service';
import { PlanModel } from '../plans/plan.model';
import type { Cycle } from '../shared/calendar';
import { isDuplicateKeyError } from '../shared/db';
import { InvalidStateError, NotFoundError } from '../shared/errors';
import { derivedId } from '../shared/ids';
import type { Clock } from '../shared/time';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import { SubscriptionModel, type Subscription } from '../subscriptions/subscription.model';
import { boxContentsFor, cycleOfPeriodStart, recordSubscriptionEvent, type BoxLine, type SubscriptionSyncDeps } from '../subscriptions/subscription.service';
import { settleRetentionOfOrder } from '../renewals/box-extras.service';
import { BoxOrderModel, type BoxOrder, type OmittedLine, type OrderLine, type OrderStatus } from './box-order.model';
import { consumeOrderStock, releaseOrderStock, reserveOrderLines, type ReservationMode } from './order-stock.service';
import type { OrderView } from './order.schemas';

const SubscriptionRef = z.union([z.string(), z.object({ id: z.string() })]);
const InvoiceParent = z
  .object({
    subscription_details: z
      .object({ subscription: SubscriptionRef, metadata: z.record(z.string(), z.string()).nullable().optional() })
      .nullable()
      .optional(),
  })
  .nullable()
  .optional();
export const InvoiceLines = z.object({
  data: z
    .array(z.object({ period: z.object({ start: z.number().int(), end: z.number().int() }), parent: z.object({ type: z.string() }).nullable().optional() }))
    .min(1),
});

/**
 * The period the invoice bills: its subscription line's (an add-on's invoice item has a period of its own,
 * the moment it was created, and need not come after the subscription line).
 */
export function billedPeriodStart(lines: z.infer<typeof InvoiceLines>): Date {
  const line = lines.data.find((l) => l.parent?.type === 'subscription_item_details') ?? lines.data[0]!;
  return new Date(line.period.start * 1000);
}

/** The invoice fields the handler reads (API 2025+: the subscription is under parent.subscription_details). */
export const PaidInvoiceFields = z.object({
  id: z.string(),
  amount_paid: z.number().int(),
  currency: z.string(),
  parent: InvoiceParent,
  lines: InvoiceLines,
  status_transitions: z.object({ paid_at: z.number().int().nullable().optional() }).optional(),
});

export const FailedInvoiceOrderFields = z.object({ id: z.string(), parent: InvoiceParent, lines: InvoiceLines.optional() });

function stripeSubscriptionIdOf(invoice: { parent?: z.infer<typeof InvoiceParent> }): string | undefined {
  const ref = invoice.parent?.subscription_details?.subscription;
  return typeof ref === 'string' ? ref : ref?.id;
}

export function toOrderView(order: BoxOrder): OrderView {
  return {
    id: order._id,
    object: 'order',
    subscriptionId: order.subscriptionId,
    customerId: order.customerId,
    planId: order.planId,
    cycleKey: order.cycleKey,
    shipOn: order.shipOn,
    status: order.status,
    lines: order.lines.map((line) => ({
      kind: line.kind,
      description: line.description,
      sku: line.sku ?? null,
      quantity: line.quantity,
      unitAmountMinor: line.unitAmountMinor,
      amountMinor: line.amountMinor,
      stock: line.stock ?? null,
      substitutedFor: line.substitutedFor ?? null,
      grantedBy: line.grantedBy ? { source: line.grantedBy.source, id: line.grantedBy.id, reason: line.grantedBy.reason } : null,
    })),
    omittedLines: (order.omittedLines ?? []).map((line) => ({ ...line })),
    amountDue: { amountMinor: order.amountDueMinor, currency: order.currency },
    amountPaid: { amountMinor: order.amountPaidMinor, currency: order.currency },
    amountRefunded: { amountMinor: order.amountRefundedMinor ?? 0, currency: order.currency },
    creditNotes: (order.creditNotes ?? []).map((note) => ({
      stripeCreditNoteId: note.stripeCreditNoteId,
      amountMinor: note.amountMinor,
      refundMinor: note.refundMinor,
      status: note.status,
      at: iso(note.at),
    })),
    stripeInvoiceId: order.stripeInvoiceId ?? null,
    shippingAddress: order.shippingAddress,
    paidAt: iso(order.paidAt ?? null),
    shipment: order.shipment
      ? { carrier: order.shipment.carrier, trackingNumber: order.shipment.trackingNumber, trackingUrl: order.shipment.trackingUrl ?? null, shippedAt: iso(order.shipment.shippedAt) }
      : null,
    cancellationReason: order.cancellationReason ?? null,
    history: order.history.map((entry) => ({ status: entry.status, at: iso(entry.at) })),
    createdAt: iso(order.createdAt),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Building a cycle's box
// ---------------------------------------------------------------------------------------------------------

/** The one id a cycle's box can have: a retry or a second worker finds the same order. */
function boxOrderId(subscriptionId: string, cycleKey: string): string {
  return derivedId('ord', `${subscriptionId}:${cycleKey}`);
}

/**
 * Inserts the cycle's order with its lines not reserved yet, once: `$setOnInsert` on (subscription, cycle).
 * A box made at payment (nothing was built at the cut-off) leaves out add-ons: they were never put on the
 * invoice, and an unpaid extra is not sent. Returns the order as stored and whether this call made it.
 */
export async function insertBoxOrder(
  clock: Clock,
  subscription: Subscription,
  cycle: Cycle,
  status: Extract<OrderStatus, 'reserved' | 'paid' | 'held'>,
  fields: Partial<Pick<BoxOrder, 'stripeInvoiceId' | 'amountPaidMinor' | 'paidAt' | 'heldForInvoiceId'>> = {},
  /** Lines the retention engine adds to a box built at its cut-off (gifts, perks, rewards, credit). */
  extras?: (draft: { orderId: string; merchantId: string; customerId: string; subscriptionId: string; shipOn: string; currency: string; lines: BoxLine[] }) => Promise<BoxLine[]>,
): Promise<{ order: BoxOrder; inserted: boolean }> {
  const { merchantId } = subscription;
  const orderId = boxOrderId(subscription._id, cycle.cycleKey);
  const existing = await BoxOrderModel.findOne({ subscriptionId: subscription._id, cycleKey: cycle.cycleKey }).lean();
  if (existing) return { order: existing, inserted: false };
  const [contents, customer] = await Promise.all([boxContentsFor(subscription, cycle), CustomerModel.findOne({ _id: subscription.customerId, merchantId }).lean()]);
  if (!customer) throw new Error(`customer ${subscription.customerId} of subscription ${subscription._id} is missing`);
  const builtBeforeCharge = status === 'reserved';
  const boxLines = contents.lines.filter((line) => builtBeforeCharge || line.kind !== 'addon');
  const added = builtBeforeCharge && extras
    ? await extras({ orderId, merchantId, customerId: subscription.customerId, subscriptionId: subscription._id, shipOn: cycle.chargeOn, currency: contents.currency, lines: boxLines })
    : [];
  const lines: OrderLine[] = [];
  const omittedLines: OmittedLine[] = [];
  for (const line of contents.lines) {
    if (line.kind === 'addon' && !builtBeforeCharge) {
      omittedLines.push({ description: line.description, sku: line.sku ?? '', quantity: line.quantity, reason: 'not_billed' });
    }
  }
  for (const line of [...boxLines, ...added]) {
    lines.push({
      ...line,
      amountMinor: line.unitAmountMinor * line.quantity,
      // Lines with units (the plan variant, add-ons, gifts, free items) hold stock; amounts do not.
      ...(line.kind === 'plan' || line.addonId ? { holdId: `${orderId}:${line.key}`, stock: 'pending' as const } : {}),
    });
  }
  const now = clock.now();
  const result = await BoxOrderModel.updateOne(
    { subscriptionId: subscription._id, cycleKey: cycle.cycleKey },
    {
      $setOnInsert: {
        _id: orderId,
        merchantId,
        customerId: subscription.customerId,
        planId: contents.box.planId,
        shipOn: cycle.chargeOn,
        status,
        lines,
        omittedLines,
        amountDueMinor: lines.reduce((sum, line) => sum + line.amountMinor, 0),
        amountPaidMinor: 0,
        amountRefundedMinor: 0,
        creditNotes: [],
        currency: contents.currency,
        shippingAddress: customer.shippingAddress,
        history: [{ status, at: now }],
        createdAt: now,
        ...fields,
      },
    },
    { upsert: true },
  );
  const order = await BoxOrderModel.findOne({ subscriptionId: subscription._id, cycleKey: cycle.cycleKey }).lean();
  if (!order) throw new Error(`order of ${subscription._id} ${cycle.cycleKey} vanished`);
  return { order, inserted: result.upsertedCount === 1 };
}

/**
 * Reserves the order's pending lines and records how they stand. The write is conditional on lines still
 * pending, so it never overwrites a later state (a box shipped meanwhile).
 */
export async function reserveBox(order: BoxOrder, subscription: Subscription, mode: ReservationMode) {
  if (!order.lines.some((line) => line.stock === 'pending')) return { order, unshippable: false };
  const plan = await PlanModel.findOne({ _id: order.planId, merchantId: order.merchantId }).lean();
  if (!plan) throw new Error(`plan ${order.planId} of order ${order._id} is missing`);
  const result = await reserveOrderLines(order, plan, subscription.secondChoiceVariantId, mode);
  const amountDueMinor = result.lines.reduce((sum, line) => sum + line.amountMinor, 0);
  const updated = await BoxOrderModel.findOneAndUpdate(
    { _id: order._id, status: order.status, 'lines.stock': 'pending' },
    { $set: { lines: result.lines, omittedLines: result.omittedLines, ...(order.status === 'reserved' ? { amountDueMinor } : {}) } },
    { returnDocument: 'after', lean: true },
  );
  if (updated) return { order: updated, unshippable: result.unshippable };
  // The box moved meanwhile (cancelled, or reserved by another worker): holds this call took and the order
  // does not record are settled against its current state.
  const current = await BoxOrderModel.findById(order._id).lean();
  if (current && ['cancelled', 'refunded'].includes(current.status)) await releaseOrderStock({ merchantId: order.merchantId, lines: result.lines });
  return { order: current ?? order, unshippable: false };
}

/**
 * Makes stock follow the order's status: a box that will not be sent gives its holds back, a shipped one
 * consumes them. Called after each move and by the renewal sweep (a crash between the two is caught there).
 */
async function settleOrderStock(order: BoxOrder): Promise<void> {
  const releases = ['cancelled', 'refunded'].includes(order.status);
  const consumes = ['shipped', 'delivered'].includes(order.status);
  if (!releases && !consumes) return;
  if (!order.lines.some((line) => line.stock === 'reserved' || (releases && line.stock === 'pending'))) return;
  const lines = releases ? await releaseOrderStock(order) : await consumeOrderStock(order);
  // Line by line, only the stock state: a concurrent write to another field of a line (its invoice item) stays.
  for (const [index, line] of lines.entries()) {
    if (line.stock === order.lines[index]!.stock || !line.holdId) continue;
    await BoxOrderModel.updateOne({ _id: order._id, status: order.status, 'lines.holdId': line.holdId }, { $set: { 'lines.$.stock': line.stock } });
  }
}

/** Orders whose stock does not follow their status yet (a crash between the two writes). */
export async function settleUnsettledOrders(batchSize = 100): Promise<number> {
  const orders = await BoxOrderModel.find({
    $or: [
      { status: { $in: ['cancelled', 'refunded'] }, 'lines.stock': { $in: ['reserved', 'pending'] } },
      { status: { $in: ['shipped', 'delivered'] }, 'lines.stock': 'reserved' },
    ],
  })
    .limit(batchSize)
    .lean();
  for (const order of orders) await settleOrderStock(order);
  return orders.length;
}

/** A box that will not be sent: cancelled (one winner among concurrent callers), its stock given back. */
export async function cancelUnsentBox(clock: Clock, order: BoxOrder, reason: string, from: OrderStatus[] = ['reserved', 'held']): Promise<BoxOrder | null> {
  const now = clock.now();
  const cancelled = await BoxOrderModel.findOneAndUpdate(
    { _id: order._id, status: { $in: from } },
    { $set: { status: 'cancelled', cancellationReason: reason }, $unset: { heldForInvoiceId: 1 }, $push: { history: { status: 'cancelled', at: now } } },
    { returnDocument: 'after', lean: true },
  );
  if (cancelled) await settleOrderStock(cancelled);
  return cancelled;
}

// ---------------------------------------------------------------------------------------------------------
// What Stripe tells us about the box's invoice
// ---------------------------------------------------------------------------------------------------------

/**
 * `invoice.paid`: the cycle's box is paid, exactly once whatever the number of deliveries or workers. A box
 * built at the cut-off (or held in dunning) becomes `paid`; with none, it is made now and reserved. A trial
 * or a dunning recovery ends: the subscription becomes active. Returns the merchant, or undefined for an
 * invoice that is not one of our subscriptions'.
 */
export async function recordPaidInvoice(deps: SubscriptionSyncDeps, invoice: z.infer<typeof PaidInvoiceFields>): Promise<string | undefined> {
  const stripeSubscriptionId = stripeSubscriptionIdOf(invoice);
  if (!stripeSubscriptionId) return undefined;
  const subscription = await SubscriptionModel.findOne({ 'stripe.subscriptionId': stripeSubscriptionId }).lean();
  if (!subscription) {
    await refuseBeforeCheckoutRecorded(invoice);
    return undefined;
  }
  const { merchantId } = subscription;
  const cycle = cycleOfPeriodStart(subscription, billedPeriodStart(invoice.lines));
  const customer = await CustomerModel.findOne({ _id: subscription.customerId, merchantId }, { shippingAddress: 1 }).lean();
  const now = deps.clock.now();
  const paidAt = invoice.status_transitions?.paid_at ? new Date(invoice.status_transitions.paid_at * 1000) : now;
  const payment = { stripeInvoiceId: invoice.id, amountPaidMinor: invoice.amount_paid, paidAt };
  const key = { subscriptionId: subscription._id, cycleKey: cycle.cycleKey };

  let paid: BoxOrder | null = null;
  for (let attempt = 0; attempt < 3 && !paid; attempt += 1) {
    // A box built at the cut-off, or held while the payment failed: paid now, to the address of the moment.
    paid = await BoxOrderModel.findOneAndUpdate(
      { ...key, status: { $in: ['reserved', 'held'] }, stripeInvoiceId: { $exists: false } },
      {
        $set: { ...payment, status: 'paid', ...(customer ? { shippingAddress: customer.shippingAddress } : {}) },
        $unset: { heldForInvoiceId: 1 },
        $push: { history: { status: 'paid', at: now } },
      },
      { returnDocument: 'after', lean: true },
    );
    if (paid) break;
    try {
      const made = await insertBoxOrder(deps.clock, subscription, cycle, 'paid', payment);
      if (made.inserted) paid = made.order;
      else if (made.order.status !== 'reserved' && made.order.status !== 'held') break; // handled before, or cancelled
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error; // a concurrent build or payment made it: read again
    }
  }
  let charged: BoxOrder | null = null;
  if (!paid) {
    // A box cancelled before its charge (out of stock, the subscription ended) that Stripe charged anyway:
    // the payment is recorded on it, so the merchant sees a cancelled box with money to refund.
    charged = await BoxOrderModel.findOneAndUpdate(
      { ...key, status: 'cancelled', stripeInvoiceId: { $exists: false } },
      { $set: payment },
      { returnDocument: 'after', lean: true },
    );
    if (charged) deps.logger.warn({ orderId: charged._id, stripeInvoiceId: invoice.id }, 'a cancelled box was charged; it needs a refund');
  }
  if (!paid && !charged) {
    // This invoice's payment is recorded already. A repeat, or a retry of a run that stopped before
    // finishing: then its box's reservation and the subscription's side are finished now.
    const recorded = await BoxOrderModel.findOne({ stripeInvoiceId: invoice.id }).lean();
    if (!recorded) {
      const other = await BoxOrderModel.findOne(key, { stripeInvoiceId: 1 }).lean();
      deps.logger.warn({ cycleKey: cycle.cycleKey, stripeInvoiceId: invoice.id, orderInvoiceId: other?.stripeInvoiceId }, 'a second paid invoice for a cycle already paid');
      return merchantId;
    }
    if (recorded.status !== 'cancelled') paid = recorded;
    else charged = recorded;
  }
  const order = (paid ?? charged)!;
  // One worker finishes the payment's effects; a claim older than 10 minutes belongs to one that stopped.
  const claimed = await BoxOrderModel.updateOne(
    { _id: order._id, paymentApplied: { $ne: true }, $or: [{ paymentClaimedAt: { $exists: false } }, { paymentClaimedAt: { $lt: new Date(now.getTime() - 10 * 60_000) } }] },
    { $set: { paymentClaimedAt: now } },
  );
  if (claimed.modifiedCount === 0) return merchantId; // done, or being done by another worker
  try {
    if (paid) await tellShopperOfBackOrder(deps, subscription, (await reserveBox(paid, subscription, 'paid')).order);
    await applyPaymentToSubscription(deps, subscription._id, invoice, cycle.cycleKey, paid !== null);
    await BoxOrderModel.updateOne({ _id: order._id }, { $set: { paymentApplied: true } });
  } catch (error) {
    // Give the claim back so the inbox's retry finishes it.
    await BoxOrderModel.updateOne({ _id: order._id, paymentClaimedAt: now }, { $unset: { paymentClaimedAt: 1 } });
    throw error;
  }
  return merchantId;
}

/**
 * A paid box with lines that were not on hand (made at payment, as the first box is, when the stock went
 * meanwhile) cannot ship yet: the shopper is told, once per box, what is on back-order.
 */
async function tellShopperOfBackOrder(deps: SubscriptionSyncDeps, subscription: Subscription, order: BoxOrder): Promise<void> {
  const short = order.lines.filter((line) => line.stock === 'short');
  if (short.length === 0) return;
  const customer = await CustomerModel.findOne({ _id: subscription.customerId, merchantId: subscription.merchantId }, { name: 1 }).lean();
  await queueNotification(deps.clock, {
    merchantId: subscription.merchantId,
    customerId: subscription.customerId,
    subscriptionId: subscription._id,
    type: 'box.back_ordered',
    aboutKey: order._id,
    data: { name: customer?.name ?? 'there', shipOn: order.shipOn, short: short.map((line) => ({ description: line.description, quantity: line.quantity })) },
  });
}

/**
 * The first invoice of a subscription made by Checkout can come before `checkout.session.completed` (events
 * come in any order): until that is recorded (which links the Stripe subscription and anchors the calendar
 * on Stripe's billing), the invoice cannot be placed, so it fails and the inbox retries it. Stripe copies
 * the subscription's metadata (ours) onto the invoice.
 */
async function refuseBeforeCheckoutRecorded(invoice: { id: string; parent?: z.infer<typeof InvoiceParent> }): Promise<void> {
  const metadata = invoice.parent?.subscription_details?.metadata;
  const ourId = metadata?.boxcycle_subscription_id;
  const merchantId = metadata?.boxcycle_merchant_id;
  if (!ourId || !merchantId) return;
  const waiting = await SubscriptionModel.exists({ _id: ourId, merchantId, status: 'incomplete', 'stripe.checkoutSessionId': { $exists: true } });
  if (waiting) throw new Error(`invoice ${invoice.id} is for subscription ${ourId}, whose Checkout is not recorded yet; retrying`);
}

/** The paid box is a fact of its own revision; a trial ends with it, and a dunning with the payment of its invoice. */
async function applyPaymentToSubscription(
  deps: SubscriptionSyncDeps,
  subscriptionId: string,
  invoice: z.infer<typeof PaidInvoiceFields>,
  cycleKey: string,
  boxPaid: boolean,
): Promise<void> {
  const now = deps.clock.now();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const current = await SubscriptionModel.findById(subscriptionId).lean();
    if (!current) return;
    // The dunning belongs to the invoice that is failing: only its payment ends it (or Stripe's word on the
    // subscription). A late payment of an older invoice leaves a newer one past due, its box held.
    const endsDunning = !current.dunning || current.dunning.stripeInvoiceId === invoice.id;
    const becomesActive = endsDunning && ['trialing', 'past_due', 'incomplete'].includes(current.status);
    const updated = await SubscriptionModel.findOneAndUpdate(
      { _id: current._id, revision: current.revision },
      {
        $set: { updatedAt: now, ...(becomesActive ? { status: 'active', stripeSyncDueAt: now } : {}) },
        ...(endsDunning ? { $unset: { dunning: 1 } } : {}),
        $inc: { revision: 1 },
      },
      { returnDocument: 'after', lean: true },
    );
    if (!updated) continue; // changed meanwhile: read again
    await recordSubscriptionEvent(deps, updated, boxPaid ? 'subscription.box_paid' : 'subscription.cancelled_box_charged', {
      cycleKey,
      stripeInvoiceId: invoice.id,
      amountPaidMinor: invoice.amount_paid,
      ...(becomesActive ? { from: current.status } : {}),
    });
    return;
  }
  throw new Error(`subscription ${subscriptionId} kept changing while recording invoice ${invoice.id}; retrying`);
}

/**
 * `invoice.payment_failed`: the cycle's box waits (`held`) while Stripe retries; its stock stays reserved
 * until the invoice is paid or the dunning ends. A box not built yet is built now, held.
 */
export async function holdBoxForFailedInvoice(deps: SubscriptionSyncDeps, invoice: z.infer<typeof FailedInvoiceOrderFields>): Promise<void> {
  const stripeSubscriptionId = stripeSubscriptionIdOf(invoice);
  if (!stripeSubscriptionId || !invoice.lines) return;
  const subscription = await SubscriptionModel.findOne({ 'stripe.subscriptionId': stripeSubscriptionId }).lean();
  if (!subscription || subscription.status === 'cancelled') return;
  if (await BoxOrderModel.exists({ stripeInvoiceId: invoice.id })) return; // paid already (events come late)
  const cycle = cycleOfPeriodStart(subscription, billedPeriodStart(invoice.lines));
  const now = deps.clock.now();
  const held = await BoxOrderModel.findOneAndUpdate(
    { subscriptionId: subscription._id, cycleKey: cycle.cycleKey, status: 'reserved' },
    { $set: { status: 'held', heldForInvoiceId: invoice.id }, $push: { history: { status: 'held', at: now } } },
    { returnDocument: 'after', lean: true },
  );
  if (held) return;
  try {
    const made = await insertBoxOrder(deps.clock, subscription, cycle, 'held', { heldForInvoiceId: invoice.id });
    if (made.inserted) await reserveBox(made.order, subscription, 'paid');
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
}

export const ClosedInvoiceFields = z.object({ id: z.string() });

/**
 * `invoice.voided` / `invoice.marked_uncollectible`: the failed invoice a box waited for will not be paid;
 * the box is cancelled and its stock given back.
 */
export async function releaseBoxOfClosedInvoice(deps: SubscriptionSyncDeps, invoice: z.infer<typeof ClosedInvoiceFields>, reason: string): Promise<string | undefined> {
  const order = await BoxOrderModel.findOne({ heldForInvoiceId: invoice.id, status: 'held' }).lean();
  if (!order) return undefined;
  await cancelUnsentBox(deps.clock, order, reason, ['held']);
  return order.merchantId;
}

/** Fields of `charge.refunded` we read; the invoice is found from the payment intent (API 2025+). */
export const RefundedChargeFields = z.object({
  id: z.string(),
  amount_refunded: z.number().int(),
  refunded: z.boolean(),
  payment_intent: z.union([z.string(), z.object({ id: z.string() })]).nullable().optional(),
});

/**
 * `charge.refunded`: the order's refunded amount follows Stripe's `amount_refunded`, which only grows (a late
 * or repeated event changes nothing). Fully refunded before it ships, the box is not sent: its stock returns.
 */
export async function recordRefund(deps: SubscriptionSyncDeps, stripeInvoiceId: string | undefined, charge: z.infer<typeof RefundedChargeFields>): Promise<string | undefined> {
  if (!stripeInvoiceId) return undefined;
  const order = await BoxOrderModel.findOne({ stripeInvoiceId }).lean();
  // Its invoice.paid may not be processed yet (events come late and out of order): the inbox retries this one.
  if (!order) throw new Error(`no order has invoice ${stripeInvoiceId} yet; retrying the refund later`);
  await BoxOrderModel.updateOne({ _id: order._id, amountRefundedMinor: { $lt: charge.amount_refunded } }, { $set: { amountRefundedMinor: charge.amount_refunded } });
  if (charge.refunded) {
    const refunded = await BoxOrderModel.findOneAndUpdate(
      { _id: order._id, status: { $in: ['paid', 'packed'] } },
      { $set: { status: 'refunded' }, $push: { history: { status: 'refunded', at: deps.clock.now() } } },
      { returnDocument: 'after', lean: true },
    );
    if (refunded) await settleOrderStock(refunded);
  }
  return order.merchantId;
}

export const CreditNoteFields = z.object({
  id: z.string(),
  invoice: z.union([z.string(), z.object({ id: z.string() })]),
  total: z.number().int(),
  status: z.enum(['issued', 'void']),
  refunds: z.array(z.object({ amount_refunded: z.number().int() })).optional(),
  created: z.number().int(),
});

/** `credit_note.created/updated/voided`: the order lists the invoice's credit notes, each once; voiding is final. */
export async function recordCreditNote(deps: SubscriptionSyncDeps, note: z.infer<typeof CreditNoteFields>): Promise<string | undefined> {
  const stripeInvoiceId = typeof note.invoice === 'string' ? note.invoice : note.invoice.id;
  const order = await BoxOrderModel.findOne({ stripeInvoiceId }).lean();
  if (!order) throw new Error(`no order has invoice ${stripeInvoiceId} yet; retrying the credit note later`);
  const entry = {
    stripeCreditNoteId: note.id,
    amountMinor: note.total,
    refundMinor: (note.refunds ?? []).reduce((sum, refund) => sum + refund.amount_refunded, 0),
    status: note.status,
    at: new Date(note.created * 1000),
  };
  const added = await BoxOrderModel.updateOne({ _id: order._id, 'creditNotes.stripeCreditNoteId': { $ne: note.id } }, { $push: { creditNotes: entry } });
  if (added.modifiedCount === 0 && note.status === 'void') {
    await BoxOrderModel.updateOne({ _id: order._id, 'creditNotes.stripeCreditNoteId': note.id }, { $set: { 'creditNotes.$.status': 'void' } });
  }
  deps.logger.debug({ orderId: order._id, creditNote: note.id }, 'credit note recorded');
  return order.merchantId;
}

// ---------------------------------------------------------------------------------------------------------
// The merchant's side: reading orders and moving them through fulfilment
// ---------------------------------------------------------------------------------------------------------

export async function getOrder(merchantId: string, orderId: string): Promise<OrderView> {
  const order = await BoxOrderModel.findOne({ _id: orderId, merchantId }).lean();
  if (!order) throw new NotFoundError('No order with this id.');
  return toOrderView(order);
}

export async function listOrders(
  merchantId: string,
  query: {
    limit: number;
    startingAfter?: string | undefined;
    status?: OrderStatus | undefined;
    subscriptionId?: string | undefined;
    planId?: string | undefined;
    shipOn?: string | undefined;
  },
) {
  const filter = {
    merchantId,
    ...(query.status ? { status: query.status } : {}),
    ...(query.subscriptionId ? { subscriptionId: query.subscriptionId } : {}),
    ...(query.planId ? { planId: query.planId } : {}),
    ...(query.shipOn ? { shipOn: query.shipOn } : {}),
    ...afterCursor(decodeCursor(query.startingAfter)),
  };
  const orders = await BoxOrderModel.find(filter).sort({ createdAt: -1, _id: -1 }).limit(query.limit + 1).lean();
  return listPage(orders, query.limit, toOrderView);
}

/** Where an order may go from each state. Every move is a conditional update on the current state. */
const TRANSITIONS: Record<'packed' | 'shipped' | 'delivered' | 'cancelled', OrderStatus[]> = {
  packed: ['paid'],
  shipped: ['paid', 'packed'],
  delivered: ['shipped'],
  cancelled: ['paid', 'packed', 'held'],
};

export async function moveOrder(
  clock: Clock,
  merchantId: string,
  orderId: string,
  to: keyof typeof TRANSITIONS,
  fields: Record<string, unknown> = {},
): Promise<OrderView> {
  const now = clock.now();
  const updated = await BoxOrderModel.findOneAndUpdate(
    { _id: orderId, merchantId, status: { $in: TRANSITIONS[to] } },
    { $set: { status: to, ...fields }, $push: { history: { status: to, at: now } } },
    { returnDocument: 'after', lean: true },
  );
  if (updated) {
    await settleOrderStock(updated);
    await settleRetentionOfOrder(clock, updated);
    return toOrderView((await BoxOrderModel.findById(updated._id).lean()) ?? updated);
  }
  const current = await BoxOrderModel.findOne({ _id: orderId, merchantId }, { status: 1 }).lean();
  if (!current) throw new NotFoundError('No order with this id.');
  if (current.status === 'reserved') throw new InvalidStateError('This box is not paid yet. To not send it, skip the cycle on the subscription.');
  throw new InvalidStateError(`A ${current.status} order cannot be marked ${to}.`);
}
