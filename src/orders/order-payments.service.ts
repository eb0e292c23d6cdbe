import type { z } from 'zod';
import { findCustomer } from '../customers/customer.queries';
import { fact, recordFacts } from '../events/fact-source';
import { actors } from '../events/fact-types';
import { isDuplicateKeyError } from '../shared/db';
import {
  billedPeriodStart,
  stripeSubscriptionIdOf,
  type ClosedInvoiceFields,
  type CreditNoteFields,
  type FailedInvoiceFields,
  type InvoiceParent,
  type PaidInvoiceFields,
  type RefundedChargeFields,
} from '../stripe/invoice-fields';
import { boxAddressFor, cycleOfPeriodStart } from '../subscriptions/subscription-calendar';
import type { SubscriptionSyncDeps } from '../subscriptions/subscription-deps';
import { findByStripeSubscriptionId, isAwaitingCheckout, recordCyclePaid } from '../subscriptions/subscription-payments.service';
import type { Subscription } from '../subscriptions/subscription.model';
import { insertBoxOrder, reserveBox } from './box-assembly.service';
import { BoxOrderModel, type BoxOrder } from './box-order.model';
import { cancelUnsentBox, settleOrderStock } from './order-stock-settlement.service';

/**
 * What Stripe tells us about a box's invoice: paid (exactly once per cycle), failed (the box waits), voided,
 * refunded, credited. Each state change is a guarded write with its fact (`box.paid`, `box.held`,
 * `box.cancelled`, `box.refunded`, …), so listeners (loyalty points, the referral reward, messages) follow.
 */

function actorOf(deps: SubscriptionSyncDeps) {
  return deps.actor ?? actors.stripe();
}

function paidFact(
  deps: SubscriptionSyncDeps,
  order: Pick<BoxOrder, 'cycleKey' | 'shipOn' | 'currency'>,
  invoice: Pick<PaidInvoiceFields, 'id' | 'amount_paid'>,
  from: string | null,
) {
  return fact('box.paid', actorOf(deps), deps.clock.now(), {
    cycleKey: order.cycleKey,
    shipOn: order.shipOn,
    stripeInvoiceId: invoice.id,
    amountPaidMinor: invoice.amount_paid,
    currency: order.currency,
    from,
  });
}

/**
 * `invoice.paid`: the cycle's box is paid, exactly once whatever the number of deliveries or workers. A box
 * built at the cut-off (or held in dunning) becomes `paid`; with none, it is made now and reserved. A trial
 * or a dunning recovery ends (the subscriptions domain decides). Returns the merchant, or undefined for an
 * invoice that is not one of our subscriptions'.
 */
