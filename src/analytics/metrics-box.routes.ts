import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import { boxServiceReport, giftCostReport, loyaltyLiabilityReport, rowsCsv, skuFillReport } from './box-kpis.reports';
import {
  BoxServiceMonth,
  BoxServiceQuery,
  BoxServiceReport,
  GiftCampaignCost,
  GiftCostQuery,
  GiftCostReport,
  LoyaltyLiabilityQuery,
  LoyaltyLiabilityReport,
  SkuFill,
  SkuFillReport,
} from './box-kpis.schemas';

const csv = (rows: string) => ({
  mediaType: 'text/csv',
  description: `with \`format=csv\`, an attachment: one row per ${rows}, the JSON field names as the header row.`,
});

/** Answers JSON, or with `format=csv` the report's rows as CSV. */
function answer<R>(name: string, report: R, format: 'json' | 'csv', rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]) {
  if (format === 'json') return { body: report };
  return {
    body: report,
    headers: { 'content-disposition': `attachment; filename="${name}.csv"` },
    text: { contentType: 'text/csv; charset=utf-8', content: rowsCsv(rows, columns) },
  };
}

const RANGE = 'Months are the store’s local months (default: the 12 months to this month; at most 36). Definitions: docs/analytics.md, “Box service”.';

export function boxMetricsRoutes(deps: { clock: Clock }): RouteDefinition[] {
  const { clock } = deps;
  return [
    defineRoute({
      operationId: 'getBoxServiceMetrics',
      method: 'get',
      path: '/metrics/box-service',
      tag: 'Metrics',
      summary: 'Shipping on time, box ratings and time to the first box, per month',
      description: `Per month: boxes shipped on or before their promised ship date (in the store’s time zone) and late; boxes delivered, rated and their average rating; subscriptions made and the median and 90th-percentile local days to their first box shipped. ${RANGE}`,
      auth: 'merchant',
      query: BoxServiceQuery,
      response: { status: 200, description: 'The box-service report', schema: BoxServiceReport, alternatives: [csv('month')] },
      handler: async ({ principal, query }) => {
        const report = await boxServiceReport(clock, principal!.merchantId, query);
        return answer('box-service', report, query.format, report.months, Object.keys(BoxServiceMonth.shape));
      },
    }),
    defineRoute({
      operationId: 'getSkuFillMetrics',
      method: 'get',
      path: '/metrics/box-service/skus',
      tag: 'Metrics',
      summary: 'Fill, substitution and out-of-stock rates per SKU',
      description: `Per SKU, over the range: units asked for in boxes built at their cut-off, sent as chosen, substituted or not sent, and the rates; units back-ordered at payment apart. ${RANGE}`,
      auth: 'merchant',
      query: BoxServiceQuery,
      response: { status: 200, description: 'The fill report', schema: SkuFillReport, alternatives: [csv('SKU')] },
      handler: async ({ principal, query }) => {
        const report = await skuFillReport(clock, principal!.merchantId, query);
        return answer('sku-fill', report, query.format, report.skus, Object.keys(SkuFill.shape));
      },
    }),
    defineRoute({
      operationId: 'getGiftCostMetrics',
      method: 'get',
      path: '/metrics/box-service/gifts',
      tag: 'Metrics',
      summary: 'Surprise gifts and their cost per campaign',
      description: `Per gift campaign, over the range: gifts granted, delivered and given back, and their cost in the campaign’s currency (never summed across currencies). ${RANGE}`,
      auth: 'merchant',
      query: GiftCostQuery,
      response: { status: 200, description: 'The gift report', schema: GiftCostReport, alternatives: [csv('campaign')] },
      handler: async ({ principal, query }) => {
        const report = await giftCostReport(clock, principal!.merchantId, query);
        return answer('gift-cost', report, query.format, report.campaigns, Object.keys(GiftCampaignCost.shape));
      },
    }),
    defineRoute({
      operationId: 'getLoyaltyLiabilityMetrics',
      method: 'get',
      path: '/metrics/box-service/loyalty-liability',
      tag: 'Metrics',
      summary: 'Loyalty points and credit outstanding now',
      description:
        'Points not yet redeemed nor expired, and credit not yet applied to a box, that the store’s shoppers hold now, per currency. Read from the loyalty ledger. Definitions: docs/analytics.md, “Box service”.',
      auth: 'merchant',
      query: LoyaltyLiabilityQuery,
      response: { status: 200, description: 'The loyalty liability', schema: LoyaltyLiabilityReport, alternatives: [csv('currency')] },
      handler: async ({ principal, query }) => {
        const report = await loyaltyLiabilityReport(principal!.merchantId, query);
        return answer('loyalty-liability', report, query.format, report.currencies, ['currency', 'points', 'creditMinor']);
      },
    }),
  ];
}
