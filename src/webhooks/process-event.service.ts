import { z } from 'zod';
import { recordCustomerCard } from '../customers/customer.service';
import { actors } from '../events/fact-types';
import { addToLogContext } from '../shared/log-context';
import { holdBoxForFailedInvoice, recordCreditNote, recordPaidInvoice, recordRefund, releaseBoxOfClosedInvoice } from '../orders/order.service';
import {
  CheckoutSessionFields,
  ClosedInvoiceFields,
  CreditNoteFields,
  FailedInvoiceFields,
  PaidInvoiceFields,
  RefundedChargeFields,
  StripeSubscriptionFields,
} from '../stripe/invoice-fields';
import { activateFromCheckout, applyStripeSubscriptionEvent, recordPaymentFailure, type SubscriptionSyncDeps } from '../subscriptions/subscription.service';
import { claimEvent, completeEvent, dueEventIds, failEvent } from './webhook-inbox.service';
import type { WebhookEvent } from './webhook-event.model';

type Handler = (deps: SubscriptionSyncDeps, event: WebhookEvent, object: unknown) => Promise<string | undefined>;

function parse<S extends z.ZodType>(schema: S, object: unknown, event: WebhookEvent): z.output<S> {
  const result = schema.safeParse(object);
  if (!result.success) throw new Error(`${event.type} ${event._id} lacks fields we need: ${result.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  return result.data;
}

/** `payment_method.*`: the Stripe customer it belongs to and, for a card, what we keep of it (never the number). */
const PaymentMethodFields = z.object({
  id: z.string(),
  customer: z
    .union([z.string(), z.object({ id: z.string() })])
    .nullable()
    .optional(),
  card: z
    .object({
      brand: z.string().max(40),
      last4: z.string().regex(/^\d{4}$/),
      exp_month: z.number().int().min(1).max(12),
      exp_year: z.number().int().min(2000).max(2200),
    })
    .nullable()
    .optional(),
});

/**
 * A card Stripe tells us about: the shopper's card is recorded (attached: it becomes their card; updated, or
 * replaced by the card network: the one we keep changes). Not a card, or no customer: nothing to keep.
 */
async function recordCardOfEvent(event: WebhookEvent, object: unknown, replaces: boolean): Promise<string | undefined> {
  const method = parse(PaymentMethodFields, object, event);
  const customer = typeof method.customer === 'string' ? method.customer : method.customer?.id;
  if (!customer || !method.card) return undefined;
  const recorded = await recordCustomerCard(
    { stripeCustomerId: customer },
    {
      stripePaymentMethodId: method.id,
      brand: method.card.brand,
      last4: method.card.last4,
      expMonth: method.card.exp_month,
      expYear: method.card.exp_year,
      seenAt: event.stripeCreatedAt,
    },
    { replaces },
  );
  return recorded?.merchantId;
}

/**
 * What each Stripe event type does: it tells the domain that owns the object (a box's invoice: orders; a
 * subscription's status or payment: subscriptions). What follows (points, the referral reward, messages)
 * follows the facts those record (src/listeners.ts). Types not listed are recorded and acknowledged.
 */
export const HANDLERS: Record<string, Handler> = {
  'invoice.paid': (deps, event, object) => recordPaidInvoice(deps, parse(PaidInvoiceFields, object, event)),
  'invoice.payment_failed': async (deps, event, object) => {
    // The subscription enters dunning first, then its box waits: the box is released only when that dunning ends.
    const invoice = parse(FailedInvoiceFields, object, event);
    const merchantId = await recordPaymentFailure(deps, event.stripeCreatedAt, invoice);
    if (merchantId) await holdBoxForFailedInvoice(deps, invoice);
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
  'payment_method.attached': (_deps, event, object) => recordCardOfEvent(event, object, true),
  'payment_method.updated': (_deps, event, object) => recordCardOfEvent(event, object, false),
  'payment_method.automatically_updated': (_deps, event, object) => recordCardOfEvent(event, object, false),
};

/**
 * Processes one inbox event: claim it (one worker only), run its handler, record the outcome. A failure
 * is retried with backoff by the sweep. Handlers are idempotent, so a retry after a crash changes nothing twice.
 * The facts a handler records name the Stripe event as who made them true.
 */
export async function processWebhookEvent(deps: SubscriptionSyncDeps, eventId: string): Promise<void> {
  const event = await claimEvent(deps.clock, eventId);
  if (!event) return; // done already, claimed by another worker, or waiting for its backoff
  await processClaimedEvent(deps, event);
}

/**
 * Runs the handler of an event this worker has claimed (one by one, or in a batch) and records the outcome:
 * `failed` when the handler threw (the event backs off and is retried, and after the last attempt stays failed
 * for a person). The store the event turned out to concern joins the log context of what follows.
 */
export async function processClaimedEvent(deps: SubscriptionSyncDeps, event: WebhookEvent): Promise<'succeeded' | 'failed'> {
  try {
    const handler = HANDLERS[event.type];
    const object = (event.payload as { data?: { object?: unknown } }).data?.object;
    const merchantId = handler ? await handler({ ...deps, actor: actors.stripe(event._id) }, event, object) : undefined;
    if (merchantId) addToLogContext({ merchantId });
    await completeEvent(deps.clock, event, merchantId);
    return 'succeeded';
  } catch (error) {
    deps.logger.warn({ err: error, eventId: event._id, type: event.type, attempts: event.attempts }, 'webhook event failed; will retry');
    await failEvent(deps.clock, event, error);
    return 'failed';
  }
}

/** The sweep: processes failed events whose backoff passed, lost pending ones and stuck ones. */
export async function processDueWebhookEvents(deps: SubscriptionSyncDeps): Promise<number> {
  const ids = await dueEventIds(deps.clock);
  for (const id of ids) await processWebhookEvent(deps, id);
  return ids.length;
}
