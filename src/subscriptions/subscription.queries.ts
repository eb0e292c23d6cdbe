import { merchantIds } from '../merchants/merchant.queries';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import type { SubscriptionStatus } from './subscription-states';
import { SubscriptionModel, type Subscription } from './subscription.model';

/**
 * What other domains may read of a subscription: narrow, merchant-scoped reads, and the pure calendar
 * questions (is this cycle charged, which is next, what is in a cycle's box). Nothing here writes; a change
 * of a subscription goes through the subscriptions service.
 */
export { boxAddressFor, boxContentsFor, isCycleCharged, nextChargedCycle, type BoxLine } from './subscription.service';

/** A subscription of the merchant (and of this shopper, when given). */
export async function findSubscription(merchantId: string, subscriptionId: string, customerId?: string): Promise<Subscription | undefined> {
  return (await SubscriptionModel.findOne({ _id: subscriptionId, merchantId, ...(customerId ? { customerId } : {}) }).lean()) ?? undefined;
}

/**
 * The merchant's subscriptions in these statuses (on these plans, when given), oldest first: a stable order
 * for jobs that go through them, read in the order of `{ merchantId, status, createdAt, _id }` (or with
 * `box.planId`), one scan per status (and plan) merged.
 */
export async function subscriptionsIn(
  merchantId: string,
  statuses: readonly SubscriptionStatus[],
  options: { planIds?: string[] | undefined } = {},
): Promise<Subscription[]> {
  return SubscriptionModel.find({
    merchantId,
    status: { $in: statuses },
    ...(options.planIds?.length ? { 'box.planId': { $in: options.planIds } } : {}),
  })
    .sort({ createdAt: 1, _id: 1 })
    .lean();
}

/**
 * The merchant's subscriptions in these statuses that may have a box to build by `by`: the renewal check is
 * armed at the next box's cut-off (before its charge), or unarmed after a change (`renewalDueAt` absent), so
 * a subscription whose next box is charged by then is among these, and the rest of the store is not read.
 * Index: `{ merchantId, renewalDueAt }`.
 */
export async function subscriptionsRenewingBy(merchantId: string, statuses: readonly SubscriptionStatus[], by: Date): Promise<Subscription[]> {
  return SubscriptionModel.find({
    merchantId,
    $or: [{ renewalDueAt: { $lte: by } }, { renewalDueAt: null }],
    status: { $in: statuses },
  }).lean();
}

/** Every shopper of the merchant who has (or had) a subscription. */
export async function subscribedCustomerIds(merchantId: string): Promise<string[]> {
  return SubscriptionModel.distinct('customerId', { merchantId });
}

/** Whether the shopper has a subscription other than this one (any status). */
export async function hasOtherSubscription(merchantId: string, customerId: string, exceptSubscriptionId: string): Promise<boolean> {
  return (await SubscriptionModel.exists({ merchantId, customerId, _id: { $ne: exceptSubscriptionId } })) !== null;
}

/** The status and cancellation of each of the shopper's subscriptions (when did they last leave?). */
export async function subscriptionEndingsOf(merchantId: string, customerId: string): Promise<Array<Pick<Subscription, '_id' | 'status' | 'cancellation'>>> {
  return SubscriptionModel.find({ merchantId, customerId }, { status: 1, cancellation: 1 }).lean();
}

/**
 * The merchants with a subscription in one of these statuses (jobs that go merchant by merchant): each store
 * asked by `{ merchantId, status, … }`, rather than a `distinct` that reads every subscription of every store.
 */
export async function merchantsWithSubscriptionsIn(statuses: readonly SubscriptionStatus[]): Promise<string[]> {
  const found: string[] = [];
  for (const merchantId of await merchantIds()) {
    if (await SubscriptionModel.exists({ merchantId, status: { $in: [...statuses] } })) found.push(merchantId);
  }
  return found;
}

/** How many of the merchant's subscriptions are in each status (statuses with none are absent). */
export async function subscriptionCountsByStatus(merchantId: string): Promise<Partial<Record<SubscriptionStatus, number>>> {
  const rows = await SubscriptionModel.aggregate<{ _id: SubscriptionStatus; count: number }>([
    { $match: { merchantId } },
    { $group: { _id: '$status', count: { $sum: 1 } } },
  ]);
  return Object.fromEntries(rows.map((row) => [row._id, row.count]));
}

/** What the merchant's list of subscribers narrows by, besides the shopper: each served by an index that starts with `merchantId`. */
export interface SubscriberFilter {
  status?: SubscriptionStatus | undefined;
  planId?: string | undefined;
  /** Started in [startedFrom, startedBefore): tenure in months since the start, as a range of `createdAt`. */
  startedFrom?: Date | undefined;
  startedBefore?: Date | undefined;
}

function subscriberFilter(merchantId: string, filter: SubscriberFilter): Record<string, unknown> {
  const created = { ...(filter.startedFrom ? { $gte: filter.startedFrom } : {}), ...(filter.startedBefore ? { $lt: filter.startedBefore } : {}) };
  return {
    merchantId,
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.planId ? { 'box.planId': filter.planId } : {}),
    ...(Object.keys(created).length > 0 ? { createdAt: created } : {}),
  };
}

/**
 * A page of the merchant's subscriptions, newest first, with cursor pagination (`src/shared/pagination.ts`),
 * optionally only those of some shoppers (a search's matches, a bounded set). Indexes: `{ merchantId, createdAt, _id }`
 * alone or with a tenure range; `{ merchantId, status, createdAt, _id }`; `{ merchantId, box.planId, createdAt, _id }`;
 * `{ merchantId, status, box.planId, createdAt, _id }`; `{ merchantId, customerId }` for a set of shoppers.
 */
export async function subscriptionsPage(
  merchantId: string,
  filter: SubscriberFilter & { customerIds?: readonly string[] | undefined },
  page: { limit: number; startingAfter?: string | undefined },
) {
  const subscriptions = await SubscriptionModel.find({
    ...subscriberFilter(merchantId, filter),
    ...(filter.customerIds ? { customerId: { $in: [...filter.customerIds] } } : {}),
    ...afterCursor(decodeCursor(page.startingAfter)),
  })
    .sort({ createdAt: -1, _id: -1 })
    .limit(page.limit + 1)
    .lean();
  return listPage(subscriptions, page.limit, (subscription) => subscription);
}

/** The subscriptions of these shoppers (a tier's, walked a batch at a time) that pass the filter, by shopper then newest first. */
export async function subscriptionsOfCustomers(merchantId: string, customerIds: readonly string[], filter: SubscriberFilter): Promise<Subscription[]> {
  if (customerIds.length === 0) return [];
  return SubscriptionModel.find({ ...subscriberFilter(merchantId, filter), customerId: { $in: [...customerIds] } })
    .sort({ customerId: 1, createdAt: -1, _id: -1 })
    .lean();
}

/**
 * The renewal job's lag, for operations metrics (read at scrape time, across stores): the earliest cut-off
 * that has come and whose box is not built yet (undefined when none waits). One key of the `{ renewalDueAt }`
 * index; subscriptions re-armed by a change (`renewalDueAt` unset) are not counted: they are looked at first.
 */
export async function oldestDueRenewalAt(now: Date): Promise<Date | undefined> {
  const oldest = await SubscriptionModel.findOne({ renewalDueAt: { $lte: now } }, { _id: 0, renewalDueAt: 1 })
    .sort({ renewalDueAt: 1 })
    .lean();
  return oldest?.renewalDueAt ?? undefined;
}
