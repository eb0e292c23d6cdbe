import { merchantIds } from '../merchants/merchant.queries';
import { addLocalDays, datesWithAnniversaryOn, localDateOf, toInstant, type LocalDate } from '../shared/calendar';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { BUILDING_STATUSES, type SubscriptionStatus } from './subscription-states';
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

/** Oldest first, as `subscriptionsIn` gives them: jobs that read a narrower set keep the same order. */
function oldestFirst(subscriptions: Subscription[]): Subscription[] {
  return subscriptions.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a._id.localeCompare(b._id));
}

/**
 * The merchant's live subscriptions whose first box still open may lock (reach its cut-off) by `by`, a page at a
 * time, for the reminder before a box locks: a subscription whose boxes are built has its renewal check armed
 * at exactly that cut-off (src/renewals/renewal.service.ts), or unarmed by a change since, so those armed later
 * are left out (`subscriptionPagesLockingBy`); a past-due one is armed for the next dunning look instead, so
 * every past-due one is read — before the others and again after them, so one that fails or recovers while
 * the run pages is met in one of the reads. Each comes once. The caller works out each box. Index:
 * `{ merchantId, status, renewalDueAt, _id }`.
 */
export async function* liveSubscriptionPagesLockingBy(merchantId: string, by: Date, pageSize?: number): AsyncGenerator<Subscription[]> {
  const seen = new Set<string>();
  yield* pagesLockingBy(merchantId, ['past_due'], LATEST_DATE, { pageSize }, seen);
  yield* pagesLockingBy(merchantId, BUILDING_STATUSES, by, { pageSize }, seen);
  yield* pagesLockingBy(merchantId, ['past_due'], LATEST_DATE, { pageSize }, seen);
}

/** The latest instant a `Date` holds: "armed at any time". */
const LATEST_DATE = new Date(8.64e15);

/**
 * The merchant's subscriptions in these statuses (on these plans, when given) whose box may lock by `by`, for
 * jobs that work on the boxes locking in a window (the surprise-gift planner): the renewal check is armed at the
 * next charged box's cut-off (or unarmed after a change), so one armed after `by` has no box locking by then
 * and is not read. A page of at most `pageSize` at a time, so memory stays bounded however large the store:
 * the unarmed ones by `_id`, the armed ones by `renewalDueAt, _id`, then the unarmed ones again. A subscription
 * armed or unarmed while the run pages moves from one read to the other; reading the unarmed ones on both sides
 * of the armed ones meets it in one of them (the renewal job arms an unarmed one within minutes, so the second
 * read is short). Each comes once. Index: `{ merchantId, status, renewalDueAt, _id }`; the plans are checked on
 * the page (a campaign has a few).
 */
export function subscriptionPagesLockingBy(
  merchantId: string,
  statuses: readonly SubscriptionStatus[],
  by: Date,
  options: { planIds?: readonly string[] | undefined; pageSize?: number | undefined } = {},
): AsyncGenerator<Subscription[]> {
  return pagesLockingBy(merchantId, statuses, by, options, new Set());
}

