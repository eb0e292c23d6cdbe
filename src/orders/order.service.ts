import { fact, recordFacts } from '../events/fact-source';
import { actors, type Actor, type FactType } from '../events/fact-types';
import { InvalidStateError, NotFoundError } from '../shared/errors';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { BoxOrderModel, ORDER_STATUSES, type BoxOrder, type OrderStatus } from './box-order.model';
import { settleOrderStock } from './order-stock-settlement.service';
import type { OrderView } from './order.schemas';

/**
 * The orders domain's public surface: reading boxes, moving them through fulfilment, and (re-exported) building
 * them at the cut-off and following what Stripe says about their invoices.
 *   box-assembly.service.ts            one cycle's box, made once: the shopper's lines, reserved, then the retention lines
 *   order-payments.service.ts          invoice paid, failed, voided, refunded, credited
 *   order-stock-settlement.service.ts  stock follows the status; a box not sent is cancelled
 */
export { assembleBoxAtCutoff, boxOrderId, insertBoxOrder, reserveBox, type BoxDraft, type BoxExtras } from './box-assembly.service';
export { holdBoxForFailedInvoice, recordCreditNote, recordPaidInvoice, recordRefund, releaseBoxOfClosedInvoice } from './order-payments.service';
export { cancelUnsentBox, settleOrderStock, settleUnsettledOrders } from './order-stock-settlement.service';
export { chooseVariantForBox } from './box-changes.service';

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
      ? {
          carrier: order.shipment.carrier,
          trackingNumber: order.shipment.trackingNumber,
          trackingUrl: order.shipment.trackingUrl ?? null,
          shippedAt: iso(order.shipment.shippedAt),
        }
      : null,
    cancellationReason: order.cancellationReason ?? null,
    rating: order.rating ? { score: order.rating.score, comment: order.rating.comment ?? null, ratedAt: iso(order.rating.ratedAt) } : null,
    history: order.history.map((entry) => ({ status: entry.status, at: iso(entry.at) })),
    createdAt: iso(order.createdAt),
  };
}

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
  // With a ship date or a plan and no status, every status is asked for: `{ merchantId, shipOn | planId, status,
  // createdAt, _id }` is then read once per status, merged newest first (see box-order.model.ts).
  const everyStatus = !query.status && !query.subscriptionId && (query.planId || query.shipOn);
  const filter = {
    merchantId,
    ...(query.status ? { status: query.status } : everyStatus ? { status: { $in: [...ORDER_STATUSES] } } : {}),
    ...(query.subscriptionId ? { subscriptionId: query.subscriptionId } : {}),
    ...(query.planId ? { planId: query.planId } : {}),
    ...(query.shipOn ? { shipOn: query.shipOn } : {}),
    ...afterCursor(decodeCursor(query.startingAfter)),
  };
  const orders = await BoxOrderModel.find(filter)
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(orders, query.limit, toOrderView);
}

/**
 * The shopper rates a delivered box (1 to 5, and a comment): stored on the order (rating again replaces it),
 * recorded as `box.rated` for the merchant's subscriber page and the box-service analytics.
 */
export async function rateBox(
  deps: { clock: Clock; actor?: Actor | undefined },
  merchantId: string,
  orderId: string,
  input: { score: number; comment?: string | undefined },
): Promise<OrderView> {
  const now = deps.clock.now();
  const before = await BoxOrderModel.findOne({ _id: orderId, merchantId }, { status: 1, cycleKey: 1, rating: 1 }).lean();
  if (!before) throw new NotFoundError('No order with this id.');
  if (before.status !== 'delivered') throw new InvalidStateError('A box can be rated once it is delivered.');
  const rating = { score: input.score, ...(input.comment ? { comment: input.comment } : {}), ratedAt: now };
  const updated = await BoxOrderModel.findOneAndUpdate(
    { _id: orderId, merchantId, status: 'delivered' },
    recordFacts(
      { $set: { rating } },
      fact('box.rated', deps.actor ?? actors.system(), now, {
        cycleKey: before.cycleKey,
        score: input.score,
        hasComment: Boolean(input.comment),
        rerated: before.rating !== undefined,
      }),
    ),
    { returnDocument: 'after', lean: true },
  );
  if (!updated) throw new InvalidStateError('A box can be rated once it is delivered.');
  return toOrderView(updated);
}

