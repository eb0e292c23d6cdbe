import { z } from 'zod';

/**
 * The fields of Stripe invoices and subscriptions our handlers read (API 2025+: an invoice names its
 * subscription under `parent.subscription_details`), checked with Zod before use.
 */

const SubscriptionRef = z.union([z.string(), z.object({ id: z.string() })]);

export const InvoiceParent = z
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

/** The Stripe subscription an invoice bills, if any. */
export function stripeSubscriptionIdOf(invoice: { parent?: z.infer<typeof InvoiceParent> }): string | undefined {
  const ref = invoice.parent?.subscription_details?.subscription;
  return typeof ref === 'string' ? ref : ref?.id;
}

/** `invoice.paid`. */
export const PaidInvoiceFields = z.object({
  id: z.string(),
  amount_paid: z.number().int(),
  currency: z.string(),
  parent: InvoiceParent,
  lines: InvoiceLines,
  status_transitions: z.object({ paid_at: z.number().int().nullable().optional() }).optional(),
});
export type PaidInvoiceFields = z.infer<typeof PaidInvoiceFields>;

/** `invoice.payment_failed`. */
export const FailedInvoiceFields = z.object({
  id: z.string(),
  attempt_count: z.number().int(),
  hosted_invoice_url: z.string().nullable().optional(),
  lines: InvoiceLines.optional(),
  parent: InvoiceParent,
});
export type FailedInvoiceFields = z.infer<typeof FailedInvoiceFields>;

/** `invoice.voided`, `invoice.marked_uncollectible`. */
export const ClosedInvoiceFields = z.object({ id: z.string() });

/** `checkout.session.completed`. */
export const CheckoutSessionFields = z.object({
  id: z.string(),
  mode: z.string(),
  client_reference_id: z.string().nullable().optional(),
  subscription: z
    .union([z.string(), z.object({ id: z.string() })])
    .nullable()
    .optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});

/** `customer.subscription.*`. */
export const StripeSubscriptionFields = z.object({
  id: z.string(),
  status: z.string(),
  canceled_at: z.number().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});

/** `charge.refunded`: the invoice is found from the payment intent (API 2025+). */
export const RefundedChargeFields = z.object({
  id: z.string(),
  amount_refunded: z.number().int(),
  refunded: z.boolean(),
  payment_intent: z
    .union([z.string(), z.object({ id: z.string() })])
    .nullable()
    .optional(),
});

/** `credit_note.*`. */
export const CreditNoteFields = z.object({
  id: z.string(),
  invoice: z.union([z.string(), z.object({ id: z.string() })]),
  total: z.number().int(),
  status: z.enum(['issued', 'void']),
  refunds: z.array(z.object({ amount_refunded: z.number().int() })).optional(),
  created: z.number().int(),
});
