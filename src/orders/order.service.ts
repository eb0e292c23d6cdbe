import { z } from 'zod';
import { CustomerModel } from '../customers/customer.model';
import { isDuplicateKeyError } from '../shared/db';
import { InvalidStateError, NotFoundError } from '../shared/errors';
import type { Clock } from '../shared/time';
import { newId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import { SubscriptionModel } from '../subscriptions/subscription.model';
import { boxContentsFor, cycleOfPeriodStart, recordSubscriptionEvent, type SubscriptionSyncDeps } from '../subscriptions/subscription.service';
import { BoxOrderModel, type BoxOrder, type OrderStatus } from './box-order.model';
import type { OrderView } from './order.schemas';

/** The invoice fields the handler reads (API 2025+: the subscription is under parent.subscription_details). */
export const PaidInvoiceFields = z.object({
  id: z.string(),
  amount_paid: z.number().int(),
  currency: z.string(),
  parent: z
    .object({ subscription_details: z.object({ subscription: z.union([z.string(), z.object({ id: z.string() })]) }).nullable().optional() })
    .nullable()
    .optional(),
  lines: z.object({ data: z.array(z.object({ period: z.object({ start: z.number().int(), end: z.number().int() }) })).min(1) }),
  status_transitions: z.object({ paid_at: z.number().int().nullable().optional() }).optional(),
});

export function toOrderView(order: BoxOrder): OrderView {
  return {
    id: order._id,
    object: 'order',
    subscriptionId: order.subscriptionId,
    customerId: order.customerId,
    cycleKey: order.cycleKey,
    status: order.status,
    lines: order.lines.map((line) => ({ ...line, sku: line.sku ?? null })),
    amountPaid: { amountMinor: order.amountPaidMinor, currency: order.currency },
    stripeInvoiceId: order.stripeInvoiceId,
    shippingAddress: order.shippingAddress,
    paidAt: iso(order.paidAt),
    shipment: order.shipment
      ? { carrier: order.shipment.carrier, trackingNumber: order.shipment.trackingNumber, trackingUrl: order.shipment.trackingUrl ?? null, shippedAt: iso(order.shipment.shippedAt) }
      : null,
    cancellationReason: order.cancellationReason ?? null,
    history: order.history.map((entry) => ({ status: entry.status, at: iso(entry.at) })),
    createdAt: iso(order.createdAt),
  };
}

/**
 * `invoice.paid`: exactly one box order for the subscription's cycle, whatever the number of deliveries or
 * workers. The order is inserted with `$setOnInsert` on (subscription, cycle); the unique index on the
 * invoice is the second guard. A trial or a dunning recovery ends: the subscription becomes active.
 * Returns the merchant, or undefined for an invoice that is not one of our subscriptions'.
 */
export async function recordPaidInvoice(deps: SubscriptionSyncDeps, invoice: z.infer<typeof PaidInvoiceFields>): Promise<string | undefined> {
  const ref = invoice.parent?.subscription_details?.subscription;
  const stripeSubscriptionId = typeof ref === 'string' ? ref : ref?.id;
  if (!stripeSubscriptionId) return undefined;
  const subscription = await SubscriptionModel.findOne({ 'stripe.subscriptionId': stripeSubscriptionId }).lean();
  if (!subscription) return undefined;
  const { merchantId } = subscription;
  const cycle = cycleOfPeriodStart(subscription, new Date(invoice.lines.data[0]!.period.start * 1000));
  const customer = await CustomerModel.findOne({ _id: subscription.customerId, merchantId }).lean();
  if (!customer) throw new Error(`customer ${subscription.customerId} of subscription ${subscription._id} is missing`);
  const contents = await boxContentsFor(subscription, cycle);
  const now = deps.clock.now();
  const paidAt = invoice.status_transitions?.paid_at ? new Date(invoice.status_transitions.paid_at * 1000) : now;
  try {
    const result = await BoxOrderModel.updateOne(
      { subscriptionId: subscription._id, cycleKey: cycle.cycleKey },
      {
        $setOnInsert: {
          _id: newId('ord'),
          merchantId,
          customerId: subscription.customerId,
          status: 'paid' as OrderStatus,
          lines: contents.lines.map((line) => ({ ...line, amountMinor: line.unitAmountMinor * line.quantity })),
          amountPaidMinor: invoice.amount_paid,
          currency: invoice.currency.toUpperCase(),
          stripeInvoiceId: invoice.id,
          shippingAddress: customer.shippingAddress,
          paidAt,
          history: [{ status: 'paid' as OrderStatus, at: now }],
          createdAt: now,
        },
      },
      { upsert: true },
    );
    if (result.upsertedCount === 0) return merchantId; // this cycle's order exists: a repeated event
  } catch (error) {
    if (isDuplicateKeyError(error)) return merchantId; // a concurrent delivery made it first
    throw error;
  }
  // The paid box is a fact of its own revision; a trial or a dunning recovery ends with it.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const current = await SubscriptionModel.findById(subscription._id).lean();
    if (!current) break;
    const becomesActive = ['trialing', 'past_due', 'incomplete'].includes(current.status);
    const updated = await SubscriptionModel.findOneAndUpdate(
      { _id: current._id, revision: current.revision },
      {
        $set: { updatedAt: now, ...(becomesActive ? { status: 'active', stripeSyncDueAt: now } : {}) },
        // Paid: any dunning for this subscription is over.
        $unset: { dunning: 1 },
        $inc: { revision: 1 },
      },
      { returnDocument: 'after', lean: true },
    );
    if (!updated) continue; // changed meanwhile: read again
    await recordSubscriptionEvent(deps, updated, 'subscription.box_paid', {
      cycleKey: cycle.cycleKey,
      stripeInvoiceId: invoice.id,
      amountPaidMinor: invoice.amount_paid,
      ...(becomesActive ? { from: current.status } : {}),
    });
    break;
  }
  return merchantId;
}

export async function getOrder(merchantId: string, orderId: string): Promise<OrderView> {
  const order = await BoxOrderModel.findOne({ _id: orderId, merchantId }).lean();
  if (!order) throw new NotFoundError('No order with this id.');
  return toOrderView(order);
}

export async function listOrders(
  merchantId: string,
  query: { limit: number; startingAfter?: string | undefined; status?: OrderStatus | undefined; subscriptionId?: string | undefined },
) {
  const filter = {
    merchantId,
    ...(query.status ? { status: query.status } : {}),
    ...(query.subscriptionId ? { subscriptionId: query.subscriptionId } : {}),
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
  if (updated) return toOrderView(updated);
  const current = await BoxOrderModel.findOne({ _id: orderId, merchantId }, { status: 1 }).lean();
  if (!current) throw new NotFoundError('No order with this id.');
  throw new InvalidStateError(`A ${current.status} order cannot be marked ${to}.`);
}
