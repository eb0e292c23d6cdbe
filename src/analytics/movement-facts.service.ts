import type { Fact } from '../events/fact.model';
import { findFact } from '../events/timeline.service';
import { MetricBucketModel, type BucketMovements } from './analytics.model';

/**
 * What lies behind a month's MRR movements: the store's daily buckets of that month (per plan), each with the
 * MRR it moved per kind and the facts applied to it. The projection keeps which facts moved a bucket, not how
 * much each fact moved by itself: a day with one fact attributes its movement exactly; a day with several says
 * what they moved together. Reads the buckets of one month (by the `merchantId, day` index) and at most
 * `MAX_FACTS` facts by id.
 */
export const MAX_FACTS = 200;

export interface MovementDay {
  day: string;
  planId: string;
  mrr: BucketMovements;
  facts: Fact[];
}

export interface MonthMovements {
  days: MovementDay[];
  /** More facts were behind the month than are listed. */
  truncated: boolean;
}

export async function movementsBehindMonth(merchantId: string, month: string, filter: { currency: string; plan?: string }): Promise<MonthMovements> {
  const buckets = await MetricBucketModel.find({
    merchantId,
    day: { $gte: `${month}-01`, $lte: `${month}-31` },
    currency: filter.currency,
    ...(filter.plan ? { planId: filter.plan } : {}),
  })
    .sort({ day: 1, planId: 1 })
    .lean();
  let budget = MAX_FACTS;
  let truncated = false;
  const days: MovementDay[] = [];
  for (const bucket of buckets) {
    const moved = Object.values(bucket.mrr ?? {}).some((v) => v !== 0);
    if (!moved) continue;
    const ids = bucket.factIds.slice(0, Math.max(0, budget));
    if (ids.length < bucket.factIds.length) truncated = true;
    budget -= ids.length;
    const facts = (await Promise.all(ids.map((id) => findFact(merchantId, id)))).filter((f): f is Fact => f !== undefined);
    days.push({ day: bucket.day, planId: bucket.planId, mrr: bucket.mrr, facts });
  }
  return { days, truncated };
}
