import { merchantProfile } from '../merchants/merchant.queries';
import { addLocalDays, localDateOf } from '../shared/calendar';
import { invalidInput, NotFoundError } from '../shared/errors';
import type { Clock } from '../shared/time';
import { monthlyFigures } from './metrics.service';
import { rate } from './mrr-rules';
import { CohortBucketModel, RetentionBucketModel, SaveBucketModel, type CohortBucket, type RetentionBucket, type SaveBucket } from './retention.model';
import { SAVED_DAYS } from './retention-projection.service';
import type { CancellationReport, CohortReport, DunningReport, LtvReport, RetentionMetricsQuery } from './retention-metrics.schemas';
import { bucketFields } from './bucket-fields';

/**
 * Cohorts, LTV, reasons for leaving and dunning recovery, read from the retention projections (and, for
 * LTV, the MRR and churn reports): docs/analytics.md defines each. Months are the store's local months;
 * every amount stays in its currency.
 */

const MAX_MONTHS = 36;
/** Predicted LTV divides by the average subscriber churn of this many months, ending with the month. */
export const LTV_WINDOW_MONTHS = 3;

function shiftMonth(month: string, by: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const index = y * 12 + (m - 1) + by;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  for (let m = from; m <= to; m = shiftMonth(m, 1)) months.push(m);
  return months;
}

interface Range {
  timezone: string;
  today: string;
  from: string;
  to: string;
  months: string[];
}

async function rangeOf(clock: Clock, merchantId: string, query: RetentionMetricsQuery): Promise<Range> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('No such store.');
  const today = localDateOf(clock.now(), merchant.timezone);
  const to = query.to ?? today.slice(0, 7);
  const from = query.from ?? shiftMonth(to, -11);
  if (from > to) throw invalidInput('from', 'must not be after to');
  const months = monthsBetween(from, to);
  if (months.length > MAX_MONTHS) throw invalidInput('from', `the range can be at most ${MAX_MONTHS} months`);
  return { timezone: merchant.timezone, today, from, to, months };
}

/** A store's buckets whose month (or cohort month) is in the range, of the chosen currency and plan. */
function bucketsIn(merchantId: string, query: RetentionMetricsQuery, range: Range, monthField: 'month' | 'cohort') {
  return {
    merchantId,
    [monthField]: { $gte: range.from, $lte: range.to },
    ...(query.currency ? { currency: query.currency } : {}),
    ...(query.plan ? { planId: query.plan } : {}),
  };
}

function sortedEntries<V>(map: Map<string, V>): Array<[string, V]> {
  return [...map.entries()].sort(([a], [b]) => a.localeCompare(b));
}

interface CohortMonthFigures {
  paying: number;
  revenueMinor: number;
  cancelled: number;
}

interface CohortFigures {
  cohort: string;
  size: number;
  revenueToDateMinor: number;
  realisedLtvMinor: number;
  /** Per month of activity (from the cohort's, and a cancellation's month even before it): paying, revenue, cancelled. */
  months: Map<string, CohortMonthFigures>;
}

/**
 * Per currency, the cohorts whose month is in the range, with what they paid to date: the cohort buckets of
 * those cohorts added up (src/analytics/retention.model.ts, `CohortBucket`), as many as cohorts × months ×
 * plans, whatever the number of subscribers. A cohort whose subscriptions all moved to an earlier one is empty.
 */