export async function recordPaidInvoice(deps: SubscriptionSyncDeps, invoice: PaidInvoiceFields): Promise<string | undefined> {
  const stripeSubscriptionId = stripeSubscriptionIdOf(invoice);
  if (!stripeSubscriptionId) return undefined;
  const subscription = await findByStripeSubscriptionId(stripeSubscriptionId);
  if (!subscription) {
    await refuseBeforeCheckoutRecorded(invoice);
    return undefined;
  }
  const { merchantId } = subscription;
  const cycle = cycleOfPeriodStart(subscription, billedPeriodStart(invoice.lines));
  if (!cycle) {
    // Not a box's invoice: the $0 invoice that starts a trial, or an invoice for a period no cycle starts.
    deps.logger.info(
      { subscriptionId: subscription._id, stripeInvoiceId: invoice.id, amountPaidMinor: invoice.amount_paid },
      'a paid invoice that bills no box',
    );
    return merchantId;
  }
  const customer = await findCustomer(merchantId, subscription.customerId);
  // Paid boxes go to the address of the moment: this box's own, when the shopper sent it elsewhere, else theirs.
  const shippingAddress = boxAddressFor(subscription, cycle.cycleKey) ?? customer?.shippingAddress;
  const now = deps.clock.now();
  const paidAt = invoice.status_transitions?.paid_at ? new Date(invoice.status_transitions.paid_at * 1000) : now;
  const payment = { stripeInvoiceId: invoice.id, amountPaidMinor: invoice.amount_paid, paidAt };
  const key = { subscriptionId: subscription._id, cycleKey: cycle.cycleKey };

  let paid: BoxOrder | null = null;
  for (let attempt = 0; attempt < 3 && !paid; attempt += 1) {
    // A box built at the cut-off, or held while the payment failed: paid now, to the address of the moment.
    const waiting = await BoxOrderModel.findOne({ ...key, status: { $in: ['reserved', 'held'] }, stripeInvoiceId: { $exists: false } }).lean();
    if (waiting) {
      paid = await BoxOrderModel.findOneAndUpdate(
        { _id: waiting._id, status: waiting.status, stripeInvoiceId: { $exists: false } },
        recordFacts(
          {
            $set: { ...payment, status: 'paid', ...(shippingAddress ? { shippingAddress } : {}) },
            $unset: { heldForInvoiceId: 1 },
            $push: { history: { status: 'paid', at: now } },
          },
          paidFact(deps, waiting, invoice, waiting.status),
        ),
        { returnDocument: 'after', lean: true },
      );
      if (paid) break;
      continue; // it moved meanwhile: look again
    }
    try {
      const made = await insertBoxOrder(deps.clock, subscription, cycle, 'paid', payment, (draft) => [
        paidFact(deps, { cycleKey: cycle.cycleKey, shipOn: cycle.chargeOn, currency: draft.currency }, invoice, null),
      ]);
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
      recordFacts(
        { $set: payment },
        fact('box.charged_after_cancel', actorOf(deps), now, {
          cycleKey: cycle.cycleKey,
          stripeInvoiceId: invoice.id,
          amountPaidMinor: invoice.amount_paid,
          currency: invoice.currency.toUpperCase(),
        }),
      ),
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
      deps.logger.warn(
        { cycleKey: cycle.cycleKey, stripeInvoiceId: invoice.id, orderInvoiceId: other?.stripeInvoiceId },
        'a second paid invoice for a cycle already paid',
      );
      return merchantId;
    }
    if (recorded.status !== 'cancelled') paid = recorded;
    else charged = recorded;
  }
  const order = (paid ?? charged)!;
  // One worker finishes the payment's effects; a claim older than 10 minutes belongs to one that stopped.
  const claimed = await BoxOrderModel.updateOne(
    {
      _id: order._id,
      paymentApplied: { $ne: true },
      $or: [{ paymentClaimedAt: { $exists: false } }, { paymentClaimedAt: { $lt: new Date(now.getTime() - 10 * 60_000) } }],
    },
    { $set: { paymentClaimedAt: now } },
  );
  if (claimed.modifiedCount === 0) return merchantId; // done, or being done by another worker
  try {
    // A box made at payment is reserved now; lines not on hand are back-ordered (the shopper is told by a listener).
    if (paid) await reserveBox(paid, subscription, 'paid', (reserved) => backOrderFacts(deps, paid, reserved));
    await recordCyclePaid(deps, subscription._id, { stripeInvoiceId: invoice.id, cycleKey: cycle.cycleKey, amountPaidMinor: invoice.amount_paid });
    await BoxOrderModel.updateOne({ _id: order._id }, { $set: { paymentApplied: true } });
  } catch (error) {
    // Give the claim back so the inbox's retry finishes it.
    await BoxOrderModel.updateOne({ _id: order._id, paymentClaimedAt: now }, { $unset: { paymentClaimedAt: 1 } });
    throw error;
  }
  return merchantId;
}

/** A paid box whose lines were not all on hand cannot ship yet: what is on back-order. */
function backOrderFacts(deps: SubscriptionSyncDeps, order: BoxOrder, reserved: Pick<BoxOrder, 'lines'>) {
  const short = reserved.lines.filter((line) => line.stock === 'short');
  if (short.length === 0) return [];
  return [
    fact('box.back_ordered', actorOf(deps), deps.clock.now(), {
      cycleKey: order.cycleKey,
      shipOn: order.shipOn,
      short: short.map((line) => ({ description: line.description, sku: line.sku ?? null, quantity: line.quantity })),
    }),
  ];
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
  if (await isAwaitingCheckout(merchantId, ourId))
    throw new Error(`invoice ${invoice.id} is for subscription ${ourId}, whose Checkout is not recorded yet; retrying`);
}

/**
 * `invoice.payment_failed`: the cycle's box waits (`held`) while Stripe retries; its stock stays reserved
 * until the invoice is paid or the dunning ends. A box not built yet is built now, held.
 */
