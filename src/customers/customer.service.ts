import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type Stripe from 'stripe';
import { fact, recordFacts } from '../events/fact-source';
import { actors, type Actor } from '../events/fact-types';
import { findFact } from '../events/timeline.service';
import { isDuplicateKeyError } from '../shared/db';
import { ConflictError, InvalidStateError, NotFoundError } from '../shared/errors';
import { newId } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import type { StripeGateway } from '../stripe/stripe-gateway';
import { CustomerModel, type Customer, type CustomerCard, type PostalAddress } from './customer.model';
import { birthdayMonthDayOf, nameWordsOf } from './customer.queries';
import type { CreateCustomerBody, CustomerView, UpdateCustomerBody } from './customer.schemas';

export interface CustomerDeps {
  clock: Clock;
  stripe: StripeGateway;
  logger: Logger;
  /** Who is acting (recorded on the facts a change produces); the system when absent. */
  actor?: Actor | undefined;
}

export class CustomerEmailTakenError extends ConflictError {
  override readonly code = 'customer_email_taken';
  override readonly title = 'A customer with this e-mail already exists';
}

export function toCustomerView(customer: Customer): CustomerView {
  const { line2, region, ...address } = customer.shippingAddress;
  return {
    id: customer._id,
    object: 'customer',
    email: customer.email,
    name: customer.name,
    phone: customer.phone ?? null,
    shippingAddress: { ...address, ...(line2 ? { line2 } : {}), ...(region ? { region } : {}) },
    birthday: customer.birthday ?? null,
    locale: customer.locale ?? null,
    timezone: customer.timezone ?? null,
    card: customer.card ? { brand: customer.card.brand, last4: customer.card.last4, expMonth: customer.card.expMonth, expYear: customer.card.expYear } : null,
    marketingConsent: { granted: customer.marketingConsent.granted, changedAt: iso(customer.marketingConsent.changedAt) },
    stripeCustomerId: customer.stripeCustomerId ?? null,
    createdAt: iso(customer.createdAt),
    updatedAt: iso(customer.updatedAt),
  };
}

function stripeShipping(customer: Customer): Stripe.CustomerCreateParams.Shipping {
  const a: PostalAddress = customer.shippingAddress;
  return {
    name: customer.name,
    ...(customer.phone ? { phone: customer.phone } : {}),
    address: { line1: a.line1, line2: a.line2 ?? '', city: a.city, state: a.region ?? '', postal_code: a.postalCode, country: a.country },
  };
}

async function findCustomer(merchantId: string, customerId: string): Promise<Customer> {
  const customer = await CustomerModel.findOne({ _id: customerId, merchantId }).lean();
  if (!customer) throw new NotFoundError('No customer with this id.');
  return customer;
}

/**
 * Makes sure the customer exists in Stripe and matches our record; returns its Stripe id. Keyed writes
 * (`customer:<id>:create`, `customer:<id>:update:r<revision>`) make repeats and races harmless. Throws when
 * Stripe cannot be reached: callers that can go on without Stripe catch it.
 */
export async function ensureStripeCustomer(deps: CustomerDeps, customer: Customer): Promise<string> {
  if (!customer.stripeCustomerId) {
    const created = await deps.stripe.createCustomer(
      {
        email: customer.email,
        name: customer.name,
        shipping: stripeShipping(customer),
        metadata: { boxcycle_merchant_id: customer.merchantId, boxcycle_customer_id: customer._id },
      },
      `customer:${customer._id}:create`,
    );
    await CustomerModel.updateOne(
      { _id: customer._id, stripeCustomerId: { $exists: false } },
      { $set: { stripeCustomerId: created.id, stripeSyncedRevision: customer.revision } },
    );
    return (await CustomerModel.findById(customer._id, { stripeCustomerId: 1 }).lean())?.stripeCustomerId ?? created.id;
  }
  if (customer.stripeSyncedRevision !== customer.revision) {
    await deps.stripe.updateCustomer(
      customer.stripeCustomerId,
      { email: customer.email, name: customer.name, shipping: stripeShipping(customer) },
      `customer:${customer._id}:update:r${customer.revision}`,
    );
    await CustomerModel.updateOne({ _id: customer._id, revision: customer.revision }, { $set: { stripeSyncedRevision: customer.revision } });
  }
  return customer.stripeCustomerId;
}

async function tryEnsureStripeCustomer(deps: CustomerDeps, customerId: string): Promise<void> {
  const customer = await CustomerModel.findById(customerId).lean();
  if (!customer) return;
  try {
    await ensureStripeCustomer(deps, customer);
  } catch (error) {
    // Not fatal: the Stripe customer is ensured again before anything is charged.
    deps.logger.warn({ err: error, customerId }, 'Stripe customer not synced yet');
  }
}

