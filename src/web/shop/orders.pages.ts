import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { actors } from '../../events/fact-types';
import { getOrder, listOrders, rateBox } from '../../orders/order.service';
import type { OrderView } from '../../orders/order.schemas';
import { AppError, NotFoundError } from '../../shared/errors';
import type { SubscriptionDeps } from '../../subscriptions/subscription.service';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { PageCursor, subscriptionHeader } from './history-view';
import { portalPlace, shopperSubscription, type PortalPlace } from './portal-access';
import { dateIn } from './portal-format';
import { localeOf, longDate, money } from './shop-view';

/**
 * `/shop/<handle>/subscriptions/<id>/orders`: the subscription's boxes, newest first — what each is doing, when
 * it was paid, shipped and delivered (in the store's zone), its tracking, what it contained (a surprise gift
 * only once the box is on its way), what it cost — and a delivered box's rating: 1 to 5 and a comment, stored
 * on the order as the shopper (`box.rated`), shown back, and shown to the merchant.
 */
export interface OrdersPageDeps {
  subscriptions: SubscriptionDeps;
}

const PAGE_SIZE = 10;

const STATUS_WORDS: Record<OrderView['status'], string> = {
  reserved: 'Being prepared',
  held: 'Waiting for payment',
  paid: 'Paid, being packed',
  packed: 'Packed',
  shipped: 'On its way',
  delivered: 'Delivered',
  cancelled: 'Cancelled',
  refunded: 'Refunded',
};

const OrderId = z.string().regex(/^ord_[0-9a-z]{20}$/);
const OrdersQuery = z.object({ before: PageCursor.optional(), rated: OrderId.optional() });

const RateForm = z.strictObject({
  score: z
    .string({ error: 'Choose from 1 to 5 stars' })
    .regex(/^[1-5]$/, { error: 'Choose from 1 to 5 stars' })
    .transform(Number),
  comment: z
    .string()
    .trim()
    .max(1000, { error: 'Keep it under 1000 characters' })
    .optional()
    .transform((value) => (value ? value : undefined)),
});

/** A problem with one order's rating, shown beside its form. */
interface RatingProblem {
  orderId: string;
  errors: FieldErrors;
  values: { score?: string; comment?: string };
}

export function ordersPages(deps: OrdersPageDeps): Router {
  const router = Router();
  const clock = deps.subscriptions.clock;
  const pathOf = (place: PortalPlace, id: string) => `/shop/${place.store.handle}/subscriptions/${id}/orders`;

  async function showOrders(req: Request, res: Response, place: PortalPlace, view: SubscriptionView, status = 200, problem?: RatingProblem) {
    const locale = localeOf(req);
    const tz = place.store.timezone;
    const query = OrdersQuery.safeParse(req.query);
    const before = query.success ? query.data.before : undefined;
    const page = await listOrders(place.store._id, { limit: PAGE_SIZE, subscriptionId: view.id, ...(before ? { startingAfter: before } : {}) });
    const rated = query.success ? query.data.rated : undefined;
    res.status(status).render('shop/orders', {
      title: `Orders · ${view.box.planName}`,
      ...subscriptionHeader(place, view, 'orders'),
      action: pathOf(place, view.id),
      orders: page.data.map((order) => orderCard(order, locale, tz, rated === order.id, problem?.orderId === order.id ? problem : undefined)),
      older: page.hasMore && page.nextCursor ? `${pathOf(place, view.id)}?before=${encodeURIComponent(page.nextCursor)}` : null,
      newest: before ? pathOf(place, view.id) : null,
      formProblem: problem && !page.data.some((order) => order.id === problem.orderId) ? Object.values(problem.errors)[0] : null,
    });
  }

  router.get('/shop/:handle/subscriptions/:id/orders', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    await showOrders(req, res, place, await shopperSubscription(deps.subscriptions, place, req.params.id));
  });

  router.post('/shop/:handle/subscriptions/:id/orders/:orderId/rate', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    const view = await shopperSubscription(deps.subscriptions, place, req.params.id);
    // The order must be one of this subscription's (so the shopper's): anything else is not found.
    const orderId = OrderId.safeParse(req.params.orderId);
    const order = orderId.success ? await getOrder(place.store._id, orderId.data).catch(() => undefined) : undefined;
    if (!order || order.subscriptionId !== view.id) throw new NotFoundError('There is no such order.');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = { score: typeof body.score === 'string' ? body.score : undefined, comment: typeof body.comment === 'string' ? body.comment : undefined };
    const form = readForm(RateForm, req.body);
    if (!form.ok) return showOrders(req, res, place, view, 400, { orderId: order.id, errors: form.errors, values });
    try {
      await rateBox({ clock, actor: actors.shopper(place.shopper.customerId) }, place.store._id, order.id, form.value);
    } catch (error) {
      const fields = errorsOf(error);
      if (fields) return showOrders(req, res, place, view, 400, { orderId: order.id, errors: fields, values });
      if (error instanceof AppError && error.status < 500) {
        return showOrders(req, res, place, view, error.status, { orderId: order.id, errors: { _form: error.message }, values });
      }
      throw error;
    }
    res.redirect(303, `${pathOf(place, view.id)}?rated=${order.id}#order-${order.id}`);
  });

  return router;
}

