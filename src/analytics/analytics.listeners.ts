import type { Listener } from '../events/dispatcher.service';
import { applyFactToAnalytics } from './analytics-projection.service';

/** Keeps the analytics projections (MRR per subscription, daily buckets) from a subscription's fact; idempotent. */
export const projectSubscriptionMetrics: Listener = {
  name: 'analytics.project-subscription-metrics',
  run: (deps, fact) => applyFactToAnalytics(fact, deps.logger),
};
