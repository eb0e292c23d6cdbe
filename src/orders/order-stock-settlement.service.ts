import { fact, recordFacts } from '../events/fact-source';
import { actors, type Actor } from '../events/fact-types';
import type { Clock } from '../shared/time';
import { BoxOrderModel, type BoxOrder, type OrderStatus } from './box-order.model';
import { consumeOrderStock, releaseOrderStock, releaseStrayHolds } from './order-stock.service';

/**
 * Makes stock follow the order's status: a box that will not be sent gives its holds back, a shipped one
 * consumes them. Called after each move and by the renewal sweep (a crash between the two is caught there).
 * Holds its lines do not record — placed by a preparation attempt that lost the box to a later one or never
 * recorded its lines (it stopped) — go back too, whenever there can be any: more than one attempt, or a line
 * still pending.
 */
export async function settleOrderStock(order: BoxOrder): Promise<void> {
  const releases = ['cancelled', 'refunded'].includes(order.status);
  const consumes = ['shipped', 'delivered'].includes(order.status);
  if (!releases && !consumes) return;
  if (!order.lines.some((line) => line.stock === 'reserved' || (releases && line.stock === 'pending'))) return;
  const lines = releases ? await releaseOrderStock(order) : await consumeOrderStock(order);
  if (order.preparationAttempt !== undefined && (order.preparationAttempt > 1 || order.lines.some((line) => line.stock === 'pending')))
    await releaseStrayHolds(order);
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

/**
 * A box that will not be sent: cancelled (one winner among concurrent callers) with `box.cancelled` and its
 * reason, its stock given back. What it was granted goes back by the listeners of that fact.
 */
export async function cancelUnsentBox(
  deps: { clock: Clock; actor?: Actor | undefined },
  order: BoxOrder,
  reason: string,
  from: OrderStatus[] = ['reserved', 'held'],
): Promise<BoxOrder | null> {
  const now = deps.clock.now();
  const current = from.includes(order.status) ? order.status : null;
  const plan = order.lines.find((line) => line.kind === 'plan');
  const cancelled = await BoxOrderModel.findOneAndUpdate(
    { _id: order._id, status: { $in: from } },
    recordFacts(
      { $set: { status: 'cancelled', cancellationReason: reason }, $unset: { heldForInvoiceId: 1 }, $push: { history: { status: 'cancelled', at: now } } },
      fact('box.cancelled', deps.actor ?? actors.system(), now, {
        cycleKey: order.cycleKey,
        shipOn: order.shipOn,
        reason,
        from: current,
        paid: order.stripeInvoiceId !== undefined,
        // What the shopper chose (before any substitution), for the message that tells them.
        description: plan?.substitutedFor?.description ?? plan?.description ?? null,
        // …and its SKU and units, for the out-of-stock analytics.
        sku: plan?.substitutedFor?.sku ?? plan?.sku ?? null,
        quantity: plan?.quantity ?? null,
      }),
    ),
    { returnDocument: 'after', lean: true },
  );
  if (cancelled) await settleOrderStock(cancelled);
  return cancelled;
}
