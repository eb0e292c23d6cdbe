import type Stripe from 'stripe';
import { isDuplicateKeyError } from '../shared/db';
import { ConflictError, NotFoundError } from '../shared/errors';
import { newId } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import type { StripeGateway } from '../stripe/stripe-gateway';
import { CustomerModel, type Customer, type PostalAddress } from './customer.model';
import type { CreateCustomerBody, CustomerView, UpdateCustomerBody } from './customer.schemas';

export interface CustomerDeps {
  clock: Clock;
  stripe: StripeGateway;
  logger: Logger;
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
    ...(input.phone ? { phone: input.phone } : {}),
    shippingAddress: input.shippingAddress,
    ...(input.birthday ? { birthday: input.birthday } : {}),
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
  if (input.name !== undefined) set.name = input.name;
  if (input.shippingAddress !== undefined) set.shippingAddress = input.shippingAddress;
  if (input.phone === null) unset.phone = 1;
  else if (input.phone !== undefined) set.phone = input.phone;
  if (input.birthday === null) unset.birthday = 1;
  else if (input.birthday !== undefined) set.birthday = input.birthday;
  if (input.marketingConsent !== undefined && input.marketingConsent !== customer.marketingConsent.granted) {
    set.marketingConsent = { granted: input.marketingConsent, changedAt: now };
  }
  if (Object.keys(set).length === 0 && Object.keys(unset).length === 0) return toCustomerView(customer);
  try {
    const result = await CustomerModel.updateOne(
      { _id: customerId, merchantId, revision: customer.revision },
      { $set: { ...set, updatedAt: now }, $inc: { revision: 1 }, ...(Object.keys(unset).length ? { $unset: unset } : {}) },
    );
    if (result.matchedCount === 0) throw new ConflictError('The customer was changed by another request meanwhile. Read it again and retry.');
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new CustomerEmailTakenError('Another customer of yours has this e-mail.');
    throw error;
  }
  await tryEnsureStripeCustomer(deps, customerId);
  return toCustomerView(await findCustomer(merchantId, customerId));
}
