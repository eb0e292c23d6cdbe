import { BoxOrderModel, type BoxOrder, type OrderStatus } from './box-order.model';

/**
 * What other domains may read of a box order: narrow, merchant-scoped reads. Nothing here writes; a change
 * of an order goes through the orders service.
 */

/** Orders that count as a paid box (tenure, tiers, spend, a referral's reward): paid and not refunded or cancelled. */
export const PAID_BOX_STATUSES = ['paid', 'packed', 'shipped', 'delivered'] as const satisfies readonly OrderStatus[];

export async function findOrder(merchantId: string, orderId: string): Promise<BoxOrder | undefined> {
  return (await BoxOrderModel.findOne({ _id: orderId, merchantId }).lean()) ?? undefined;
}

/** The box of one cycle of a subscription, if it was built (or made at payment). */
export async function findOrderOfCycle(merchantId: string, subscriptionId: string, cycleKey: string): Promise<BoxOrder | undefined> {
  return (await BoxOrderModel.findOne({ merchantId, subscriptionId, cycleKey }).lean()) ?? undefined;
}

/** The cycles whose box exists, of these subscriptions, from `fromCycleKey` on. */
export async function builtCycles(
  merchantId: string,
  subscriptionIds: string[],
  fromCycleKey: string,
): Promise<Array<{ subscriptionId: string; cycleKey: string }>> {
  const orders = await BoxOrderModel.find(
    { merchantId, subscriptionId: { $in: subscriptionIds }, cycleKey: { $gte: fromCycleKey } },
    { subscriptionId: 1, cycleKey: 1 },
  ).lean();
  return orders.map((order) => ({ subscriptionId: order.subscriptionId, cycleKey: order.cycleKey }));
}

/** A subscription's tenure: how many of its boxes were paid. */
export async function paidBoxCount(merchantId: string, subscriptionId: string): Promise<number> {
  return BoxOrderModel.countDocuments({ merchantId, subscriptionId, status: { $in: PAID_BOX_STATUSES } });
}

/** How many paid boxes each of these subscriptions has had (one query for a page of them; absent ones have none). */
export async function paidBoxCounts(merchantId: string, subscriptionIds: readonly string[]): Promise<Map<string, number>> {
  if (subscriptionIds.length === 0) return new Map();
  const rows = await BoxOrderModel.aggregate<{ _id: string; count: number }>([
    { $match: { subscriptionId: { $in: [...subscriptionIds] }, merchantId, status: { $in: PAID_BOX_STATUSES } } },
    { $group: { _id: '$subscriptionId', count: { $sum: 1 } } },
  ]);
  return new Map(rows.map((row) => [row._id, row.count]));
}

/** Whether a subscription has a paid box. */
export async function hasPaidBox(merchantId: string, subscriptionId: string): Promise<boolean> {
  return (await BoxOrderModel.exists({ merchantId, subscriptionId, status: { $in: PAID_BOX_STATUSES } })) !== null;
}

/** A shopper's paid boxes with `paidAt` in (from, to]: what each cost and in which currency. */
export async function paidBoxesOfCustomer(
  merchantId: string,
  customerId: string,
  from: Date,
  to: Date,
): Promise<Array<Pick<BoxOrder, 'amountPaidMinor' | 'amountRefundedMinor' | 'currency'>>> {
  return BoxOrderModel.find(
    { merchantId, customerId, status: { $in: PAID_BOX_STATUSES }, paidAt: { $gt: from, $lte: to } },
    { _id: 0, amountPaidMinor: 1, amountRefundedMinor: 1, currency: 1 },
  ).lean();
}

/** Paid less refunded per shopper, over boxes paid in (from, to] (every currency summed: callers filter). */
export async function spendByCustomer(merchantId: string, from: Date, to: Date): Promise<Array<{ customerId: string; spendMinor: number }>> {
  const rows = await BoxOrderModel.aggregate<{ _id: string; spendMinor: number }>([
    { $match: { merchantId, status: { $in: PAID_BOX_STATUSES }, paidAt: { $gt: from, $lte: to } } },
    { $group: { _id: '$customerId', paid: { $sum: '$amountPaidMinor' }, refunded: { $sum: '$amountRefundedMinor' } } },
    { $project: { spendMinor: { $subtract: ['$paid', '$refunded'] } } },
  ]);
  return rows.map((row) => ({ customerId: row._id, spendMinor: row.spendMinor }));
}

/** A subscription's latest boxes, by ship date, newest first; cancelled ones left out. */
export async function recentOrdersOf(merchantId: string, subscriptionId: string, limit: number): Promise<BoxOrder[]> {
  return BoxOrderModel.find({ merchantId, subscriptionId, status: { $ne: 'cancelled' } })
    .sort({ shipOn: -1 })
    .limit(limit)
    .lean();
}

