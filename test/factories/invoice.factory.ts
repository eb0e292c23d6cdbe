/** A paid Stripe invoice for a subscription's period, shaped as API 2026-08-26 sends it. */
export function buildPaidInvoice(
  stripeSubscriptionId: string,
  periodStart: Date,
  amountPaidMinor: number,
  id = `in_${Math.random().toString(36).slice(2, 14)}`,
) {
  const start = Math.floor(periodStart.getTime() / 1000);
  return {
    id,
    object: 'invoice',
    status: 'paid',
    amount_paid: amountPaidMinor,
    currency: 'usd',
    billing_reason: 'subscription_cycle',
    parent: { type: 'subscription_details', subscription_details: { subscription: stripeSubscriptionId } },
    lines: { object: 'list', data: [{ id: `il_${id}`, period: { start, end: start + 30 * 86_400 } }] },
    status_transitions: { paid_at: start + 5 },
  };
}