async function cohortsOf(merchantId: string, query: RetentionMetricsQuery, range: Range): Promise<Map<string, CohortFigures[]>> {
  const buckets = await CohortBucketModel.find(bucketsIn(merchantId, query, range, 'cohort'), bucketFields(CohortBucketModel)).lean<CohortBucket[]>();
  const byCurrency = new Map<string, Map<string, CohortFigures>>();
  for (const b of buckets) {
    const cohorts = byCurrency.get(b.currency) ?? new Map<string, CohortFigures>();
    byCurrency.set(b.currency, cohorts);
    const figures: CohortFigures = cohorts.get(b.cohort) ?? {
      cohort: b.cohort,
      size: 0,
      revenueToDateMinor: 0,
      realisedLtvMinor: 0,
      months: new Map<string, CohortMonthFigures>(),
    };
    cohorts.set(b.cohort, figures);
    figures.size += b.subscribers ?? 0;
    figures.revenueToDateMinor += b.revenueMinor ?? 0;
    const month = figures.months.get(b.month) ?? { paying: 0, revenueMinor: 0, cancelled: 0 };
    figures.months.set(b.month, month);
    month.paying += b.paying ?? 0;
    month.revenueMinor += b.revenueMinor ?? 0;
    month.cancelled += b.cancelled ?? 0;
  }
  const result = new Map<string, CohortFigures[]>();
  for (const [currency, cohorts] of sortedEntries(byCurrency)) {
    const list = sortedEntries(cohorts)
      .map(([, f]) => f)
      .filter((f) => f.size > 0)
      .map((f) => ({ ...f, realisedLtvMinor: Math.round(f.revenueToDateMinor / f.size) }));
    if (list.length > 0) result.set(currency, list);
  }
  return result;
}

export async function cohortReport(clock: Clock, merchantId: string, query: RetentionMetricsQuery): Promise<CohortReport> {
  const range = await rangeOf(clock, merchantId, query);
  const cohorts = await cohortsOf(merchantId, query, range);
  return {
    object: 'cohort_report',
    timezone: range.timezone,
    from: range.from,
    to: range.to,
    currencies: [...cohorts.entries()].map(([currency, list]) => ({
      currency,
      cohorts: list.map(({ months: figures, ...cohort }) => {
        // Active at a month's end: the cohort less those cancelled by then (in any month up to it, even before the cohort's).
        const cancelledBy = (month: string): number => [...figures.entries()].reduce((n, [m, f]) => n + (m <= month ? f.cancelled : 0), 0);
        return {
          ...cohort,
          months: monthsBetween(cohort.cohort, range.to).map((month, offset) => {
            const active = cohort.size - cancelledBy(month);
            return {
              month,
              offset,
              active,
              activeRate: rate(active, cohort.size),
              paying: figures.get(month)?.paying ?? 0,
              revenueMinor: figures.get(month)?.revenueMinor ?? 0,
            };
          }),
        };
      }),
    })),
  };
}

export async function ltvReport(clock: Clock, merchantId: string, query: RetentionMetricsQuery): Promise<LtvReport> {
  const range = await rangeOf(clock, merchantId, query);
  // One read of the daily buckets for the MRR, the subscribers and the churn of the months and the window before them.
  const [{ mrr, churn, subscriberMonths }, cohorts] = await Promise.all([
    monthlyFigures(merchantId, {
      timezone: range.timezone,
      from: shiftMonth(range.from, 1 - LTV_WINDOW_MONTHS),
      to: range.to,
      currency: query.currency,
      plan: query.plan,
    }),
    cohortsOf(merchantId, query, range),
  ]);
  const currencies = [...new Set([...mrr.currencies.map((c) => c.currency), ...cohorts.keys()])].sort();
  return {
    object: 'ltv_report',
    timezone: range.timezone,
    from: range.from,
    to: range.to,
    method: `predicted LTV = ARPA (MRR ÷ subscribers at the month's end) ÷ the average monthly subscriber churn of the ${LTV_WINDOW_MONTHS} months ending with the month (cancelled ÷ subscribers at the start, added up over the window); null when that churn is 0. Realised LTV per cohort = what the cohort paid to date ÷ its size.`,
    windowMonths: LTV_WINDOW_MONTHS,
    currencies: currencies.map((currency) => {
      const churnRows = churn.currencies.find((c) => c.currency === currency)?.months ?? [];
      const mrrRows = mrr.currencies.find((c) => c.currency === currency)?.months ?? [];
      const subscriberRows = subscriberMonths(currency);
      return {
        currency,
        months: range.months.map((month) => {
          const mrrMinor = mrrRows.find((r) => r.month === month)?.endMrrMinor ?? 0;
          const count = subscriberRows.find((r) => r.month === month)?.endCount ?? 0;
          const window = churnRows.filter((r) => r.month > shiftMonth(month, -LTV_WINDOW_MONTHS) && r.month <= month);
          const cancelled = window.reduce((n, r) => n + r.cancelled - r.cancelledSameMonth, 0);
          const atStart = window.reduce((n, r) => n + r.subscribersAtStart, 0);
          const arpaMinor = count > 0 ? Math.round(mrrMinor / count) : null;
          return {
            month,
            mrrMinor,
            subscribers: count,
            arpaMinor,
            trailingCancelled: cancelled,
            trailingSubscribersAtStart: atStart,
            trailingChurnRate: rate(cancelled, atStart),
            // ARPA ÷ (cancelled ÷ at start), without rounding the rate first.
            predictedLtvMinor: arpaMinor !== null && cancelled > 0 ? Math.round((arpaMinor * atStart) / cancelled) : null,
          };
        }),
        cohorts: (cohorts.get(currency) ?? []).map(({ cohort, size, revenueToDateMinor, realisedLtvMinor }) => ({
          cohort,
          size,
          revenueToDateMinor,
          realisedLtvMinor,
        })),
      };
    }),
  };
}