/** Whether a Stripe invoice paid one of our boxes (a late failure of a paid invoice changes nothing). */
export async function isInvoiceOfABox(stripeInvoiceId: string): Promise<boolean> {
  return (await BoxOrderModel.exists({ stripeInvoiceId })) !== null;
}

/** The boxes of a subscription built but not paid yet (reserved at the cut-off, or held while a payment fails). */
export async function unpaidBoxesOf(merchantId: string, subscriptionId: string): Promise<BoxOrder[]> {
  return BoxOrderModel.find({ subscriptionId, merchantId, status: { $in: ['reserved', 'held'] } }).lean();
}

/** The unpaid boxes of each of these subscriptions (one query for a batch of them; absent ones have none). */
export async function unpaidBoxesOfEach(merchantId: string, subscriptionIds: readonly string[]): Promise<Map<string, BoxOrder[]>> {
  const orders = await BoxOrderModel.find({ subscriptionId: { $in: [...subscriptionIds] }, merchantId, status: { $in: ['reserved', 'held'] } }).lean();
  const bySubscription = new Map<string, BoxOrder[]>();
  for (const order of orders) bySubscription.set(order.subscriptionId, [...(bySubscription.get(order.subscriptionId) ?? []), order]);
  return bySubscription;
}

/** Paid boxes still not shipped whose ship date is on or before `shipOnOrBefore` (late boxes), oldest first. */
export async function unshippedPaidBoxes(merchantId: string, shipOnOrBefore: string): Promise<BoxOrder[]> {
  // In the order of `{ merchantId, shipOn, status, createdAt, _id }`: by ship date, then status, newest first.
  return BoxOrderModel.find({ merchantId, status: { $in: ['paid', 'packed'] }, shipOn: { $lte: shipOnOrBefore } })
    .sort({ shipOn: 1, status: 1, createdAt: -1, _id: -1 })
    .lean();
}

/** Boxes delivered (and still counted as delivered) in (from, to], by when they were marked delivered. */
export async function boxesDeliveredBetween(merchantId: string, from: Date, to: Date): Promise<BoxOrder[]> {
  return BoxOrderModel.find({ merchantId, status: 'delivered', history: { $elemMatch: { status: 'delivered', at: { $gt: from, $lte: to } } } }).lean();
}

/** A subscription's paid boxes of cycles before `cycleKey` (its tenure before that box, however late it is asked). */
export async function paidBoxCountBefore(merchantId: string, subscriptionId: string, cycleKey: string): Promise<number> {
  return BoxOrderModel.countDocuments({ merchantId, subscriptionId, status: { $in: PAID_BOX_STATUSES }, cycleKey: { $lt: cycleKey } });
}

/** How many built boxes are due to ship from `fromShipOn` to before `toShipOn` (local dates) and not shipped yet. */
export async function boxesToShipCount(merchantId: string, fromShipOn: string, toShipOn: string): Promise<number> {
  return BoxOrderModel.countDocuments({ merchantId, shipOn: { $gte: fromShipOn, $lt: toShipOn }, status: { $in: ['reserved', 'paid', 'packed'] } });
}

/** What the fulfilment pages read of a box: its cycle, ship date, state, lines and tracking. */
export type BoxState = Pick<
  BoxOrder,
  '_id' | 'subscriptionId' | 'customerId' | 'cycleKey' | 'shipOn' | 'status' | 'lines' | 'shipment' | 'cancellationReason' | 'shippingAddress'
>;
const BOX_STATE = {
  subscriptionId: 1,
  customerId: 1,
  cycleKey: 1,
  shipOn: 1,
  status: 1,
  lines: 1,
  shipment: 1,
  cancellationReason: 1,
  shippingAddress: 1,
} as const;

/** Every box due to ship from `fromOn` to `toOn` (local dates, both included), in any status (index: merchant, ship date). */
export async function boxesShippingBetween(merchantId: string, fromOn: string, toOn: string): Promise<BoxState[]> {
  // In the order of `{ merchantId, shipOn, status, createdAt, _id }`.
  return BoxOrderModel.find({ merchantId, shipOn: { $gte: fromOn, $lte: toOn } }, BOX_STATE)
    .sort({ shipOn: 1, status: 1, createdAt: -1, _id: -1 })
    .lean();
}

/** These boxes of the merchant (another merchant's ids, or ids that are no box, are simply not there). */
export async function boxStatesOf(merchantId: string, orderIds: readonly string[]): Promise<BoxState[]> {
  if (orderIds.length === 0) return [];
  return BoxOrderModel.find({ _id: { $in: [...new Set(orderIds)] }, merchantId }, BOX_STATE).lean();
}

/**
 * Boxes a person should look at, newest first (index: merchant, status, creation), at most `limit`:
 * `held` (the payment is failing), `back_ordered` (paid, with a line short of stock), `out_of_stock`
 * (cancelled at the cut-off for want of stock), `shipped` (on their way, not delivered yet).
 */
