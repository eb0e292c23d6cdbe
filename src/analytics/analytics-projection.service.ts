import type { Fact } from '../events/fact.model';
import type { FactType } from '../events/fact-types';
import { factsInOrder, merchantsWithFacts } from '../events/fact-replay';
import { merchantProfile } from '../merchants/merchant.queries';
import { findPlan } from '../plans/plan.queries';
import { localDateOf } from '../shared/calendar';
import { isDuplicateKeyError } from '../shared/db';
import type { Logger } from '../shared/logger';
import { BOX_KPI_FACTS, rebuildBoxKpis } from './box-kpis.service';
import { upsertOnce } from './upsert-once';
import { MetricBucketModel, SubscriptionMrrModel, type SubscriptionMrr } from './analytics.model';
import { applyFactToRetention, dropRetentionProjections, RETENTION_FACTS } from './retention-projection.service';
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
async function priceOf(state: State): Promise<{ monthlyMinor: number; currency: string } | undefined> {
  const plan = await findPlan(state.merchantId, state.planId);
  const price = plan?.prices.find((p) => p._id === state.priceId);
  const recurrence = price ? recurrenceOf(price.cadenceKey) : undefined;
  if (!price || !recurrence) return undefined;
  return { monthlyMinor: monthlyAmount(discountedBox(price.amountMinor, state.lastingDiscount), recurrence), currency: price.currency };
}

async function hadCancelledBefore(state: State, subscriptionId: string, at: Date): Promise<boolean> {
  const earlier = await SubscriptionMrrModel.exists({
    merchantId: state.merchantId,
    customerId: state.customerId,
    _id: { $ne: subscriptionId },
    // It was a subscriber (an abandoned Checkout never was) and it ended before this fact.
    subscriberSince: { $exists: true },
    cancelledAt: { $lt: at },
  });
  return earlier !== null;
}

function bucketId(merchantId: string, day: string, currency: string, planId: string): string {
  return `${merchantId}:${day}:${currency}:${planId}`;
}

/** Adds a fact's effect to one bucket, once: the update is guarded on the fact's absence from it. */
async function applyToBucket(merchantId: string, day: string, factId: string, change: BucketChange): Promise<void> {
  const _id = bucketId(merchantId, day, change.currency, change.planId);
  await upsertOnce(() =>
    MetricBucketModel.updateOne(
      { _id, factIds: { $ne: factId } },
      {
        $inc: change.inc,
        $push: { factIds: factId },
        $setOnInsert: { merchantId, day, month: day.slice(0, 7), currency: change.currency, planId: change.planId },
      },
      { upsert: true },
    ),
  );
}

function add(changes: BucketChange[], currency: string, planId: string, field: string, amount: number): void {
  if (amount === 0) return;
  let change = changes.find((c) => c.currency === currency && c.planId === planId);
  if (!change) {
    change = { currency, planId, inc: {} };
    changes.push(change);
  }
  change.inc[field] = (change.inc[field] ?? 0) + amount;
}

/**
 * Applies one subscription fact to the projections, once. Facts of a subscription arrive in their order
 * (the dispatcher follows each subject in sequence; a rebuild reads them in order).
 */
