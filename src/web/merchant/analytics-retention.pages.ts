import { Router, type Request, type Response } from 'express';
import type { CancellationReport, CohortReport, DunningReport, LtvReport, RetentionMetricsQuery } from '../../analytics/retention-metrics.schemas';
import {
  cancellationReport,
  COHORT_CSV_EMPTY,
  cohortCsvRows,
  cohortReport,
  dunningReport,
  ltvReport,
  monthlyCsvRows,
  rowsCsv,
} from '../../analytics/retention-metrics.service';
import type { Clock } from '../../shared/time';
import { localeOf, money } from '../shop/shop-view';
import { count, monthLong, monthShort, percent, readAnalyticsPage, sendAnalyticsCsv } from './analytics-view';
import { barChart, lineChart } from './charts/charts';
import { shadeOf } from './charts/cohort-grid';
import { demoNote } from './demo-note';
import { requireMerchant, signedInMerchant } from './merchant-session';

/**
 * The analytics pages of who stays and who leaves (`/merchant/analytics/cohorts`, `/ltv`, `/leaving`,
 * `/dunning`): the same services as `GET /api/v1/metrics/cohorts|ltv|cancellations|dunning`, one currency at a
 * time, each number with its definition (docs/analytics.md), a table always, a chart where it helps, and the
 * API's CSV through the merchant's session (`/merchant/analytics/<family>.csv`).
 */

/** The definitions shown beside the numbers: docs/analytics.md, shortened. */
export const RETENTION_DEFINITIONS = {
  cohort: 'A subscription’s cohort is the month of its first paid box (in your time zone); a subscription never paid is in no cohort.',
  retained:
    'Subscribers retained: the cohort’s subscriptions not cancelled by the end of the month (active, paused or past due all count), and their share of the cohort.',
  revenue:
    'Revenue retained: what the cohort’s boxes paid that month (after discounts and credit, with shipping and tax; refunds not taken off), and its share of what they paid in the first month.',
  arpa: 'ARPA: MRR at the end of the month ÷ subscribers at the end of the month (paused and trialing subscribers are accounts, so they count).',
  trailingChurn:
    'Trailing churn: subscribers cancelled in the 3 months ending with the month ÷ the subscribers at the start of each of those months, added up.',
  predicted: 'Predicted LTV = ARPA ÷ trailing churn. None when nobody left in the window (a lifetime with no end in sight is not a number).',
  realised: 'Realised LTV of a cohort: everything its boxes have paid to date ÷ the cohort’s size.',
  cancellations:
    'Cancellations by reason, on the day the subscription ended. Voluntary: by the shopper or the store. Involuntary: dunning ended unpaid (“Payment failed”).',
  saves:
    'Save offers shown: in the cancel flow of the shopper portal. Accepted: the discount, or a skip or pause taken as the offer. Saved: subscriptions first saved that month; still there after 90 days: not cancelled on or before the 90th day (counted once 90 days have passed).',
  recovery:
    'Recovery rate: dunnings recovered this month ÷ dunnings started this month (it can pass 100% when many recover from earlier months). Of those ended: recovered ÷ (recovered + ended unpaid).',
  byAttempt: 'By attempt: each recovery under the number of failed payments before the one that paid.',
} as const;