export async function createCustomer(deps: CustomerDeps, merchantId: string, input: CreateCustomerBody): Promise<CustomerView> {
  const now = deps.clock.now();
  const customer: Customer = {
    _id: newId('cust'),
    merchantId,
    email: input.email,
    name: input.name,
    nameWords: nameWordsOf(input.name),
    ...(input.phone ? { phone: input.phone } : {}),
    shippingAddress: input.shippingAddress,
    ...(input.birthday ? { birthday: input.birthday, birthdayMonthDay: birthdayMonthDayOf(input.birthday) } : {}),
    ...(input.locale ? { locale: input.locale } : {}),
    ...(input.timezone ? { timezone: input.timezone } : {}),
    marketingConsent: { granted: input.marketingConsent, changedAt: now },
    revision: 0,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await CustomerModel.create(customer);
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new CustomerEmailTakenError('Find the existing customer by e-mail instead.');
    throw error;
  }
  await tryEnsureStripeCustomer(deps, customer._id);
  return toCustomerView(await findCustomer(merchantId, customer._id));
}

export async function getCustomer(merchantId: string, customerId: string): Promise<CustomerView> {
  return toCustomerView(await findCustomer(merchantId, customerId));
}

export async function listCustomers(merchantId: string, query: { limit: number; startingAfter?: string | undefined; email?: string | undefined }) {
  const filter = { merchantId, ...(query.email ? { email: query.email } : {}), ...afterCursor(decodeCursor(query.startingAfter)) };
  const customers = await CustomerModel.find(filter)
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(customers, query.limit, toCustomerView);
}

export async function updateCustomer(deps: CustomerDeps, merchantId: string, customerId: string, input: UpdateCustomerBody): Promise<CustomerView> {
  const customer = await findCustomer(merchantId, customerId);
  const now = deps.clock.now();
  const set: Record<string, unknown> = {};
  const unset: Record<string, 1> = {};
  if (input.email !== undefined) set.email = input.email;
  if (input.name !== undefined) {
    set.name = input.name;
    set.nameWords = nameWordsOf(input.name);
  }
  // The address is compared as stored (without empty optional lines), so sending it again changes nothing.
  const address = input.shippingAddress === undefined ? undefined : storedAddress(input.shippingAddress);
  const addressChanged = address !== undefined && !isDeepStrictEqual(address, storedAddress(customer.shippingAddress));
  if (addressChanged) set.shippingAddress = address;
  if (input.phone === null) unset.phone = 1;
  else if (input.phone !== undefined) set.phone = input.phone;
  // The month-day the birthday rewards look up goes with the birthday, in the same write.
  if (input.birthday === null) {
    unset.birthday = 1;
    unset.birthdayMonthDay = 1;
  } else if (input.birthday !== undefined) {
    set.birthday = input.birthday;
    set.birthdayMonthDay = birthdayMonthDayOf(input.birthday);
  }
  for (const field of ['locale', 'timezone'] as const) {
    if (input[field] === null) {
      if (customer[field] !== undefined) unset[field] = 1;
    } else if (input[field] !== undefined && input[field] !== customer[field]) set[field] = input[field];
  }
  if (input.marketingConsent !== undefined && input.marketingConsent !== customer.marketingConsent.granted) {
    set.marketingConsent = { granted: input.marketingConsent, changedAt: now };
  }
  if (Object.keys(set).length === 0 && Object.keys(unset).length === 0) return toCustomerView(customer);
  try {
    const update = { $set: { ...set, updatedAt: now }, $inc: { revision: 1 }, ...(Object.keys(unset).length ? { $unset: unset } : {}) };
    const result = await CustomerModel.updateOne(
      { _id: customerId, merchantId, revision: customer.revision },
      // A new address is a fact (its confirmation, with an undo, follows it), recorded in the same write.
      addressChanged
        ? recordFacts(
            update,
            fact('customer.address_changed', deps.actor ?? actors.system(), now, { from: storedAddress(customer.shippingAddress), to: address }),
          )
        : update,
    );
    if (result.matchedCount === 0) throw new ConflictError('The customer was changed by another request meanwhile. Read it again and retry.');
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new CustomerEmailTakenError('Another customer of yours has this e-mail.');
    throw error;
  }
  await tryEnsureStripeCustomer(deps, customerId);
  return toCustomerView(await findCustomer(merchantId, customerId));
}

/**
 * Puts back the address a `customer.address_changed` fact replaced (the undo its confirmation offers). Done
 * again, it changes nothing; if the address was changed once more since, it is refused (the newer change
 * stands). Putting it back is a change of its own, recorded as such.
 */
export async function undoAddressChange(deps: CustomerDeps, merchantId: string, customerId: string, factId: string): Promise<CustomerView> {
  const customer = await findCustomer(merchantId, customerId);
  const changed = await findFact(merchantId, factId);
  if (!changed || changed.type !== 'customer.address_changed' || changed.subjectId !== customerId) throw new NotFoundError('No such address change.');
  const { from, to } = changed.data as { from: PostalAddress; to: PostalAddress };
  const current = storedAddress(customer.shippingAddress);
  if (isDeepStrictEqual(current, storedAddress(from))) return toCustomerView(customer);
  if (!isDeepStrictEqual(current, storedAddress(to))) {
    throw new InvalidStateError('The address was changed again since: change it from your account instead.');
  }
  return updateCustomer(deps, merchantId, customerId, { shippingAddress: from });
}

