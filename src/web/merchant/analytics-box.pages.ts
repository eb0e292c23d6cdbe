import { Router, type Request, type Response } from 'express';
import { boxServiceReport, giftCostReport, loyaltyLiabilityReport, rowsCsv, skuFillReport } from '../../analytics/box-kpis.reports';
import { BoxServiceMonth, GiftCampaignCost, SkuFill, type BoxServiceReport } from '../../analytics/box-kpis.schemas';
import { getGiftCampaign } from '../../gifts/gift-campaign.service';
import type { Clock } from '../../shared/time';
import { localeOf, money } from '../shop/shop-view';
import { count, decimal, monthLong, monthShort, percent, readAnalyticsPage, sendAnalyticsCsv } from './analytics-view';
import { lineChart } from './charts/charts';
import { demoNote } from './demo-note';
import { requireMerchant, signedInMerchant } from './merchant-session';

/**
 * The box service's figures (`/merchant/analytics/box-service`): shipping on time, fill per SKU, time to the
 * first box, ratings, gifts per campaign and loyalty liability — the same services as
 * `GET /api/v1/metrics/box-service*`, for a range of the store's local months (the liability is now). Amounts
 * stay in their currency (a campaign's, the loyalty programme's), never summed across currencies.
 */

/** The definitions shown beside the numbers: docs/analytics.md, “Box service”, shortened. */
export const BOX_DEFINITIONS = {
  onTime:
    'On-time ship rate: boxes shipped on or before their promised ship date (the local day, in your time zone) ÷ boxes shipped that month. Days late: the average of the late boxes.',
  fill: 'Per SKU the shopper chose, the units asked for when boxes were built at their cut-off: filled (sent as chosen), substituted (another variant sent), out of stock (left out, or the box skipped). Back-ordered units (boxes made at payment, not on hand) are apart and not in the rates.',
  firstBox:
    'Days from sign-up to the first box shipped, per month of sign-up: the median and the 90th percentile, over the subscriptions whose first box has shipped.',
  ratings:
    'Per month of delivery: boxes delivered (each is asked for a rating), rated so far, the response rate (rated ÷ delivered) and the average of the boxes’ latest ratings, 1 to 5.',
  gifts:
    'Per gift campaign, in its own currency: gifts granted, delivered and given back (box cancelled, out of stock, not in the box); cost = granted × unit cost − the gifts given back.',
  liability: 'What your shoppers hold now: loyalty points not yet redeemed nor expired, and credit not yet applied to a box, per currency.',
} as const;

function monthsView(report: BoxServiceReport, locale: string) {
  const labels = report.months.map((m) => monthShort(m.month, locale));
  const c = (v: number) => count(v, locale);
  return {
    chart: lineChart({
      id: 'chart-on-time',
      title: 'On-time ship rate and rating response rate per month',
      desc: 'For each month, the share of boxes shipped on or before their promised date, and the share of delivered boxes rated; a gap where nothing shipped or was delivered. The tables below have every figure.',
      format: (v) => percent(v, locale),
      labels,
      series: [
        { name: 'On time', values: report.months.map((m) => m.onTimeRate) },
        { name: 'Rated', values: report.months.map((m) => m.ratingResponseRate) },
      ],
    }),
    rows: report.months.map((m) => ({
      month: monthLong(m.month, locale),
      shipped: c(m.shipped),
      onTime: c(m.shippedOnTime),
      late: c(m.shippedLate),
      onTimeRate: percent(m.onTimeRate, locale),
      daysLate: decimal(m.averageDaysLate, locale),
      delivered: c(m.delivered),
      rated: c(m.rated),
      responseRate: percent(m.ratingResponseRate, locale),
      rating: decimal(m.averageRating, locale),
      signedUp: c(m.signedUp),
      firstShipped: c(m.firstBoxShipped),
      median: decimal(m.medianDaysToFirstBox, locale),
      p90: decimal(m.p90DaysToFirstBox, locale),
    })),
  };
}