export async function boxesNeedingAttention(
  merchantId: string,
  kind: 'held' | 'back_ordered' | 'out_of_stock' | 'shipped',
  limit: number,
): Promise<BoxState[]> {
  const filters: Record<typeof kind, Record<string, unknown>> = {
    held: { status: 'held' },
    back_ordered: { status: { $in: ['paid', 'packed'] }, 'lines.stock': 'short' },
    out_of_stock: { status: 'cancelled', cancellationReason: 'out_of_stock' },
    shipped: { status: 'shipped' },
  };
  const filter = filters[kind];
  return BoxOrderModel.find({ merchantId, ...filter }, BOX_STATE)
    .sort({ createdAt: -1, _id: -1 })
    .limit(limit)
    .lean();
}

/**
 * Boxes a merchant picks as affected by a mistake: due to ship from `fromOn` to `toOn` (local dates, both
 * included; index: merchant, ship date), narrowed to a SKU on any of their lines and to a plan. Boxes
 * cancelled before they were sent are not affected.
 */
export interface AffectedBoxFilter {
  fromOn: string;
  toOn: string;
  sku?: string | undefined;
  planId?: string | undefined;
}

function affectedQuery(merchantId: string, filter: AffectedBoxFilter): Record<string, unknown> {
  return {
    merchantId,
    shipOn: { $gte: filter.fromOn, $lte: filter.toOn },
    status: { $ne: 'cancelled' },
    ...(filter.sku ? { 'lines.sku': filter.sku } : {}),
    ...(filter.planId ? { planId: filter.planId } : {}),
  };
}

export type AffectedBox = Pick<BoxOrder, '_id' | 'subscriptionId' | 'customerId' | 'planId' | 'shipOn' | 'status' | 'currency'>;
const AFFECTED_BOX = { subscriptionId: 1, customerId: 1, planId: 1, shipOn: 1, status: 1, currency: 1 } as const;

/** One page of the affected boxes, by ship date then id; `after` is the last box of the page before. */
export async function affectedBoxesPage(
  merchantId: string,
  filter: AffectedBoxFilter,
  page: { limit: number; after?: { shipOn: string; id: string } | undefined },
): Promise<{ boxes: AffectedBox[]; hasMore: boolean }> {
  const after = page.after ? { $or: [{ shipOn: { $gt: page.after.shipOn } }, { shipOn: page.after.shipOn, _id: { $gt: page.after.id } }] } : {};
  const boxes = await BoxOrderModel.find({ ...affectedQuery(merchantId, filter), ...after }, AFFECTED_BOX)
    .sort({ shipOn: 1, _id: 1 })
    .limit(page.limit + 1)
    .lean();
  return { boxes: boxes.slice(0, page.limit), hasMore: boxes.length > page.limit };
}

/**
 * The subscriptions whose boxes are affected, each once with its affected boxes (by ship date) and the
 * currency of the latest of them; at most `limit` + 1 subscriptions are read (more means: narrow it).
 */
export async function affectedSubscriptions(
  merchantId: string,
  filter: AffectedBoxFilter,
  limit: number,
): Promise<{ boxCount: number; subscriptions: Array<{ subscriptionId: string; customerId: string; currency: string; orderIds: string[] }> }> {
  const boxes = await BoxOrderModel.find(affectedQuery(merchantId, filter), AFFECTED_BOX).sort({ shipOn: 1, _id: 1 }).lean();
  const bySubscription = new Map<string, { subscriptionId: string; customerId: string; currency: string; orderIds: string[] }>();
  for (const box of boxes) {
    const row = bySubscription.get(box.subscriptionId);
    if (row) {
      row.orderIds.push(box._id);
      row.currency = box.currency;
    } else if (bySubscription.size <= limit) {
      bySubscription.set(box.subscriptionId, { subscriptionId: box.subscriptionId, customerId: box.customerId, currency: box.currency, orderIds: [box._id] });
    }
  }
  return { boxCount: boxes.length, subscriptions: [...bySubscription.values()].sort((a, b) => (a.subscriptionId < b.subscriptionId ? -1 : 1)) };
}

/** Orders still in front of the warehouse or the payment: built, held in dunning, paid, packed. */
export const OPEN_ORDER_STATUSES = ['reserved', 'held', 'paid', 'packed'] as const satisfies readonly OrderStatus[];

/**
 * How many orders of every store are in a status (operations metrics, read at scrape time; the one read here
 * that spans stores). Served by the `{ status, lines.stock }` index: a count of index keys, no document read.
 */
export function countOrdersInStatus(status: OrderStatus): Promise<number> {
  return BoxOrderModel.countDocuments({ status });
}

/** All orders ever stored, from the collection's metadata (no scan). */
export function estimatedOrderCount(): Promise<number> {
  return BoxOrderModel.estimatedDocumentCount();
}