/** One order as the page shows it: plain values, written for the shopper. */
function orderCard(order: OrderView, locale: string, tz: string, justRated: boolean, problem: RatingProblem | undefined) {
  const currency = order.amountDue.currency;
  const onItsWay = order.history.some((entry) => entry.status === 'shipped');
  const deliveredAt = [...order.history].reverse().find((entry) => entry.status === 'delivered')?.at ?? null;
  const boxDate = longDate(order.shipOn, locale);
  const trackingUrl = order.shipment?.trackingUrl && /^https?:\/\//.test(order.shipment.trackingUrl) ? order.shipment.trackingUrl : null;
  return {
    id: order.id,
    date: boxDate,
    status: order.status,
    statusLabel: STATUS_WORDS[order.status],
    paid: order.paidAt ? dateIn(order.paidAt, tz, locale) : null,
    shipped: order.shipment ? dateIn(order.shipment.shippedAt, tz, locale) : null,
    delivered: deliveredAt ? dateIn(deliveredAt, tz, locale) : null,
    tracking: order.shipment ? { carrier: order.shipment.carrier, number: order.shipment.trackingNumber, url: trackingUrl } : null,
    // A surprise stays one until the box is on its way.
    lines: order.lines
      .filter((line) => line.kind !== 'gift' || onItsWay)
      .map((line) => ({
        description: line.description,
        quantity: line.quantity,
        amount: line.amountMinor === 0 && line.kind !== 'plan' ? 'Free' : money(line.amountMinor, currency, locale),
        note: line.substitutedFor ? `instead of ${line.substitutedFor.description}` : line.kind === 'gift' ? 'a surprise gift' : null,
      })),
    leftOut: order.omittedLines.map((line) => `${line.description} × ${line.quantity}`),
    total: money(order.amountDue.amountMinor, currency, locale),
    amountPaid: order.amountPaid.amountMinor > 0 ? money(order.amountPaid.amountMinor, currency, locale) : null,
    refunded: order.amountRefunded.amountMinor > 0 ? money(order.amountRefunded.amountMinor, currency, locale) : null,
    cancellation: order.status === 'cancelled' ? cancellationWords(order.cancellationReason) : null,
    canRate: order.status === 'delivered',
    rating: order.rating ? { score: order.rating.score, comment: order.rating.comment } : null,
    justRated: justRated && order.rating ? `Thank you for rating your box of ${boxDate}.` : null,
    problem: problem ?? null,
  };
}

function cancellationWords(reason: string | null): string {
  switch (reason) {
    case 'out_of_stock':
      return 'It was out of stock, so it was not sent and not charged.';
    case 'subscription_cancelled':
      return 'The subscription ended before it was sent.';
    case 'cycle_not_charged':
      return 'Its date was skipped or paused, so it was not sent and not charged.';
    case 'declined_by_shopper':
      return 'You declined it as it was, so it was not sent and not charged.';
    case 'payment_failed':
      return 'Its payment could not be taken, so it was not sent.';
    default:
      return 'It was not sent.';
  }
}
