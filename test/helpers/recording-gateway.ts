import type { StripeGateway, StripeSubscriptionUpdate } from '../../src/stripe/stripe-gateway';

/** A gateway that records what our code asked Stripe to do (stripe-mock validates each request but keeps nothing). */
export function recordingGateway(base: StripeGateway) {
  const updates: Array<{ input: StripeSubscriptionUpdate; key: string }> = [];
  const cancels: string[] = [];
  const invoiceItems: Array<{ input: Parameters<StripeGateway['createInvoiceItem']>[0]; key: string; id: string }> = [];
  const deletedInvoiceItems: Array<{ id: string; key: string }> = [];
  const gateway: StripeGateway = {
    ...base,
    updateSubscription: async (id, input, key) => {
      updates.push({ input, key });
      await base.updateSubscription(id, input, key);
    },
    cancelSubscription: async (id, key) => {
      cancels.push(key);
      await base.cancelSubscription(id, key);
    },
    createInvoiceItem: async (input, key) => {
      const created = await base.createInvoiceItem(input, key);
      invoiceItems.push({ input, key, id: created.id });
      return created;
    },
    deleteInvoiceItem: async (id, key) => {
      deletedInvoiceItems.push({ id, key });
      await base.deleteInvoiceItem(id, key);
    },
  };
  return { gateway, updates, cancels, invoiceItems, deletedInvoiceItems };
}