/** Per currency and month of the range: the retention buckets added up. */
async function bucketMonths(merchantId: string, query: RetentionMetricsQuery, range: Range): Promise<Map<string, Map<string, RetentionBucket[]>>> {
  const buckets = await RetentionBucketModel.find(bucketsIn(merchantId, query, range, 'month'), bucketFields(RetentionBucketModel)).lean<RetentionBucket[]>();
  const result = new Map<string, Map<string, RetentionBucket[]>>();
  for (const b of buckets) {
    const months = result.get(b.currency) ?? new Map<string, RetentionBucket[]>();
    result.set(b.currency, months);
    months.set(b.month, [...(months.get(b.month) ?? []), b]);
  }
  return result;
}

function sumCounts(records: Array<Record<string, number> | undefined>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r ?? {})) if (v) total[k] = (total[k] ?? 0) + v;
  return Object.fromEntries(Object.entries(total).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
}

/**
 * Per currency and month of the range, the saves of the month (`SaveBucket`: counts per save day), how many
 * have matured (their SAVED_DAYS-th day has come) and how many of those were still active then (saved less
 * those cancelled within SAVED_DAYS, counted when they were cancelled). A save moved to another plan leaves
 * zeros behind: a currency with no save is left out.
 */
async function savesOf(
  merchantId: string,
  query: RetentionMetricsQuery,
  range: Range,
): Promise<Map<string, Map<string, { saved: number; matured: number; stillActive: number }>>> {
  const buckets = await SaveBucketModel.find(bucketsIn(merchantId, query, range, 'month'), bucketFields(SaveBucketModel)).lean<SaveBucket[]>();
  const result = new Map<string, Map<string, { saved: number; matured: number; stillActive: number }>>();
  for (const b of buckets) {
    for (const [day, counts] of Object.entries(b.days ?? {})) {
      const saved = counts?.saved ?? 0;
      if (saved === 0) continue;
      const months = result.get(b.currency) ?? new Map<string, { saved: number; matured: number; stillActive: number }>();
      result.set(b.currency, months);
      const figures = months.get(b.month) ?? { saved: 0, matured: 0, stillActive: 0 };
      months.set(b.month, figures);
      figures.saved += saved;
      // Matured: the 90th day after the save has come; still active: not cancelled by then.
      if (addLocalDays(`${b.month}-${day}`, SAVED_DAYS) <= range.today) {
        figures.matured += saved;
        figures.stillActive += saved - (counts?.cancelledWithin ?? 0);
      }
    }
  }
  return result;
}

