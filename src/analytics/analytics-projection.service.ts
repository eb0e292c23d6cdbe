import type { Fact } from '../events/fact.model';
import type { FactType } from '../events/fact-types';
import { factsInOrder, merchantsWithFacts } from '../events/fact-replay';
import { merchantProfile } from '../merchants/merchant.queries';
import { findPlan } from '../plans/plan.queries';
import { localDateOf } from '../shared/calendar';
import { isDuplicateKeyError } from '../shared/db';
import type { Logger } from '../shared/logger';
import { BOX_KPI_FACTS, rebuildBoxKpis } from './box-kpis.service';
import { BucketBatch, foldFacts, REBUILD_BATCH, replaceWhole, StateBatch, type FoldedProjection, type RebuildBatch } from './rebuild-batch.service';
import { upsertOnce } from './upsert-once';
import { MetricBucketModel, SubscriptionMrrModel, type SubscriptionMrr } from './analytics.model';
import { dropRetentionProjections, RETENTION_FACTS, retentionRebuild } from './retention-projection.service';
import { contribution, discountedBox, monthlyAmount, movementOf, recurrenceOf, type CountedStatus, type LastingDiscount } from './mrr-rules';

/**
 * The analytics projections, kept from the subscriptions' facts: what each subscription contributes now
 * (analytics_subscriptions) and what moved per local day, currency and plan (analytics_daily). Reading a
 * metric reads these, never orders or subscriptions. Every write is a single-document update that a replayed
 * fact leaves alone: a bucket is guarded on the fact's id, a subscription's state on the fact's place in its
 * sequence. The buckets are written first, the state last, so a crash in between is finished by the retry
 * (the state still says the fact was not applied, and the buckets already have it).
 */

/** The facts that change what a subscription contributes or whether it is a subscriber. */
export const ANALYTICS_FACTS = [
  'subscription.created',
  'subscription.activated',
  'subscription.paused',
  'subscription.resumed',
  'subscription.swapped',
  'subscription.cadence_changed',
  'subscription.price_migrated',
  'subscription.promo_code_applied',
  'subscription.cancelled',
  'subscription.payment_failed',
  'subscription.recovered',
  'subscription.status_synced',
] as const satisfies readonly FactType[];

const SUBSCRIBER_STATUSES: readonly CountedStatus[] = ['trialing', 'active', 'past_due', 'paused'];

type State = Omit<SubscriptionMrr, '_id' | 'lastSeq'>;
type Plan = NonNullable<Awaited<ReturnType<typeof findPlan>>>;