/** A reason code as a person reads it: `too_expensive` → “Too expensive”. */
function reasonLabel(code: string): string {
  if (code === 'payment_failed') return 'Payment failed';
  if (code === 'stripe') return 'Cancelled in Stripe';
  const words = code.replace(/[_-]+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : code;
}

type CohortCurrency = CohortReport['currencies'][number];

function cohortGrids(entry: CohortCurrency, currency: string, locale: string) {
  const width = Math.max(0, ...entry.cohorts.map((c) => c.months.length));
  const offsets = Array.from({ length: width }, (_, i) => i);
  const fmt = (v: number) => money(v, currency, locale);
  return {
    offsets: offsets.map((o) => (o === 0 ? 'First month' : `Month ${o}`)),
    subscribers: entry.cohorts.map((c) => ({
      cohort: monthLong(c.cohort, locale),
      size: count(c.size, locale),
      cells: offsets.map((o) => {
        const m = c.months[o];
        if (!m) return null;
        return { count: count(m.active, locale), share: percent(m.activeRate, locale), shade: shadeOf(m.activeRate), month: monthLong(m.month, locale) };
      }),
    })),
    revenue: entry.cohorts.map((c) => {
      const first = c.months[0]?.revenueMinor ?? 0;
      return {
        cohort: monthLong(c.cohort, locale),
        size: count(c.size, locale),
        cells: offsets.map((o) => {
          const m = c.months[o];
          if (!m) return null;
          const share = first > 0 ? m.revenueMinor / first : null;
          return { amount: fmt(m.revenueMinor), share: percent(share === null ? null : Math.round(share * 10000) / 10000, locale), shade: shadeOf(share) };
        }),
      };
    }),
  };
}

function ltvView(entry: LtvReport['currencies'][number], currency: string, locale: string) {
  const fmt = (v: number | null) => (v === null ? '—' : money(v, currency, locale));
  const labels = entry.months.map((m) => monthShort(m.month, locale));
  return {
    chart: lineChart({
      id: 'chart-ltv',
      title: `Predicted LTV in ${currency} per month`,
      desc: 'Predicted lifetime value at the end of each month (ARPA ÷ trailing churn); a gap where nobody left in the window. The table below has every figure and its inputs.',
      format: (v) => money(v, currency, locale),
      labels,
      series: [
        { name: 'Predicted LTV', values: entry.months.map((m) => m.predictedLtvMinor) },
        { name: 'ARPA', values: entry.months.map((m) => m.arpaMinor) },
      ],
    }),
    months: entry.months.map((m) => ({
      month: monthLong(m.month, locale),
      mrr: fmt(m.mrrMinor),
      subscribers: count(m.subscribers, locale),
      arpa: fmt(m.arpaMinor),
      cancelled: count(m.trailingCancelled, locale),
      atStart: count(m.trailingSubscribersAtStart, locale),
      churn: percent(m.trailingChurnRate, locale),
      predicted: m.predictedLtvMinor === null ? 'None' : fmt(m.predictedLtvMinor),
    })),
    cohorts: entry.cohorts.map((c) => ({
      cohort: monthLong(c.cohort, locale),
      size: count(c.size, locale),
      paid: fmt(c.revenueToDateMinor),
      realised: fmt(c.realisedLtvMinor),
    })),
  };
}

function leavingView(entry: CancellationReport['currencies'][number], locale: string) {
  const codes = [...new Set(entry.months.flatMap((m) => Object.keys(m.reasons)))].sort((a, b) =>
    a === 'payment_failed' ? 1 : b === 'payment_failed' ? -1 : a.localeCompare(b),
  );
  const labels = entry.months.map((m) => monthShort(m.month, locale));
  return {
    reasons: codes.map(reasonLabel),
    chart: barChart({
      id: 'chart-reasons',
      integers: true,
      title: 'Cancellations per month, by reason',
      desc: 'For each month, the subscriptions cancelled, stacked by the reason given. The table below has every figure.',
      format: (v) => count(v, locale),
      labels,
      series: codes.map((code) => ({ name: reasonLabel(code), direction: 'up' as const, values: entry.months.map((m) => m.reasons[code] ?? 0) })),
    }),
    months: entry.months.map((m) => ({
      month: monthLong(m.month, locale),
      cancelled: count(m.cancelled, locale),
      voluntary: count(m.voluntary, locale),
      involuntary: count(m.involuntary, locale),
      reasons: codes.map((code) => count(m.reasons[code] ?? 0, locale)),
      shown: count(m.saveOffersShown, locale),
      accepted: count(m.saveOffersAccepted, locale),
      saved: count(m.saved, locale),
      matured: count(m.savedMatured, locale),
      stillActive: count(m.savedStillActiveAfter90Days, locale),
      stillActiveShare: m.savedMatured > 0 ? percent(Math.round((m.savedStillActiveAfter90Days / m.savedMatured) * 10000) / 10000, locale) : '—',
    })),
  };
}

function dunningView(entry: DunningReport['currencies'][number], locale: string) {
  const attempts = [...new Set(entry.months.flatMap((m) => Object.keys(m.recoveredByAttempt)))].sort((a, b) => Number(a) - Number(b));
  const labels = entry.months.map((m) => monthShort(m.month, locale));
  const attemptName = (a: string) => (a === '1' ? 'After 1 failure' : `After ${a} failures`);
  return {
    attempts: attempts.map(attemptName),
    rates: lineChart({
      id: 'chart-recovery',
      title: 'Dunning recovery rate per month',
      desc: 'For each month, dunnings recovered ÷ dunnings started, and of the dunnings that ended, the share recovered; a gap where there was nothing to divide by. The table below has every figure.',
      format: (v) => percent(v, locale),
      labels,
      series: [
        { name: 'Recovery rate', values: entry.months.map((m) => m.recoveryRate) },
        { name: 'Of those ended', values: entry.months.map((m) => m.resolvedRecoveryRate) },
      ],
    }),
    byAttempt: barChart({
      id: 'chart-recovery-attempts',
      integers: true,
      title: 'Dunnings recovered per month, by attempt',
      desc: 'For each month, the dunnings recovered, stacked by the number of failed payments before the one that paid. The table below has every figure.',
      format: (v) => count(v, locale),
      labels,
      series: attempts.map((a) => ({ name: attemptName(a), direction: 'up' as const, values: entry.months.map((m) => m.recoveredByAttempt[a] ?? 0) })),
    }),
    months: entry.months.map((m) => ({
      month: monthLong(m.month, locale),
      started: count(m.started, locale),
      failed: count(m.failedAttempts, locale),
      recovered: count(m.recovered, locale),
      unpaid: count(m.endedUnpaid, locale),
      rate: percent(m.recoveryRate, locale),
      resolved: percent(m.resolvedRecoveryRate, locale),
      byAttempt: attempts.map((a) => count(m.recoveredByAttempt[a] ?? 0, locale)),
    })),
  };
}

const noneYet = 'No subscriptions yet: figures appear after the first paid box.';
const noneHere = (currency: string, plan: string | undefined) =>
  `No figures in ${currency} for these months${plan ? ' and this plan' : ''}. Choose other months or another currency.`;

export function analyticsRetentionPages(deps: { clock: Clock }): Router {
  const router = Router();
  const { clock } = deps;

  router.get('/merchant/analytics/cohorts', requireMerchant, demoNote, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const locale = localeOf(req);
    const read = await readAnalyticsPage(
      res,
      { key: 'cohorts', view: 'merchant/analytics/cohorts', title: 'Cohorts', merchantId: me.merchantId, query: req.query },
      (scope) => cohortReport(clock, me.merchantId, { ...scope, format: 'json' }),
      (r) => r.currencies.map((c) => c.currency),
    );
    if (!read) return;
    const entry = read.report.currencies.find((c) => c.currency === read.currency);
    const page = { ...read.page, definitions: RETENTION_DEFINITIONS };
    if (!read.currency || !entry || entry.cohorts.length === 0)
      return res.render('merchant/analytics/cohorts', {
        ...page,
        report: null,
        empty: read.currency && read.report.currencies.length ? noneHere(read.currency, read.scope.plan) : noneYet,
      });
    res.render('merchant/analytics/cohorts', {
      ...page,
      empty: null,
      report: {
        currency: read.currency,
        range: `${monthLong(read.report.from, locale)} to ${monthLong(read.report.to, locale)}`,
        csv: read.csv('cohorts'),
        ...cohortGrids(entry, read.currency, locale),
      },
    });
  });

  router.get('/merchant/analytics/ltv', requireMerchant, demoNote, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const locale = localeOf(req);
    const read = await readAnalyticsPage(
      res,
      { key: 'ltv', view: 'merchant/analytics/ltv', title: 'Lifetime value', merchantId: me.merchantId, query: req.query },
      (scope) => ltvReport(clock, me.merchantId, { ...scope, format: 'json' }),
      (r) => r.currencies.map((c) => c.currency),
    );
    if (!read) return;
    const entry = read.report.currencies.find((c) => c.currency === read.currency);
    const page = { ...read.page, definitions: RETENTION_DEFINITIONS };
    const quiet = !entry || (entry.cohorts.length === 0 && entry.months.every((m) => m.subscribers === 0 && m.trailingCancelled === 0));
    if (!read.currency || quiet)
      return res.render('merchant/analytics/ltv', {
        ...page,
        report: null,
        empty: read.currency && read.report.currencies.length ? noneHere(read.currency, read.scope.plan) : noneYet,
      });
    res.render('merchant/analytics/ltv', {
      ...page,
      empty: null,
      report: {
        currency: read.currency,
        range: `${monthLong(read.report.from, locale)} to ${monthLong(read.report.to, locale)}`,
        method: read.report.method,
        windowMonths: read.report.windowMonths,
        csv: { ltv: read.csv('ltv'), cohorts: read.csv('cohorts') },
        ...ltvView(entry, read.currency, locale),
      },
    });
  });

  router.get('/merchant/analytics/leaving', requireMerchant, demoNote, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const locale = localeOf(req);
    const read = await readAnalyticsPage(
      res,
      { key: 'leaving', view: 'merchant/analytics/leaving', title: 'Why they leave', merchantId: me.merchantId, query: req.query },
      (scope) => cancellationReport(clock, me.merchantId, { ...scope, format: 'json' }),
      (r) => r.currencies.map((c) => c.currency),
    );
    if (!read) return;
    const entry = read.report.currencies.find((c) => c.currency === read.currency);
    const page = { ...read.page, definitions: RETENTION_DEFINITIONS };
    const quiet = !entry || entry.months.every((m) => m.cancelled === 0 && m.saveOffersShown === 0 && m.saveOffersAccepted === 0 && m.saved === 0);
    if (!read.currency || quiet) {
      const empty = read.currency
        ? `Nobody left and no save offer was shown in ${read.currency} in these months${read.scope.plan ? ' on this plan' : ''}.`
        : noneYet;
      return res.render('merchant/analytics/leaving', { ...page, report: null, empty });
    }
    res.render('merchant/analytics/leaving', {
      ...page,
      empty: null,
      report: {
        currency: read.currency,
        range: `${monthLong(read.report.from, locale)} to ${monthLong(read.report.to, locale)}`,
        csv: read.csv('cancellations'),
        ...leavingView(entry, locale),
      },
    });
  });

  router.get('/merchant/analytics/dunning', requireMerchant, demoNote, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const locale = localeOf(req);
    const read = await readAnalyticsPage(
      res,
      { key: 'dunning', view: 'merchant/analytics/dunning', title: 'Dunning', merchantId: me.merchantId, query: req.query },
      (scope) => dunningReport(clock, me.merchantId, { ...scope, format: 'json' }),
      (r) => r.currencies.map((c) => c.currency),
    );
    if (!read) return;
    const entry = read.report.currencies.find((c) => c.currency === read.currency);
    const page = { ...read.page, definitions: RETENTION_DEFINITIONS };
    const quiet = !entry || entry.months.every((m) => m.started === 0 && m.failedAttempts === 0 && m.recovered === 0 && m.endedUnpaid === 0);
    if (!read.currency || quiet) {
      const empty = read.currency
        ? `No payment failed in ${read.currency} in these months${read.scope.plan ? ' on this plan' : ''}: nothing to recover.`
        : noneYet;
      return res.render('merchant/analytics/dunning', { ...page, report: null, empty });
    }
    res.render('merchant/analytics/dunning', {
      ...page,
      empty: null,
      report: {
        currency: read.currency,
        range: `${monthLong(read.report.from, locale)} to ${monthLong(read.report.to, locale)}`,
        csv: read.csv('dunning'),
        ...dunningView(entry, locale),
      },
    });
  });

  // The CSV of each family: the API's report and rows (src/analytics/metrics-retention.routes.ts), through the session.
  const csvRoute = <R extends { currencies: unknown[] }>(
    family: string,
    key: 'cohorts' | 'ltv' | 'leaving' | 'dunning',
    report: (clock: Clock, merchantId: string, query: RetentionMetricsQuery) => Promise<R>,
    rows: (r: R) => Array<Record<string, unknown>>,
    whenEmpty?: string[],
  ) =>
    router.get(`/merchant/analytics/${family}.csv`, requireMerchant, async (req: Request, res: Response) => {
      const me = signedInMerchant(res);
      await sendAnalyticsCsv(
        res,
        { key, view: `merchant/analytics/${key}`, title: 'Analytics', merchantId: me.merchantId, query: req.query, file: family },
        (scope) => report(clock, me.merchantId, { ...scope, format: 'csv' }),
        (r) => ({ body: rowsCsv(rows(r), whenEmpty), empty: r.currencies.length === 0 }),
      );
    });
  csvRoute('cohorts', 'cohorts', cohortReport, cohortCsvRows, COHORT_CSV_EMPTY);
  csvRoute('ltv', 'ltv', ltvReport, monthlyCsvRows);
  csvRoute('cancellations', 'leaving', cancellationReport, monthlyCsvRows);
  csvRoute('dunning', 'dunning', dunningReport, monthlyCsvRows);

  return router;
}
