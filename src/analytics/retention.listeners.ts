import type { Listener } from '../events/dispatcher.service';
import { applyFactToRetention } from './retention-projection.service';

/** Keeps the retention projections (cohorts, reasons for leaving, save offers, dunning) from a fact; idempotent. */
export const projectRetentionMetrics: Listener = {
  name: 'analytics.project-retention-metrics',
  run: (_deps, fact) => applyFactToRetention(fact),
};