export async function applyFactToAnalytics(fact: Fact, logger?: Pick<Logger, 'warn'>): Promise<void> {
  if (fact.subjectType !== 'subscription' || !(ANALYTICS_FACTS as readonly string[]).includes(fact.type)) return;
  const stored = await SubscriptionMrrModel.findById(fact.subjectId).lean();
  if (stored && stored.lastSeq >= fact.seq) return;
  let before: State | undefined;
  if (stored) {
    const { _id: _ignoredId, lastSeq: _ignoredSeq, ...state } = stored;
    before = state;
  }
  const draft = nextState(before, fact);
  if (!draft) return;
  const merchant = await merchantProfile(fact.merchantId);
  const day = localDateOf(fact.at, merchant?.timezone ?? 'UTC');

  // A price the catalog does not have (never expected: prices are never removed) counts what it counted
  // before, logged; throwing would hold back every later fact of the subscription and its messages.
  const priced = await priceOf(draft);
  if (!priced) logger?.warn({ factId: fact._id, planId: draft.planId, priceId: draft.priceId }, 'analytics: price not found; MRR unchanged');
  const monthlyMinor = priced?.monthlyMinor ?? (before && before.priceId === draft.priceId ? before.monthlyMinor : 0);
  const currency = priced?.currency ?? draft.currency;
  const after: State = { ...draft, monthlyMinor, currency };
  after.mrrMinor = contribution(monthlyMinor, after.status, draft.billedBefore);
  after.billedBefore = draft.billedBefore || after.mrrMinor > 0;

  const beforeMrr = before?.mrrMinor ?? 0;
  const wasSubscriber = before?.subscriberSince !== undefined && before.status !== 'cancelled';
  const becomesSubscriber = before?.subscriberSince === undefined && SUBSCRIBER_STATUSES.includes(after.status);
  const startsMrr = beforeMrr === 0 && !(before?.billedBefore ?? false) && after.mrrMinor > 0;
  const returning = becomesSubscriber || startsMrr ? await hadCancelledBefore(after, fact.subjectId, fact.at) : false;

  const changes: BucketChange[] = [];
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

  for (const change of changes) await applyToBucket(fact.merchantId, day, fact._id, change);
  try {
    await SubscriptionMrrModel.updateOne(
      { _id: fact.subjectId, lastSeq: { $lt: fact.seq } },
      { $set: { ...after, lastSeq: fact.seq }, ...(after.lastingDiscount ? {} : { $unset: { lastingDiscount: 1 } }) },
      { upsert: true },
    );
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // applied meanwhile (a later or the same fact)
  }
}

/** A projection the rebuild drops and replays along with the MRR one (one row per projection). */
interface ReplayedProjector {
  facts: readonly FactType[];
  drop: (merchantId: string) => Promise<void>;
  apply: (fact: Fact) => Promise<void>;
}
const REPLAYED_PROJECTORS: readonly ReplayedProjector[] = [
  { facts: RETENTION_FACTS, drop: dropRetentionProjections, apply: applyFactToRetention }, // cohorts, LTV, reasons, save offers, dunning
];

/**
 * Drops a store's projections and replays its facts in order (every store when none is named): the same
 * numbers as the listeners kept. Run it with the workers stopped, or facts followed meanwhile may be applied
 * twice over the replay's shoulder — each only once, but a later fact before an earlier one is ignored.
 */
export async function rebuildAnalytics(options: { merchantId?: string } = {}): Promise<{ merchants: number; facts: number }> {
  const types = [...new Set<FactType>([...ANALYTICS_FACTS, ...REPLAYED_PROJECTORS.flatMap((p) => p.facts)])];
  const merchants = options.merchantId
    ? [options.merchantId]
    : [...new Set([...(await merchantsWithFacts(types)), ...(await merchantsWithFacts(BOX_KPI_FACTS))])].sort();
  let facts = 0;
  for (const merchantId of merchants) {
    await SubscriptionMrrModel.deleteMany({ merchantId });
    await MetricBucketModel.deleteMany({ merchantId });
    for (const projector of REPLAYED_PROJECTORS) await projector.drop(merchantId);
    for await (const fact of factsInOrder(merchantId, types)) {
      await applyFactToAnalytics(fact);
      // The other projections, after the MRR one (as their listener rows follow it).
      for (const projector of REPLAYED_PROJECTORS) if ((projector.facts as readonly string[]).includes(fact.type)) await projector.apply(fact);
      facts += 1;
    }
    await rebuildBoxKpis(merchantId); // the box-service KPIs (src/analytics/box-kpis.service.ts), from their own facts
  }
  return { merchants: merchants.length, facts };
}
