import { CustomerModel, type Customer } from './customer.model';

/** What other domains may read of a shopper: narrow, merchant-scoped reads. Nothing here writes. */

export async function customerExists(merchantId: string, customerId: string): Promise<boolean> {
  return (await CustomerModel.exists({ _id: customerId, merchantId })) !== null;
}

/** The shopper, as stored (their e-mail, name and shipping address). */
export async function findCustomer(merchantId: string, customerId: string): Promise<Customer | undefined> {
  return (await CustomerModel.findOne({ _id: customerId, merchantId }).lean()) ?? undefined;
}

/** These shoppers of the merchant, by id (one query for a batch of boxes; absent ones are missing). */
export async function shoppersByIds(merchantId: string, customerIds: readonly string[]): Promise<Map<string, Customer>> {
  const customers = await CustomerModel.find({ _id: { $in: [...customerIds] }, merchantId }).lean();
  return new Map(customers.map((customer) => [customer._id, customer]));
}

/** The name a message addresses the shopper by, if the shopper exists. */
export async function customerName(merchantId: string, customerId: string): Promise<string | undefined> {
  return (await CustomerModel.findOne({ _id: customerId, merchantId }, { name: 1 }).lean())?.name;
}

/** The `MM-DD` of a birthday given as `MM-DD` or `YYYY-MM-DD` (what `birthdayMonthDay` stores). */
export function birthdayMonthDayOf(birthday: string): string {
  return birthday.slice(-5);
}

/**
 * The merchant's shoppers whose birthday (month and day) is one of `monthDays`, with it, a page of at most
 * `pageSize` at a time in id order: the birthday rewards read these instead of every shopper of the store.
 * Index: `{ merchantId, birthdayMonthDay, _id }`. Customers saved before `birthdayMonthDay` existed are found
 * once `npm run customers:backfill-birthdays` has run.
 */
export async function* customersWithBirthdayOn(
  merchantId: string,
  monthDays: readonly string[],
  pageSize = 500,
): AsyncGenerator<Array<{ customerId: string; birthday: string }>> {
  if (monthDays.length === 0) return;
  let after = '';
  for (;;) {
    const page = await CustomerModel.find({ merchantId, birthdayMonthDay: { $in: [...monthDays] }, _id: { $gt: after } }, { birthday: 1 })
      .sort({ _id: 1 })
      .limit(pageSize)
      .lean();
    const found = page.flatMap((customer) => (customer.birthday ? [{ customerId: customer._id, birthday: customer.birthday }] : []));
    if (found.length > 0) yield found;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!._id;
  }
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
 * The merchant's shoppers whose card expires in this month (`year`, `month` 1–12), with what a message about
 * it needs. Index: `{ merchantId, card.expYear, card.expMonth }`.
 */
export async function customersWithCardExpiring(merchantId: string, year: number, month: number): Promise<Array<Pick<Customer, '_id' | 'card'>>> {
  const customers = await CustomerModel.find({ merchantId, 'card.expYear': year, 'card.expMonth': month }, { card: 1 }).lean();
  return customers.sort((a, b) => a._id.localeCompare(b._id));
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

/** A name's words as the search finds them: lower case, accents taken off, split on anything not a letter or digit. */
export function nameWordsOf(name: string): string[] {
  const words = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
  return [...new Set(words)].slice(0, 20);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface CustomerMatch {
  _id: string;
  name: string;
  email: string;
}

/**
 * The merchant's shoppers whose e-mail starts with the text, or whose name has words starting with each of
 * its words ("ana mu" finds "Ana Müller"), at most `limit`. Both are prefix look-ups in an index
 * (`{ merchantId, email }`, `{ merchantId, nameWords }`), never a scan: a name is found for shoppers whose
 * name was saved since `nameWords` exists; every shopper is found by e-mail.
 */
export async function searchCustomers(merchantId: string, text: string, limit: number): Promise<CustomerMatch[]> {
  const typed = text.trim().toLowerCase();
  if (!typed) return [];
  const words = nameWordsOf(typed);
  const byEmail = { merchantId, email: { $regex: `^${escapeRegex(typed)}` } };
  const byName =
    words.length > 0 && !typed.includes('@') ? { merchantId, nameWords: { $all: words.map((word) => new RegExp(`^${escapeRegex(word)}`)) } } : undefined;
  return CustomerModel.find(byName ? { $or: [byEmail, byName] } : byEmail, { name: 1, email: 1 })
    .limit(limit)
    .lean();
}

/** These shoppers' names and e-mails (the merchant's only). */
export async function customersByIds(merchantId: string, customerIds: readonly string[]): Promise<CustomerMatch[]> {
  if (customerIds.length === 0) return [];
  return CustomerModel.find({ merchantId, _id: { $in: [...new Set(customerIds)] } }, { name: 1, email: 1 }).lean();
}
