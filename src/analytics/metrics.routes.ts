import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import { ChurnReport, MetricsQuery, MrrReport, SubscriberReport } from './metrics.schemas';
import { churnReport, metricsCsv, mrrReport, subscriberReport } from './metrics.service';

const CSV = {
  mediaType: 'text/csv',
  description: 'with `format=csv`, an attachment: one row per currency and month, the JSON field names as the header row.',
};

/** Answers JSON, or with `format=csv` the same report as CSV. */
function answer<R extends { currencies: Array<{ currency: string; months: Array<Record<string, unknown>> }> }>(
  name: string,
  report: R,
  format: 'json' | 'csv',
) {
  if (format === 'json') return { body: report };
  return {
    body: report,
    headers: { 'content-disposition': `attachment; filename="${name}.csv"` },
    text: { contentType: 'text/csv; charset=utf-8', content: metricsCsv(report) },
  };
}

const RANGE = 'Months are the store’s local months; every amount stays in its currency (never summed across currencies). Definitions: docs/analytics.md.';

export function metricsRoutes(deps: { clock: Clock }): RouteDefinition[] {
  const { clock } = deps;
  return [
    defineRoute({
      operationId: 'getMrrMetrics',
      method: 'get',
      path: '/metrics/mrr',
      tag: 'Metrics',
      summary: 'MRR now and its movements per month',
      description: `MRR per currency now, and per month of the range: MRR at the start, new, expansion, contraction, churn, reactivation, paused and resumed MRR, and at the end. ${RANGE}`,
      auth: 'merchant',
      query: MetricsQuery,
      response: { status: 200, description: 'The MRR report', schema: MrrReport, alternatives: [CSV] },
      handler: async ({ principal, query }) => answer('mrr', await mrrReport(clock, principal!.merchantId, query), query.format),
    }),
    defineRoute({
      operationId: 'getSubscriberMetrics',
      method: 'get',
      path: '/metrics/subscribers',
      tag: 'Metrics',
      summary: 'Subscribers now by status, and new and cancelled per month',
      description: `Active, trialing, past-due and paused subscribers now, per currency; per month, subscribers at the start, new (and of those, returning shoppers), cancelled and at the end. ${RANGE}`,
      auth: 'merchant',
      query: MetricsQuery,
      response: { status: 200, description: 'The subscriber report', schema: SubscriberReport, alternatives: [CSV] },
      handler: async ({ principal, query }) => answer('subscribers', await subscriberReport(clock, principal!.merchantId, query), query.format),
    }),
    defineRoute({
      operationId: 'getChurnMetrics',
      method: 'get',
      path: '/metrics/churn',
      tag: 'Metrics',
      summary: 'Subscriber and MRR churn per month',
      description: `Per month: subscriber churn (voluntary and involuntary, counted when dunning ends unpaid), gross and net MRR churn rates against the start of the month. A subscription that starts and ends in the same month counts as new and cancelled but not in the rates. ${RANGE}`,
      auth: 'merchant',
      query: MetricsQuery,
      response: { status: 200, description: 'The churn report', schema: ChurnReport, alternatives: [CSV] },
      handler: async ({ principal, query }) => answer('churn', await churnReport(clock, principal!.merchantId, query), query.format),
    }),
  ];
}