/** An address as stored: optional lines only when they hold something. */
export function storedAddress(address: PostalAddress): PostalAddress {
  const { line2, region, ...rest } = address;
  return { ...rest, ...(line2 ? { line2 } : {}), ...(region ? { region } : {}) };
}

/** What Stripe says of a card: the fields we keep (never the number). */
export interface CardSeen {
  stripePaymentMethodId: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  /** When Stripe said so: the event's creation time, or when the payment method was read. */
  seenAt: Date;
}

/**
 * Records the card a shopper pays with, as Stripe tells us (a payment method attached, updated or replaced by
 * the card network, or the one a subscription was made with). `replaces`: whether it becomes the shopper's
 * card (attached, or subscribed with) or only updates the one we keep (the same payment method, or none yet).
 * News older than what is kept changes nothing, so events in any order end with the newest. Not a change of
 * the shopper Stripe needs to know of: no revision. Returns whether the card was recorded.
 */
export async function recordCustomerCard(
  who: { stripeCustomerId: string } | { merchantId: string; customerId: string },
  card: CardSeen,
  options: { replaces: boolean },
): Promise<{ merchantId: string; recorded: boolean } | undefined> {
  const filter = 'stripeCustomerId' in who ? { stripeCustomerId: who.stripeCustomerId } : { _id: who.customerId, merchantId: who.merchantId };
  const customer = await CustomerModel.findOne(filter, { merchantId: 1 }).lean();
  if (!customer) return undefined;
  const stored: CustomerCard = { ...card };
  const newer = [{ card: { $exists: false } }, { 'card.seenAt': { $lt: card.seenAt } }];
  const result = await CustomerModel.updateOne(
    {
      _id: customer._id,
      ...(options.replaces
        ? { $or: newer }
        : { $or: [{ card: { $exists: false } }, { 'card.stripePaymentMethodId': card.stripePaymentMethodId, 'card.seenAt': { $lt: card.seenAt } }] }),
    },
    { $set: { card: stored } },
  );
  return { merchantId: customer.merchantId, recorded: result.modifiedCount === 1 };
}

/** The shopper's Stripe customer id, the Stripe customer made first if it does not exist yet (a keyed write). */
export async function stripeCustomerOf(deps: CustomerDeps, merchantId: string, customerId: string): Promise<string> {
  return ensureStripeCustomer(deps, await findCustomer(merchantId, customerId));
}

/**
 * The shopper asks to change the card they pay with: a Stripe billing portal session that opens on its
 * payment-method flow (the new card reaches us as `payment_method.attached`). Keyed by the shopper, the minute
 * and where it leads back, so a double press opens one session and a press later on a fresh one (a portal
 * session's link is short-lived). Returns where to send the shopper.
 */
export async function startCardUpdate(
  deps: CustomerDeps,
  merchantId: string,
  customerId: string,
  urls: { returnUrl: string; completedUrl: string },
): Promise<{ url: string }> {
  const stripeCustomerId = await stripeCustomerOf(deps, merchantId, customerId);
  const minute = Math.floor(deps.clock.now().getTime() / 60_000);
  const where = createHash('sha256').update(`${urls.returnUrl}\n${urls.completedUrl}`).digest('hex').slice(0, 16);
  const session = await deps.stripe.createCardUpdateSession({ customerId: stripeCustomerId, ...urls }, `customer:${customerId}:card-update:${minute}:${where}`);
  return { url: session.url };
}

/**
 * `npm run customers:backfill-birthdays`: gives every customer with a birthday the `birthdayMonthDay` the
 * birthday rewards look it up by (customers saved before the field existed), every store, `batchSize` at a
 * time in id order, so memory stays bounded. Idempotent and safe beside running workers and a second copy of
 * itself: each write is guarded by the birthday it was computed from (a birthday changed meanwhile was written
 * with its own month-day by `updateCustomer`), writes the same value whoever writes it, and is not a change of
 * the shopper (no revision). Returns how many customers it looked at and how many it wrote.
 */
export async function backfillBirthdayMonthDays(options: { batchSize?: number } = {}): Promise<{ examined: number; written: number }> {
  const batchSize = options.batchSize ?? 1000;
  let after = '';
  let examined = 0;
  let written = 0;
  for (;;) {
    const page = await CustomerModel.find({ _id: { $gt: after }, birthday: { $exists: true } }, { birthday: 1, birthdayMonthDay: 1 })
      .sort({ _id: 1 })
      .limit(batchSize)
      .lean();
    examined += page.length;
    const writes = page.flatMap((customer) =>
      customer.birthday && customer.birthdayMonthDay !== birthdayMonthDayOf(customer.birthday)
        ? [
            {
              updateOne: {
                filter: { _id: customer._id, birthday: customer.birthday },
                update: { $set: { birthdayMonthDay: birthdayMonthDayOf(customer.birthday) } },
              },
            },
          ]
        : [],
    );
    if (writes.length > 0) written += (await CustomerModel.bulkWrite(writes, { ordered: false })).modifiedCount;
    if (page.length < batchSize) return { examined, written };
    after = page[page.length - 1]!._id;
  }
}
