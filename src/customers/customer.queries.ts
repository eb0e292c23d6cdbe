import { CustomerModel, type Customer } from './customer.model';

/** What other domains may read of a shopper: narrow, merchant-scoped reads. Nothing here writes. */

export async function customerExists(merchantId: string, customerId: string): Promise<boolean> {
  return (await CustomerModel.exists({ _id: customerId, merchantId })) !== null;
}

/** The shopper, as stored (their e-mail, name and shipping address). */
export async function findCustomer(merchantId: string, customerId: string): Promise<Customer | undefined> {
  return (await CustomerModel.findOne({ _id: customerId, merchantId }).lean()) ?? undefined;
}

/** The name a message addresses the shopper by, if the shopper exists. */
export async function customerName(merchantId: string, customerId: string): Promise<string | undefined> {
  return (await CustomerModel.findOne({ _id: customerId, merchantId }, { name: 1 }).lean())?.name;
}

/** Of these shoppers, those who gave a birthday, with it (`MM-DD` or `YYYY-MM-DD`). */
export async function birthdaysOf(merchantId: string, customerIds: string[]): Promise<Array<{ customerId: string; birthday: string }>> {
  const customers = await CustomerModel.find({ merchantId, _id: { $in: customerIds }, birthday: { $exists: true } }, { birthday: 1 }).lean();
  return customers.flatMap((customer) => (customer.birthday ? [{ customerId: customer._id, birthday: customer.birthday }] : []));
}

/** The merchant's customer with this e-mail address, if any (addresses are stored lower case). */
export async function findCustomerByEmail(merchantId: string, email: string): Promise<Customer | undefined> {
  return (await CustomerModel.findOne({ merchantId, email: email.toLowerCase() }).lean()) ?? undefined;
}

/** Whether the shopper agreed to marketing (undefined: no such shopper of this merchant). Messages ask before any marketing mail. */
export async function marketingConsentOf(merchantId: string, customerId: string): Promise<boolean | undefined> {
  return (await CustomerModel.findOne({ _id: customerId, merchantId }, { marketingConsent: 1 }).lean())?.marketingConsent.granted;
}

/**
 * The merchant's shoppers whose card expires in this month (`year`, `month` 1–12) and who are among
 * `customerIds` (those it matters for), with what a message about it needs.
 */
export async function customersWithCardExpiring(
  merchantId: string,
  year: number,
  month: number,
  customerIds: readonly string[],
): Promise<Array<Pick<Customer, '_id' | 'card'>>> {
  if (customerIds.length === 0) return [];
  return CustomerModel.find({ merchantId, 'card.expYear': year, 'card.expMonth': month, _id: { $in: [...customerIds] } }, { card: 1 })
    .sort({ _id: 1 })
    .lean();
}

/** What the shopper's payment page shows: the card on file (never the number), and whether Stripe knows them yet. */
export async function paymentDetailsOf(
  merchantId: string,
  customerId: string,
): Promise<
  | { card: { brand: string; last4: string; expMonth: number; expYear: number; stripePaymentMethodId: string } | null; stripeCustomerId: string | null }
  | undefined
> {
  const customer = await CustomerModel.findOne({ _id: customerId, merchantId }, { card: 1, stripeCustomerId: 1 }).lean();
  if (!customer) return undefined;
  const card = customer.card;
  return {
    card: card
      ? { brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear, stripePaymentMethodId: card.stripePaymentMethodId }
      : null,
    stripeCustomerId: customer.stripeCustomerId ?? null,
  };
}
