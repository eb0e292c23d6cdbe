import type { Listener } from '../events/dispatcher.service';
import { applyFactToBoxKpis } from './box-kpis.service';

/** Keeps the box-service KPIs (shipping, fill per SKU, ratings, gifts, time to the first box) from a fact; idempotent. */
export const projectBoxKpis: Listener = {
  name: 'analytics.project-box-kpis',
  run: (_deps, fact) => applyFactToBoxKpis(fact),
};