export async function cancellationReport(clock: Clock, merchantId: string, query: RetentionMetricsQuery): Promise<CancellationReport> {
  const range = await rangeOf(clock, merchantId, query);
  const byCurrency = await bucketMonths(merchantId, query, range);
  const saves = await savesOf(merchantId, query, range);
  const currencies = [...new Set([...byCurrency.keys(), ...saves.keys()])].sort();
  return {
    object: 'cancellation_report',
    timezone: range.timezone,
    from: range.from,
    to: range.to,
    currencies: currencies.map((currency) => ({
      currency,
      months: range.months.map((month) => {
        const buckets = byCurrency.get(currency)?.get(month) ?? [];
        const saved = saves.get(currency)?.get(month) ?? { saved: 0, matured: 0, stillActive: 0 };
        return {
          month,
          cancelled: buckets.reduce((n, b) => n + (b.cancellations?.total ?? 0), 0),
          voluntary: buckets.reduce((n, b) => n + (b.cancellations?.voluntary ?? 0), 0),
          involuntary: buckets.reduce((n, b) => n + (b.cancellations?.involuntary ?? 0), 0),
          reasons: sumCounts(buckets.map((b) => b.reasons)),
          saveOffersShown: buckets.reduce((n, b) => n + (b.saveOffers?.shown ?? 0), 0),
          saveOffersAccepted: buckets.reduce((n, b) => n + (b.saveOffers?.accepted ?? 0), 0),
          saved: saved.saved,
          savedMatured: saved.matured,
          savedStillActiveAfter90Days: saved.stillActive,
        };
      }),
    })),
  };
}

export async function dunningReport(clock: Clock, merchantId: string, query: RetentionMetricsQuery): Promise<DunningReport> {
  const range = await rangeOf(clock, merchantId, query);
  const byCurrency = await bucketMonths(merchantId, query, range);
  return {
    object: 'dunning_report',
    timezone: range.timezone,
    from: range.from,
    to: range.to,
    currencies: sortedEntries(byCurrency)
      .filter(([, months]) => [...months.values()].flat().some((b) => Object.values(b.dunning ?? {}).some((n) => n > 0)))
      .map(([currency, months]) => ({
        currency,
        months: range.months.map((month) => {
          const buckets = months.get(month) ?? [];
          const d = sumCounts(buckets.map((b) => b.dunning as unknown as Record<string, number>));
          const started = d.started ?? 0;
          const recovered = d.recovered ?? 0;
          const endedUnpaid = d.endedUnpaid ?? 0;
          return {
            month,
            started,
            failedAttempts: d.failedAttempts ?? 0,
            recovered,
            endedUnpaid,
            recoveryRate: rate(recovered, started),
            resolvedRecoveryRate: rate(recovered, recovered + endedUnpaid),
            recoveredByAttempt: sumCounts(buckets.map((b) => b.recoveredByAttempt)),
          };
        }),
      })),
  };
}

/** The CSV rows of the cohorts report: one per currency, cohort and month (the API's and the pages' CSV). */
export function cohortCsvRows(report: CohortReport): Array<Record<string, unknown>> {
  return report.currencies.flatMap((c) => c.cohorts.flatMap(({ months, ...cohort }) => months.map((m) => ({ currency: c.currency, ...cohort, ...m }))));
}
/** The header of the cohorts CSV when it has no rows. */
export const COHORT_CSV_EMPTY = ['currency', 'cohort', 'month'];

/** The CSV rows of a per-month report (LTV, cancellations, dunning): one per currency and month. */
export function monthlyCsvRows(report: { currencies: ReadonlyArray<{ currency: string; months: ReadonlyArray<object> }> }): Array<Record<string, unknown>> {
  return report.currencies.flatMap((c) => c.months.map((m) => ({ currency: c.currency, ...m })));
}

/**
 * CSV of flat rows: nested counts become one column per key (`reasons.moving`), the header the union of them
 * (`whenEmpty` when there are no rows).
 */
export function rowsCsv(rows: Array<Record<string, unknown>>, whenEmpty: readonly string[] = ['currency', 'month']): string {
  const flat = rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) for (const [sub, n] of Object.entries(v)) out[`${k}.${sub}`] = n;
      else out[k] = v;
    }
    return out;
  });
  const columns: string[] = [];
  for (const row of flat) for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  const cell = (value: unknown): string => {
    const text = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [(columns.length > 0 ? columns : whenEmpty).join(',')];
  // A count a row does not have is 0 (an absent reason); a missing plain value stays empty.
  for (const row of flat) lines.push(columns.map((k) => (k in row ? cell(row[k]) : k.includes('.') ? '0' : '')).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