/** A line of the box is on the coming Stripe invoice as this invoice item (so a retry never bills it twice). */
export async function recordInvoiceItem(
  order: Pick<BoxOrder, '_id'>,
  line: Pick<BoxOrder['lines'][number], 'holdId' | 'key'>,
  stripeInvoiceItemId: string,
): Promise<void> {
  const which = line.holdId ? { 'lines.holdId': line.holdId } : { 'lines.key': line.key };
  await BoxOrderModel.updateOne({ _id: order._id, ...which }, { $set: { 'lines.$.stripeInvoiceItemId': stripeInvoiceItemId } });
}

/**
 * Several lines of the box are on the coming Stripe invoice: recorded in one write, each line found at its
 * place in the box (and checked to be the same line there). When the lines moved meanwhile, each is recorded
 * on its own, as `recordInvoiceItem` does.
 */
export async function recordInvoiceItems(
  order: Pick<BoxOrder, '_id' | 'lines'>,
  items: Array<{ line: Pick<BoxOrder['lines'][number], 'holdId' | 'key'>; stripeInvoiceItemId: string }>,
): Promise<void> {
  if (items.length === 0) return;
  const filter: Record<string, unknown> = { _id: order._id };
  const set: Record<string, string> = {};
  for (const { line, stripeInvoiceItemId } of items) {
    const index = order.lines.findIndex((other) => (line.holdId ? other.holdId === line.holdId : other.key === line.key));
    if (index < 0) continue;
    filter[`lines.${index}.${line.holdId ? 'holdId' : 'key'}`] = line.holdId ?? line.key;
    set[`lines.${index}.stripeInvoiceItemId`] = stripeInvoiceItemId;
  }
  if (Object.keys(set).length === items.length && (await BoxOrderModel.updateOne(filter, { $set: set })).matchedCount === 1) return;
  for (const { line, stripeInvoiceItemId } of items) await recordInvoiceItem(order, line, stripeInvoiceItemId);
}

/** Where an order may go from each state. Every move is a conditional update on the current state. */
const TRANSITIONS: Record<'packed' | 'shipped' | 'delivered' | 'cancelled', OrderStatus[]> = {
  packed: ['paid'],
  shipped: ['paid', 'packed'],
  delivered: ['shipped'],
  cancelled: ['paid', 'packed', 'held'],
};

const MOVE_FACTS: Record<keyof typeof TRANSITIONS, FactType> = {
  packed: 'box.packed',
  shipped: 'box.shipped',
  delivered: 'box.delivered',
  cancelled: 'box.cancelled',
};

/**
 * Moves a box through fulfilment (packed, shipped with its tracking, delivered) or cancels it before it ships,
 * as one conditional update with its fact; stock follows (consumed when shipped, given back when cancelled).
 */
export async function moveOrder(
  deps: { clock: Clock; actor?: Actor | undefined },
  merchantId: string,
  orderId: string,
  to: keyof typeof TRANSITIONS,
  fields: Record<string, unknown> = {},
): Promise<OrderView> {
  const now = deps.clock.now();
  const before = await BoxOrderModel.findOne({ _id: orderId, merchantId }, { status: 1, cycleKey: 1, shipOn: 1 }).lean();
  if (!before) throw new NotFoundError('No order with this id.');
  const shipment = (fields.shipment ?? undefined) as BoxOrder['shipment'] | undefined;
  const data = {
    cycleKey: before.cycleKey,
    shipOn: before.shipOn,
    from: before.status,
    ...(to === 'cancelled' ? { reason: fields.cancellationReason ?? 'merchant' } : {}),
    ...(shipment ? { carrier: shipment.carrier, trackingNumber: shipment.trackingNumber, trackingUrl: shipment.trackingUrl ?? null } : {}),
  };
  const updated = await BoxOrderModel.findOneAndUpdate(
    { _id: orderId, merchantId, status: { $in: TRANSITIONS[to] } },
    recordFacts(
      { $set: { status: to, ...fields }, $push: { history: { status: to, at: now } } },
      fact(MOVE_FACTS[to], deps.actor ?? actors.system(), now, data),
    ),
    { returnDocument: 'after', lean: true },
  );
  if (updated) {
    await settleOrderStock(updated);
    return toOrderView((await BoxOrderModel.findById(updated._id).lean()) ?? updated);
  }
  const current = await BoxOrderModel.findOne({ _id: orderId, merchantId }, { status: 1 }).lean();
  if (!current) throw new NotFoundError('No order with this id.');
  if (current.status === 'reserved') throw new InvalidStateError('This box is not paid yet. To not send it, skip the cycle on the subscription.');
  throw new InvalidStateError(`A ${current.status} order cannot be marked ${to}.`);
}