interface BucketChange {
  currency: string;
  planId: string;
  inc: Record<string, number>;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function lastingDiscountOf(summary: unknown): LastingDiscount | undefined {
  if (!summary || typeof summary !== 'object') return undefined;
  const s = summary as Record<string, unknown>;
  if (s.duration !== 'forever') return undefined;
  if (typeof s.percentOff === 'number') return { percentOff: s.percentOff };
  if (typeof s.amountOffMinor === 'number') return { amountOffMinor: s.amountOffMinor };
  return undefined;
}

/** The subscription as this fact leaves it (before prices): plan, price, status, lasting discount. */
function nextState(before: State | undefined, fact: Fact): State | undefined {
  const data = fact.data;
  if (fact.type === 'subscription.created') {
    const discount = lastingDiscountOf(data.promoCode);
    return {
      merchantId: fact.merchantId,
      customerId: fact.customerId ?? '',
      planId: str(data.planId) ?? '',
      priceId: str(data.priceId) ?? '',
      currency: str(data.currency) ?? '',
      status: (str(data.status) ?? 'incomplete') as CountedStatus,
      monthlyMinor: 0,
      mrrMinor: 0,
      billedBefore: false,
      ...(discount ? { lastingDiscount: discount } : {}),
    };
  }
  // A subscription whose creation the projection never saw (made before facts existed) is not counted.
  if (!before) return undefined;
  const next: State = { ...before };
  switch (fact.type) {
    case 'subscription.activated':
    case 'subscription.status_synced':
      next.status = (str(data.to) ?? before.status) as CountedStatus;
      break;
    case 'subscription.paused':
      next.status = 'paused';
      break;
    case 'subscription.resumed':
    case 'subscription.recovered':
      next.status = 'active';
      break;
    case 'subscription.cancelled':
      next.status = 'cancelled';
      break;
    case 'subscription.payment_failed':
      if (before.status === 'active' || before.status === 'trialing') next.status = 'past_due';
      break;
    case 'subscription.swapped': {
      const to = (data.to ?? {}) as Record<string, unknown>;
      next.planId = str(to.planId) ?? before.planId;
      next.priceId = str(to.priceId) ?? before.priceId;
      break;
    }
    case 'subscription.cadence_changed':
      next.planId = str(data.planId) ?? before.planId;
      next.priceId = str(data.toPriceId) ?? before.priceId;
      break;
    case 'subscription.price_migrated':
      next.priceId = str(data.toPriceId) ?? before.priceId;
      break;
    case 'subscription.promo_code_applied': {
      const discount = lastingDiscountOf(data);
      if (discount) next.lastingDiscount = discount;
      break;
    }
    default:
      break;
  }
  return next;
}

/** The box's price per 30 days after its lasting discount, and its currency (prices never change: a new amount is a new price). */
function priceOf(state: State, plan: Plan | undefined): { monthlyMinor: number; currency: string } | undefined {
  const price = plan?.prices.find((p) => p._id === state.priceId);
  const recurrence = price ? recurrenceOf(price.cadenceKey) : undefined;
  if (!price || !recurrence) return undefined;
  return { monthlyMinor: monthlyAmount(discountedBox(price.amountMinor, state.lastingDiscount), recurrence), currency: price.currency };
}

function bucketId(merchantId: string, day: string, currency: string, planId: string): string {
  return `${merchantId}:${day}:${currency}:${planId}`;
}

function bucketFields(merchantId: string, day: string, change: BucketChange): Record<string, unknown> {
  return { merchantId, day, month: day.slice(0, 7), currency: change.currency, planId: change.planId };
}

/** Adds a fact's effect to one bucket, once: the update is guarded on the fact's absence from it. */
async function applyToBucket(merchantId: string, day: string, factId: string, change: BucketChange): Promise<void> {
  const _id = bucketId(merchantId, day, change.currency, change.planId);
  await upsertOnce(() =>
    MetricBucketModel.updateOne(
      { _id, factIds: { $ne: factId } },
      { $inc: change.inc, $push: { factIds: factId }, $setOnInsert: bucketFields(merchantId, day, change) },
      { upsert: true },
    ),
  );
}

/** The live statuses the subscribers report counts now, by the bucket field that counts each. */
const IN_STATUS: Partial<Record<string, 'active' | 'trialing' | 'pastDue' | 'paused'>> = {
  active: 'active',
  trialing: 'trialing',
  past_due: 'pastDue',
  paused: 'paused',
};

function add(changes: BucketChange[], currency: string, planId: string, field: string, amount: number): void {
  if (amount === 0) return;
  let change = changes.find((c) => c.currency === currency && c.planId === planId);
  if (!change) {
    change = { currency, planId, inc: {} };
    changes.push(change);
  }
  change.inc[field] = (change.inc[field] ?? 0) + amount;
}

/** What folding a fact needs from outside the subscription: the listener asks the database, a rebuild its memory. */
interface MrrFoldContext {
  timezone: string;
  planOf: (merchantId: string, planId: string) => Promise<Plan | undefined>;
  /** The shopper had another subscription of the store that was a subscriber and was cancelled before `at`. */
  hadCancelledBefore: (state: State, subscriptionId: string, at: Date) => Promise<boolean>;
  logger?: Pick<Logger, 'warn'>;
}

/**
 * The rules: what one subscription fact does to the subscription's state and to the day's buckets, given the
 * state before it (undefined: none yet). Undefined when it changes nothing (applied already, or a subscription
 * whose creation the projection never saw). Both the listener and the rebuild apply facts through this.
 */
async function foldMrrFact(
  stored: SubscriptionMrr | undefined,
  fact: Fact,
  ctx: MrrFoldContext,
): Promise<{ after: SubscriptionMrr; day: string; changes: BucketChange[] } | undefined> {
  if (fact.subjectType !== 'subscription' || !(ANALYTICS_FACTS as readonly string[]).includes(fact.type)) return undefined;
  if (stored && stored.lastSeq >= fact.seq) return undefined;
  let before: State | undefined;
  if (stored) {
    const { _id: _ignoredId, lastSeq: _ignoredSeq, ...state } = stored;
    before = state;
  }
  const draft = nextState(before, fact);
  if (!draft) return undefined;
  const day = localDateOf(fact.at, ctx.timezone);

  // A price the catalog does not have (never expected: prices are never removed) counts what it counted
  // before, logged; throwing would hold back every later fact of the subscription and its messages.
  const priced = priceOf(draft, await ctx.planOf(draft.merchantId, draft.planId));
  if (!priced) ctx.logger?.warn({ factId: fact._id, planId: draft.planId, priceId: draft.priceId }, 'analytics: price not found; MRR unchanged');
  const monthlyMinor = priced?.monthlyMinor ?? (before && before.priceId === draft.priceId ? before.monthlyMinor : 0);
  const currency = priced?.currency ?? draft.currency;
  const after: State = { ...draft, monthlyMinor, currency };
  after.mrrMinor = contribution(monthlyMinor, after.status, draft.billedBefore);
  after.billedBefore = draft.billedBefore || after.mrrMinor > 0;

  const beforeMrr = before?.mrrMinor ?? 0;
  const wasSubscriber = before?.subscriberSince !== undefined && before.status !== 'cancelled';
  const becomesSubscriber = before?.subscriberSince === undefined && SUBSCRIBER_STATUSES.includes(after.status);
  const startsMrr = beforeMrr === 0 && !(before?.billedBefore ?? false) && after.mrrMinor > 0;
  const returning = becomesSubscriber || startsMrr ? await ctx.hadCancelledBefore(after, fact.subjectId, fact.at) : false;

  const changes: BucketChange[] = [];
  // The subscriptions in each live status: one that changes status, plan or currency leaves its count and joins another.
  const wasIn = before ? IN_STATUS[before.status] : undefined;
  const isIn = IN_STATUS[after.status];
  const moved = !before || wasIn !== isIn || before.planId !== after.planId || before.currency !== after.currency;
  if (moved && before && wasIn) add(changes, before.currency, before.planId, `inStatus.${wasIn}`, -1);
  if (moved && isIn) add(changes, after.currency, after.planId, `inStatus.${isIn}`, 1);
  // Moved to another plan (or currency): it leaves the old one with what it had, and arrives in the new one.
  if (before && (before.planId !== after.planId || before.currency !== after.currency)) {
    add(changes, before.currency, before.planId, 'mrr.transferOut', beforeMrr);
    add(changes, after.currency, after.planId, 'mrr.transferIn', beforeMrr);
    if (wasSubscriber) {
      add(changes, before.currency, before.planId, 'counts.transferOut', 1);
      add(changes, after.currency, after.planId, 'counts.transferIn', 1);
    }
  }
  const movement = movementOf({
    before: { mrr: beforeMrr, status: before?.status ?? 'incomplete', billedBefore: before?.billedBefore ?? false },
    after: { mrr: after.mrrMinor, status: after.status },
    returningCustomer: returning,
  });
  // A movement away is booked where the MRR was; one towards, where it goes.
  const where = movement && (movement.kind === 'churn' || movement.kind === 'paused') ? before! : after;
  if (movement) add(changes, where.currency, where.planId, `mrr.${movement.kind}`, movement.amountMinor);

  if (becomesSubscriber) {
    after.subscriberSince = day;
    add(changes, after.currency, after.planId, 'counts.new', 1);
    if (returning) add(changes, after.currency, after.planId, 'counts.reactivated', 1);
  }
  if (after.status === 'cancelled' && before?.status !== 'cancelled') {
    after.cancelledOn = day;
    after.cancelledAt = fact.at;
    if (wasSubscriber) {
      const involuntary = fact.data.involuntary === true;
      const sameMonth = before!.subscriberSince!.slice(0, 7) === day.slice(0, 7);
      const churned = movement?.kind === 'churn' ? movement.amountMinor : 0;
      add(changes, after.currency, after.planId, 'counts.cancelled', 1);
      add(changes, after.currency, after.planId, involuntary ? 'counts.involuntary' : 'counts.voluntary', 1);
      add(changes, after.currency, after.planId, involuntary ? 'churnMrr.involuntary' : 'churnMrr.voluntary', churned);
      if (sameMonth) {
        add(changes, after.currency, after.planId, 'counts.cancelledSameMonth', 1);
        add(changes, after.currency, after.planId, 'churnMrr.sameMonth', churned);
      }
    }
  }
  return { after: { _id: fact.subjectId, ...after, lastSeq: fact.seq }, day, changes };
}

/**
 * Applies one subscription fact to the projections, once. Facts of a subscription arrive in their order
 * (the dispatcher follows each subject in sequence; a rebuild reads them in order).
 */
export async function applyFactToAnalytics(fact: Fact, logger?: Pick<Logger, 'warn'>): Promise<void> {
  if (fact.subjectType !== 'subscription' || !(ANALYTICS_FACTS as readonly string[]).includes(fact.type)) return;
  const stored = (await SubscriptionMrrModel.findById(fact.subjectId).lean()) ?? undefined;
  if (stored && stored.lastSeq >= fact.seq) return;
  const merchant = await merchantProfile(fact.merchantId);
  const folded = await foldMrrFact(stored, fact, {
    timezone: merchant?.timezone ?? 'UTC',
    planOf: findPlan,
    hadCancelledBefore: async (state, subscriptionId, at) =>
      (await SubscriptionMrrModel.exists({
        merchantId: state.merchantId,
        customerId: state.customerId,
        _id: { $ne: subscriptionId },
        // It was a subscriber (an abandoned Checkout never was) and it ended before this fact.
        subscriberSince: { $exists: true },
        cancelledAt: { $lt: at },
      })) !== null,
    ...(logger ? { logger } : {}),
  });
  if (!folded) return;
  const { _id, ...after } = folded.after;
  for (const change of folded.changes) await applyToBucket(fact.merchantId, folded.day, fact._id, change);
  try {
    await SubscriptionMrrModel.updateOne(
      { _id, lastSeq: { $lt: fact.seq } },
      { $set: after, ...(after.lastingDiscount ? {} : { $unset: { lastingDiscount: 1 } }) },
      { upsert: true },
    );
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // applied meanwhile (a later or the same fact)
  }
}

/**
 * The MRR projection of one store, folded in memory by a rebuild: the subscriptions' states (loaded and
 * flushed by the batch), the plans (few), and, per shopper, when their subscriptions that were subscribers
 * were cancelled (what `hadCancelledBefore` asks; one entry per such subscription, not per fact).
 */
function mrrRebuild(merchantId: string, timezone: string) {
  const states = new StateBatch<SubscriptionMrr>(SubscriptionMrrModel, replaceWhole);
  const buckets = new BucketBatch(MetricBucketModel);
  const plans = new Map<string, Promise<Plan | undefined>>();
  const cancelled = new Map<string, Map<string, Date>>();
  const ctx: MrrFoldContext = {
    timezone,
    planOf: (mId, planId) => {
      if (!plans.has(planId)) plans.set(planId, findPlan(mId, planId));
      return plans.get(planId)!;
    },
    hadCancelledBefore: (state, subscriptionId, at) =>
      Promise.resolve([...(cancelled.get(state.customerId)?.entries() ?? [])].some(([id, when]) => id !== subscriptionId && when < at)),
  };
  return {
    load: (facts: readonly Fact[]) => states.load(facts.filter((f) => f.subjectType === 'subscription').map((f) => f.subjectId)),
    async apply(fact: Fact): Promise<void> {
      const folded = await foldMrrFact(states.get(fact.subjectId), fact, ctx);
      if (!folded) return;
      for (const change of folded.changes)
        buckets.add(bucketId(merchantId, folded.day, change.currency, change.planId), bucketFields(merchantId, folded.day, change), change.inc, fact._id);
      states.set(folded.after);
      const { customerId, subscriberSince, cancelledAt } = folded.after;
      if (subscriberSince !== undefined && cancelledAt)
        cancelled.set(customerId, (cancelled.get(customerId) ?? new Map<string, Date>()).set(fact.subjectId, cancelledAt));
    },
    flush: () => Promise.all([buckets.flush(), states.flush()]),
  };
}

/** A projection the rebuild drops and replays along with the MRR one (one row per projection). */
interface ReplayedProjector {
  facts: readonly FactType[];
  drop: (merchantId: string) => Promise<void>;
  /** Its state for one store, folded in memory and written in bulk (src/analytics/rebuild-batch.service.ts). */
  fold: (merchantId: string, timezone: string) => FoldedProjection;
}
const REPLAYED_PROJECTORS: readonly ReplayedProjector[] = [
  { facts: RETENTION_FACTS, drop: dropRetentionProjections, fold: retentionRebuild }, // cohorts, LTV, reasons, save offers, dunning
];

/**
 * Drops a store's projections and replays its facts in order (every store when none is named): the same
 * numbers as the listeners kept. Run it with the workers stopped, or facts followed meanwhile may be applied
 * twice over the replay's shoulder — each only once, but a later fact before an earlier one is ignored — and
 * the rebuild's bulk writes, which are not guarded per fact, would add to what a listener wrote meanwhile.
 *
 * The facts are folded in memory with the listeners' rules (`foldMrrFact`, the retention and box-service
 * projections' own) and written in bulk: every `batch.flushEvery` facts (100,000) the buckets touched and the
 * subjects' states are written and forgotten, so memory holds a batch of facts' effects, not the store's history (plus, per
 * shopper, when their subscriptions were cancelled, and the store's plans).
 */
export async function rebuildAnalytics(options: { merchantId?: string; batch?: RebuildBatch } = {}): Promise<{ merchants: number; facts: number }> {
  const batch = options.batch ?? REBUILD_BATCH;
  const types = [...new Set<FactType>([...ANALYTICS_FACTS, ...REPLAYED_PROJECTORS.flatMap((p) => p.facts)])];
  const merchants = options.merchantId
    ? [options.merchantId]
    : [...new Set([...(await merchantsWithFacts(types)), ...(await merchantsWithFacts(BOX_KPI_FACTS))])].sort();
  let facts = 0;
  for (const merchantId of merchants) {
    await SubscriptionMrrModel.deleteMany({ merchantId });
    await MetricBucketModel.deleteMany({ merchantId });
    for (const projector of REPLAYED_PROJECTORS) await projector.drop(merchantId);
    const timezone = (await merchantProfile(merchantId))?.timezone ?? 'UTC';
    // The other projections after the MRR one (as their listener rows follow it).
    const projections: Array<{ facts: readonly string[]; folded: FoldedProjection }> = [
      { facts: ANALYTICS_FACTS, folded: mrrRebuild(merchantId, timezone) },
      ...REPLAYED_PROJECTORS.map((p) => ({ facts: p.facts, folded: p.fold(merchantId, timezone) })),
    ];
    facts += await foldFacts(factsInOrder(merchantId, types, batch.page), batch, projections);
    await rebuildBoxKpis(merchantId, batch); // the box-service KPIs (src/analytics/box-kpis.service.ts), from their own facts
  }
  return { merchants: merchants.length, facts };
}
