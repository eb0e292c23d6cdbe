import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import { CancellationReport, CohortReport, DunningReport, LtvReport, RetentionMetricsQuery } from './retention-metrics.schemas';
import {
  cancellationReport,
  COHORT_CSV_EMPTY,
  cohortCsvRows,
  cohortReport,
  dunningReport,
  ltvReport,
  monthlyCsvRows,
  rowsCsv,
} from './retention-metrics.service';

const RANGE = 'Months are the store’s local months; every amount stays in its currency (never summed across currencies). Definitions: docs/analytics.md.';

function csvOf(description: string) {
  return { mediaType: 'text/csv', description: `with \`format=csv\`, an attachment: ${description}; the JSON field names as the header row.` };
}

/** Answers JSON, or with `format=csv` the report's rows as CSV. */
function answer<R>(name: string, report: R, format: 'json' | 'csv', rows: (report: R) => Array<Record<string, unknown>>, whenEmpty?: string[]) {
  if (format === 'json') return { body: report };
  return {
    body: report,
    headers: { 'content-disposition': `attachment; filename="${name}.csv"` },
    text: { contentType: 'text/csv; charset=utf-8', content: rowsCsv(rows(report), whenEmpty) },
  };
}

export function retentionMetricsRoutes(deps: { clock: Clock }): RouteDefinition[] {
  const { clock } = deps;
  return [
    defineRoute({
      operationId: 'getCohortMetrics',
      method: 'get',
      path: '/metrics/cohorts',
      tag: 'Metrics',
      summary: 'Retention by the month of the first paid box',
      description: `Per currency, the cohorts whose first box was paid in a month of the range; for each month from the cohort's to the range's end: subscriptions not cancelled, subscriptions that paid a box, and what they paid; and per cohort what it paid to date (realised LTV). \`plan\` keeps subscriptions created on that plan. ${RANGE}`,
      auth: 'merchant',
      query: RetentionMetricsQuery,
      response: { status: 200, description: 'The cohort grid', schema: CohortReport, alternatives: [csvOf('one row per currency, cohort and month')] },
      handler: async ({ principal, query }) =>
        answer('cohorts', await cohortReport(clock, principal!.merchantId, query), query.format, cohortCsvRows, COHORT_CSV_EMPTY),
    }),
    defineRoute({
      operationId: 'getLtvMetrics',
      method: 'get',
      path: '/metrics/ltv',
      tag: 'Metrics',
      summary: 'Predicted LTV per month and realised LTV per cohort',
      description: `Predicted LTV = ARPA ÷ the average monthly subscriber churn of the 3 months ending with the month (null when that churn is 0); realised LTV per cohort = what it paid to date ÷ its size. ${RANGE}`,
      auth: 'merchant',
      query: RetentionMetricsQuery,
      response: {
        status: 200,
        description: 'The LTV report',
        schema: LtvReport,
        alternatives: [csvOf('one row per currency and month (predicted LTV; the realised LTV per cohort is in the cohorts CSV)')],
      },
      handler: async ({ principal, query }) => answer('ltv', await ltvReport(clock, principal!.merchantId, query), query.format, monthlyCsvRows),
    }),
    defineRoute({
      operationId: 'getCancellationMetrics',
      method: 'get',
      path: '/metrics/cancellations',
      tag: 'Metrics',
      summary: 'Why subscribers leave: cancellations by reason, save offers, saved subscribers 90 days on',
      description: `Per month: cancellations (voluntary and involuntary) by reason; save offers shown and accepted; subscriptions saved that month, and of those saved 90 days ago or more, how many were not cancelled 90 days after. Save offers shown are those of the shopper portal's cancel flow. ${RANGE}`,
      auth: 'merchant',
      query: RetentionMetricsQuery,
      response: {
        status: 200,
        description: 'The cancellation report',
        schema: CancellationReport,
        alternatives: [csvOf('one row per currency and month, a `reasons.<code>` column per reason')],
      },
      handler: async ({ principal, query }) =>
        answer('cancellations', await cancellationReport(clock, principal!.merchantId, query), query.format, monthlyCsvRows),
    }),
    defineRoute({
      operationId: 'getDunningMetrics',
      method: 'get',
      path: '/metrics/dunning',
      tag: 'Metrics',
      summary: 'Dunning recovery per month, by attempt',
      description: `Per month: dunnings started, failed attempts, dunnings recovered (counted in the month of recovery) by the number of failed attempts before the payment, and dunnings ended unpaid; recovery rate = recovered ÷ started. ${RANGE}`,
      auth: 'merchant',
      query: RetentionMetricsQuery,
      response: {
        status: 200,
        description: 'The dunning report',
        schema: DunningReport,
        alternatives: [csvOf('one row per currency and month, a `recoveredByAttempt.<n>` column per attempt')],
      },
      handler: async ({ principal, query }) => answer('dunning', await dunningReport(clock, principal!.merchantId, query), query.format, monthlyCsvRows),
    }),
  ];
}