export function analyticsBoxPages(deps: { clock: Clock }): Router {
  const router = Router();
  const { clock } = deps;

  router.get('/merchant/analytics/box-service', requireMerchant, demoNote, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const locale = localeOf(req);
    const read = await readAnalyticsPage(
      res,
      { key: 'box-service', view: 'merchant/analytics/box-service', title: 'Box service', merchantId: me.merchantId, query: req.query },
      async (scope) => {
        const query = { ...(scope.from ? { from: scope.from } : {}), ...(scope.to ? { to: scope.to } : {}), format: 'json' as const };
        const months = await boxServiceReport(clock, me.merchantId, query);
        const [skus, gifts, liability] = await Promise.all([
          skuFillReport(clock, me.merchantId, query),
          giftCostReport(clock, me.merchantId, query),
          loyaltyLiabilityReport(me.merchantId, { format: 'json' }),
        ]);
        return { from: months.from, to: months.to, timezone: months.timezone, months, skus, gifts, liability };
      },
    );
    if (!read) return;
    const { months, skus, gifts, liability } = read.report;
    const page = { ...read.page, definitions: BOX_DEFINITIONS };
    const shippedOrRated = months.months.some((m) => m.shipped || m.delivered || m.signedUp);
    if (!shippedOrRated && skus.skus.length === 0 && gifts.campaigns.length === 0 && liability.currencies.length === 0)
      return res.render('merchant/analytics/box-service', {
        ...page,
        report: null,
        empty: 'No boxes built, shipped or rated in these months, no gifts and no loyalty balances: figures appear after the first box ships.',
      });
    const names = new Map<string, string>();
    for (const id of new Set(gifts.campaigns.map((c) => c.campaignId))) {
      const campaign = await getGiftCampaign(me.merchantId, id).catch(() => null);
      if (campaign) names.set(id, campaign.name);
    }
    const c = (v: number) => count(v, locale);
    res.render('merchant/analytics/box-service', {
      ...page,
      empty: null,
      report: {
        range: `${monthLong(months.from, locale)} to ${monthLong(months.to, locale)}`,
        csv: {
          months: read.csv('box-service'),
          skus: read.csv('box-service-skus'),
          gifts: read.csv('gifts'),
          liability: '/merchant/analytics/loyalty-liability.csv',
        },
        months: shippedOrRated ? monthsView(months, locale) : null,
        skus: skus.skus.map((s) => ({
          sku: s.sku,
          requested: c(s.requestedUnits),
          filled: c(s.filledUnits),
          substituted: c(s.substitutedUnits),
          outOfStock: c(s.outOfStockUnits),
          fillRate: percent(s.fillRate, locale),
          substitutionRate: percent(s.substitutionRate, locale),
          outOfStockRate: percent(s.outOfStockRate, locale),
          backOrdered: c(s.backOrderedUnits),
        })),
        gifts: gifts.campaigns.map((g) => ({
          name: names.get(g.campaignId) ?? 'A campaign no longer listed',
          href: `/merchant/retention/gifts/${g.campaignId}`,
          currency: g.currency,
          granted: c(g.granted),
          delivered: c(g.delivered),
          returned: c(g.returned),
          cost: money(g.costMinor, g.currency, locale),
          grantedCost: money(g.grantedCostMinor, g.currency, locale),
          returnedCost: money(g.returnedCostMinor, g.currency, locale),
        })),
        liability: liability.currencies.map((l) => ({ currency: l.currency, points: c(l.points), credit: money(l.creditMinor, l.currency, locale) })),
      },
    });
  });

  // The CSVs: the API's reports and rows (src/analytics/metrics-box.routes.ts), through the merchant's session.
  const csv = <R>(
    path: string,
    file: string,
    load: (merchantId: string, scope: { from?: string; to?: string }) => Promise<R>,
    rows: (r: R) => { rows: ReadonlyArray<Record<string, unknown>>; columns: readonly string[] },
  ) =>
    router.get(`/merchant/analytics/${path}.csv`, requireMerchant, async (req: Request, res: Response) => {
      const me = signedInMerchant(res);
      await sendAnalyticsCsv(
        res,
        { key: 'box-service', view: 'merchant/analytics/box-service', title: 'Box service', merchantId: me.merchantId, query: req.query, file },
        (scope) => load(me.merchantId, { ...(scope.from ? { from: scope.from } : {}), ...(scope.to ? { to: scope.to } : {}) }),
        (r) => {
          const { rows: list, columns } = rows(r);
          return { body: rowsCsv(list, columns), empty: false };
        },
      );
    });
  csv(
    'box-service',
    'box-service',
    (merchantId, scope) => boxServiceReport(clock, merchantId, { ...scope, format: 'csv' }),
    (r) => ({ rows: r.months, columns: Object.keys(BoxServiceMonth.shape) }),
  );
  csv(
    'box-service-skus',
    'sku-fill',
    (merchantId, scope) => skuFillReport(clock, merchantId, { ...scope, format: 'csv' }),
    (r) => ({ rows: r.skus, columns: Object.keys(SkuFill.shape) }),
  );
  csv(
    'gifts',
    'gift-cost',
    (merchantId, scope) => giftCostReport(clock, merchantId, { ...scope, format: 'csv' }),
    (r) => ({ rows: r.campaigns, columns: Object.keys(GiftCampaignCost.shape) }),
  );
  // The liability is now: it takes no months (a range in the address is refused, as the API refuses it).
  router.get('/merchant/analytics/loyalty-liability.csv', requireMerchant, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    if (Object.keys(req.query ?? {}).length > 0)
      return void res.status(400).type('text/plain; charset=utf-8').send('The loyalty liability is now: it takes no months or other choices.');
    const report = await loyaltyLiabilityReport(me.merchantId, { format: 'csv' });
    res
      .set('content-disposition', 'attachment; filename="loyalty-liability.csv"')
      .type('text/csv; charset=utf-8')
      .send(rowsCsv(report.currencies, ['currency', 'points', 'creditMinor']));
  });

  return router;
}