async function* pagesLockingBy(
  merchantId: string,
  statuses: readonly SubscriptionStatus[],
  by: Date,
  options: { planIds?: readonly string[] | undefined; pageSize?: number | undefined },
  seen: Set<string>,
): AsyncGenerator<Subscription[]> {
  const pageSize = options.pageSize ?? 500;
  const status = { $in: [...statuses] };
  const onPlan = (subscription: Subscription) => !options.planIds?.length || options.planIds.includes(subscription.box.planId);
  const fresh = (page: Subscription[]) =>
    page.filter((subscription) => {
      if (seen.has(subscription._id) || !onPlan(subscription)) return false;
      seen.add(subscription._id);
      return true;
    });
  async function* unarmed(): AsyncGenerator<Subscription[]> {
    let after = '';
    for (;;) {
      const page = await SubscriptionModel.find({ merchantId, status, renewalDueAt: null, _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(pageSize)
        .lean();
      const kept = fresh(page);
      if (kept.length > 0) yield kept;
      if (page.length < pageSize) return;
      after = page[page.length - 1]!._id;
    }
  }
  yield* unarmed();
  let last: { dueAt: Date; id: string } | undefined;
  for (;;) {
    const page = await SubscriptionModel.find({
      merchantId,
      status,
      renewalDueAt: { $lte: by },
      ...(last ? { $or: [{ renewalDueAt: { $gt: last.dueAt } }, { renewalDueAt: last.dueAt, _id: { $gt: last.id } }] } : {}),
    })
      .sort({ renewalDueAt: 1, _id: 1 })
      .limit(pageSize)
      .lean();
    const kept = fresh(page);
    if (kept.length > 0) yield kept;
    if (page.length < pageSize) break;
    const end = page[page.length - 1]!;
    last = { dueAt: end.renewalDueAt!, id: end._id };
  }
  yield* unarmed();
}

/**
 * Each of these shoppers' oldest subscription in these statuses (the one `subscriptionsIn` would meet first),
 * by shopper; shoppers with none are absent. Index: `{ merchantId, customerId }`.
 */
export async function oldestSubscriptionOfEach(
  merchantId: string,
  customerIds: readonly string[],
  statuses: readonly SubscriptionStatus[],
): Promise<Map<string, Subscription>> {
  const oldest = new Map<string, Subscription>();
  if (customerIds.length === 0) return oldest;
  const subscriptions = await SubscriptionModel.find({ merchantId, customerId: { $in: [...customerIds] }, status: { $in: [...statuses] } }).lean();
  for (const subscription of oldestFirst(subscriptions)) if (!oldest.has(subscription.customerId)) oldest.set(subscription.customerId, subscription);
  return oldest;
}

/** The merchant's subscriptions that ended (cancellation effective) in `(after, until]`, oldest first. */
export async function subscriptionsEndedBetween(merchantId: string, after: Date, until: Date): Promise<Subscription[]> {
  return oldestFirst(await SubscriptionModel.find({ merchantId, status: 'cancelled', 'cancellation.effectiveAt': { $gt: after, $lte: until } }).lean());
}

/**
 * The merchant's subscriptions in these statuses that started (in the merchant's calendar) on a date whose
 * anniversary is one of `days`, oldest first: one range of start instants per earlier year, read through
 * `{ merchantId, status, createdAt }`, instead of every subscription of the store.
 */
export async function subscriptionsWithAnniversaryOn(
  merchantId: string,
  statuses: readonly SubscriptionStatus[],
  timezone: string,
  days: readonly LocalDate[],
): Promise<Subscription[]> {
  const first = await SubscriptionModel.findOne({ merchantId }, { createdAt: 1 }).sort({ createdAt: 1, _id: 1 }).lean();
  if (!first) return [];
  const ranges = datesWithAnniversaryOn(days, Number(localDateOf(first.createdAt, timezone).slice(0, 4)));
  if (ranges.length === 0) return [];
  return oldestFirst(
    await SubscriptionModel.find({
      merchantId,
      status: { $in: [...statuses] },
      $or: ranges.map(({ from, to }) => ({
        createdAt: { $gte: toInstant(from, '00:00', timezone), $lt: toInstant(addLocalDays(to, 1), '00:00', timezone) },
      })),
    }).lean(),
  );
}

/** Which of these shoppers have a subscription in one of these statuses (asked a thousand at a time). */
export async function customersWithSubscriptionIn(
  merchantId: string,
  customerIds: readonly string[],
  statuses: readonly SubscriptionStatus[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (let start = 0; start < customerIds.length; start += 1000) {
    const batch = customerIds.slice(start, start + 1000);
    const ids = await SubscriptionModel.distinct('customerId', { merchantId, customerId: { $in: batch }, status: { $in: [...statuses] } });
    for (const id of ids) found.add(id);
  }
  return found;
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
