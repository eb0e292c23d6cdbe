import type { z } from 'zod';
import {
  ClosedInvoiceFields,
  CreditNoteFields,
  FailedInvoiceOrderFields,
  holdBoxForFailedInvoice,
  PaidInvoiceFields,
  recordCreditNote,
  recordPaidInvoice,
  recordRefund,
  RefundedChargeFields,
  releaseBoxOfClosedInvoice,
} from '../orders/order.service';
import {
  activateFromCheckout,
  applyStripeSubscriptionEvent,
  CheckoutSessionFields,
  FailedInvoiceFields,
  recordPaymentFailure,
  StripeSubscriptionFields,
} from '../subscriptions/subscription-stripe-events.service';
import type { SubscriptionSyncDeps } from '../subscriptions/subscription.service';
import { claimEvent, completeEvent, dueEventIds, failEvent } from './webhook-inbox.service';
import type { WebhookEvent } from './webhook-event.model';
import { PAID_BOX_STATUSES } from '../loyalty/loyalty-standing.service';
import { earnPointsForPaidBox } from '../loyalty/loyalty.service';
import { BoxOrderModel } from '../orders/box-order.model';
import { rewardReferrerForPaidBox } from '../referrals/referral.service';

type Handler = (deps: SubscriptionSyncDeps, event: WebhookEvent, object: unknown) => Promise<string | undefined>;

function parse<S extends z.ZodType>(schema: S, object: unknown, event: WebhookEvent): z.output<S> {
  const result = schema.safeParse(object);
  if (!result.success) throw new Error(`${event.type} ${event._id} lacks fields we need: ${result.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  return result.data;
}

/**
 * What a paid box earns, after the payment is recorded: the shopper's points (once per invoice), and the
 * referrer's reward when this is the referred friend's first paid box (once per referral).
 */
async function rewardPaidBox(deps: SubscriptionSyncDeps, merchantId: string, stripeInvoiceId: string): Promise<void> {
  const order = await BoxOrderModel.findOne({ merchantId, stripeInvoiceId }).lean();
  if (!order || !(PAID_BOX_STATUSES as readonly string[]).includes(order.status)) return;
  await earnPointsForPaidBox(deps, order);
  await rewardReferrerForPaidBox(deps, { merchantId, friendSubscriptionId: order.subscriptionId });
}

/** What each Stripe event type does. Types not listed are recorded and acknowledged. */
export const HANDLERS: Record<string, Handler> = {
  'invoice.paid': async (deps, event, object) => {
    const invoice = parse(PaidInvoiceFields, object, event);
    const merchantId = await recordPaidInvoice(deps, invoice);
    if (merchantId) await rewardPaidBox(deps, merchantId, invoice.id);
    return merchantId;
  },
  'invoice.payment_failed': async (deps, event, object) => {
    // The subscription enters dunning first, then its box waits: the box is released only when that dunning ends.
    const merchantId = await recordPaymentFailure(deps, event.stripeCreatedAt, parse(FailedInvoiceFields, object, event));
    if (merchantId) await holdBoxForFailedInvoice(deps, parse(FailedInvoiceOrderFields, object, event));
    return merchantId;
  },
  'invoice.voided': (deps, event, object) => releaseBoxOfClosedInvoice(deps, parse(ClosedInvoiceFields, object, event), 'invoice_voided'),
  'invoice.marked_uncollectible': (deps, event, object) => releaseBoxOfClosedInvoice(deps, parse(ClosedInvoiceFields, object, event), 'invoice_uncollectible'),
  'charge.refunded': async (deps, event, object) => {
    const charge = parse(RefundedChargeFields, object, event);
    const paymentIntent = typeof charge.payment_intent === 'string' ? charge.payment_intent : charge.payment_intent?.id;
    // API 2025+: a charge no longer names its invoice; the invoice payment of its payment intent does (a throttled read).
    const invoiceId = paymentIntent ? await deps.stripe.findInvoiceOfPaymentIntent(paymentIntent) : undefined;
    return recordRefund(deps, invoiceId, charge);
  },
  'credit_note.created': (deps, event, object) => recordCreditNote(deps, parse(CreditNoteFields, object, event)),
  'credit_note.updated': (deps, event, object) => recordCreditNote(deps, parse(CreditNoteFields, object, event)),
  'credit_note.voided': (deps, event, object) => recordCreditNote(deps, parse(CreditNoteFields, object, event)),
  'checkout.session.completed': (deps, event, object) => activateFromCheckout(deps, parse(CheckoutSessionFields, object, event)),
  'customer.subscription.created': (deps, event, object) =>
    applyStripeSubscriptionEvent(deps, event.stripeCreatedAt, parse(StripeSubscriptionFields, object, event)),
  'customer.subscription.updated': (deps, event, object) =>
    applyStripeSubscriptionEvent(deps, event.stripeCreatedAt, parse(StripeSubscriptionFields, object, event)),
  'customer.subscription.deleted': (deps, event, object) =>
    applyStripeSubscriptionEvent(deps, event.stripeCreatedAt, parse(StripeSubscriptionFields, object, event)),
};

/**
 * Processes one inbox event: claim it (one worker only), run its handler, record the outcome. A failure
 * is retried with backoff by the sweep. Handlers are idempotent, so a retry after a crash changes nothing twice.
 */
export async function processWebhookEvent(deps: SubscriptionSyncDeps, eventId: string): Promise<void> {
  const event = await claimEvent(deps.clock, eventId);
  if (!event) return; // done already, claimed by another worker, or waiting for its backoff
  try {
    const handler = HANDLERS[event.type];
    const object = (event.payload as { data?: { object?: unknown } }).data?.object;
    const merchantId = handler ? await handler(deps, event, object) : undefined;
    await completeEvent(deps.clock, event, merchantId);
  } catch (error) {
    deps.logger.warn({ err: error, eventId, type: event.type, attempts: event.attempts }, 'webhook event failed; will retry');
    await failEvent(deps.clock, event, error);
  }
}

/** The sweep: processes failed events whose backoff passed, lost pending ones and stuck ones. */
export async function processDueWebhookEvents(deps: SubscriptionSyncDeps): Promise<number> {
  const ids = await dueEventIds(deps.clock);
  for (const id of ids) await processWebhookEvent(deps, id);
  return ids.length;
}
