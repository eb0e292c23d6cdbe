import { randomBytes } from 'node:crypto';
import type { Collection, Document } from 'mongodb';
import { CustomerModel } from '../../src/customers/customer.model';
import { cycleAt } from '../../src/shared/calendar';
import { newId } from '../../src/shared/ids';
import { SubscriptionModel, type Subscription } from '../../src/subscriptions/subscription.model';
import { buildPaidInvoice } from './invoice.factory';
import { buildEvent } from '../helpers/stripe-events';

/**
 * Many subscriptions at once, for the tests and benchmarks that need thousands: one subscription made through
 * the API is the template, and its customer and subscription documents are copied with new ids (and a Stripe
 * customer and subscription id of their own), written with `insertMany` a chunk at a time. A copy starts with
 * no facts and nothing due in Stripe (`stripeSyncDueAt` unset): as if Stripe already had it.
 */
export interface ClonedSubscription {
  subscriptionId: string;
  customerId: string;
  stripeSubscriptionId: string;
}

export interface CloneOptions {
  /** Fields set on every copy (e.g. `renewalDueAt` to make them due for their cut-off). */
  set?: Partial<Subscription>;
  chunkSize?: number;
}

async function insertInChunks(collection: Collection<Document>, docs: Document[], chunkSize: number): Promise<void> {
  for (let i = 0; i < docs.length; i += chunkSize) await collection.insertMany(docs.slice(i, i + chunkSize), { ordered: false });
}

export async function cloneSubscriptions(templateSubscriptionId: string, count: number, options: CloneOptions = {}): Promise<ClonedSubscription[]> {
  const subscriptions = SubscriptionModel.collection as unknown as Collection<Document>;
  const customers = CustomerModel.collection as unknown as Collection<Document>;
  const template = await subscriptions.findOne({ _id: templateSubscriptionId as never });
  if (!template) throw new Error(`no subscription ${templateSubscriptionId} to copy`);
  const customer = await customers.findOne({ _id: template.customerId as never });
  if (!customer) throw new Error(`the template's customer ${String(template.customerId)} is missing`);
  const tag = randomBytes(4).toString('hex');
  const made: ClonedSubscription[] = [];
  const customerDocs: Document[] = [];
  const subscriptionDocs: Document[] = [];
  for (let i = 0; i < count; i += 1) {
    const customerId = newId('cus');
    const subscriptionId = newId('sub');
    const stripeCustomerId = `cus_clone${tag}${i}`;
    const stripeSubscriptionId = `sub_clone${tag}${i}`;
    customerDocs.push({ ...customer, _id: customerId, email: `clone-${tag}-${i}@example.com`, stripeCustomerId });
    const copy: Document = {
      ...template,
      _id: subscriptionId,
      customerId,
      stripe: { ...(template.stripe as Document), customerId: stripeCustomerId, subscriptionId: stripeSubscriptionId },
      outbox: [],
      factCount: 0,
      ...options.set,
    };
    delete copy.outboxDueAt;
    delete copy.stripeSyncDueAt;
    subscriptionDocs.push(copy);
    made.push({ subscriptionId, customerId, stripeSubscriptionId });
  }
  const chunk = options.chunkSize ?? 1000;
  await insertInChunks(customers, customerDocs, chunk);
  await insertInChunks(subscriptions, subscriptionDocs, chunk);
  return made;
}

/**
 * `invoice.paid` events of one cycle (by its index on the subscription's calendar: 0 is the first charge) for
 * each of the given subscriptions, as Stripe sends them; the invoice ids carry `invoicePrefix` to find their orders.
 */
export async function paidInvoiceEvents(
  subscriptions: ClonedSubscription[],
  cycleIndex: number,
  createdAt: Date,
  invoicePrefix: string,
): Promise<Array<{ id: string } & Record<string, unknown>>> {
  const template = await SubscriptionModel.findById(subscriptions[0]?.subscriptionId).lean();
  if (!template) return [];
  // The copies share the template's calendar, so the cycle's period is the same for all.
  const cycle = cycleAt(template.schedule, cycleIndex);
  return subscriptions.map((s, i) =>
    buildEvent(
      'invoice.paid',
      buildPaidInvoice(s.stripeSubscriptionId, cycle.chargeAt, 2600, `${invoicePrefix}${i}_${randomBytes(3).toString('hex')}`),
      createdAt,
    ),
  );
}