export async function holdBoxForFailedInvoice(deps: SubscriptionSyncDeps, invoice: FailedInvoiceFields): Promise<void> {
  const stripeSubscriptionId = stripeSubscriptionIdOf(invoice);
  if (!stripeSubscriptionId || !invoice.lines) return;
  const subscription: Subscription | null = await findByStripeSubscriptionId(stripeSubscriptionId);
  if (!subscription || subscription.status === 'cancelled') return;
  if (await BoxOrderModel.exists({ stripeInvoiceId: invoice.id })) return; // paid already (events come late)
  const cycle = cycleOfPeriodStart(subscription, billedPeriodStart(invoice.lines));
  if (!cycle) return;
  const now = deps.clock.now();
  const heldFact = () => fact('box.held', actorOf(deps), now, { cycleKey: cycle.cycleKey, stripeInvoiceId: invoice.id, attempt: invoice.attempt_count });
  const held = await BoxOrderModel.findOneAndUpdate(
    { subscriptionId: subscription._id, cycleKey: cycle.cycleKey, status: 'reserved' },
    recordFacts({ $set: { status: 'held', heldForInvoiceId: invoice.id }, $push: { history: { status: 'held', at: now } } }, heldFact()),
    { returnDocument: 'after', lean: true },
  );
  if (held) return;
  try {
    const made = await insertBoxOrder(deps.clock, subscription, cycle, 'held', { heldForInvoiceId: invoice.id }, () => [heldFact()]);
    if (made.inserted) await reserveBox(made.order, subscription, 'paid');
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
}

/**
 * `invoice.voided` / `invoice.marked_uncollectible`: the failed invoice a box waited for will not be paid;
 * the box is cancelled and its stock given back.
 */
export async function releaseBoxOfClosedInvoice(
  deps: SubscriptionSyncDeps,
  invoice: z.infer<typeof ClosedInvoiceFields>,
  reason: string,
): Promise<string | undefined> {
  const order = await BoxOrderModel.findOne({ heldForInvoiceId: invoice.id, status: 'held' }).lean();
  if (!order) return undefined;
  await cancelUnsentBox({ clock: deps.clock, actor: actorOf(deps) }, order, reason, ['held']);
  return order.merchantId;
}

/**
 * `charge.refunded`: the order's refunded amount follows Stripe's `amount_refunded`, which only grows (a late
 * or repeated event changes nothing): `box.payment_refunded`. Fully refunded before it ships, the box is not
 * sent: `box.refunded`, and its stock returns.
 */
export async function recordRefund(
  deps: SubscriptionSyncDeps,
  stripeInvoiceId: string | undefined,
  charge: z.infer<typeof RefundedChargeFields>,
): Promise<string | undefined> {
  if (!stripeInvoiceId) return undefined;
  const order = await BoxOrderModel.findOne({ stripeInvoiceId }).lean();
  // Its invoice.paid may not be processed yet (events come late and out of order): the inbox retries this one.
  if (!order) throw new Error(`no order has invoice ${stripeInvoiceId} yet; retrying the refund later`);
  const now = deps.clock.now();
  await BoxOrderModel.updateOne(
    { _id: order._id, amountRefundedMinor: { $lt: charge.amount_refunded } },
    recordFacts(
      { $set: { amountRefundedMinor: charge.amount_refunded } },
      fact('box.payment_refunded', actorOf(deps), now, {
        cycleKey: order.cycleKey,
        stripeChargeId: charge.id,
        amountRefundedMinor: charge.amount_refunded,
        increaseMinor: charge.amount_refunded - (order.amountRefundedMinor ?? 0),
        currency: order.currency,
        full: charge.refunded,
      }),
    ),
  );
  if (charge.refunded) {
    const refunded = await BoxOrderModel.findOneAndUpdate(
      { _id: order._id, status: { $in: ['paid', 'packed'] } },
      recordFacts(
        { $set: { status: 'refunded' }, $push: { history: { status: 'refunded', at: now } } },
        fact('box.refunded', actorOf(deps), now, {
          cycleKey: order.cycleKey,
          from: order.status,
          amountRefundedMinor: charge.amount_refunded,
          currency: order.currency,
        }),
      ),
      { returnDocument: 'after', lean: true },
    );
    if (refunded) await settleOrderStock(refunded);
  }
  return order.merchantId;
}

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
