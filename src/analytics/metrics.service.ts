import { merchantProfile } from '../merchants/merchant.queries';
import { localDateOf } from '../shared/calendar';
import { invalidInput, NotFoundError } from '../shared/errors';
import type { Clock } from '../shared/time';
import { MetricBucketModel, type MetricBucket } from './analytics.model';
import { rate } from './mrr-rules';
import type { ChurnReport, MetricsQuery, MrrReport, SubscriberReport } from './metrics.schemas';
import { bucketFields } from './bucket-fields';

/**
 * The metrics, read from the analytics projections only (docs/analytics.md defines each): months are the
 * store's local months, every amount stays in its currency. Movements are summed from the daily buckets;
 * "at the start of a month" is everything before it.
 */

const MAX_MONTHS = 36;

interface Totals {
  mrr: MetricBucket['mrr'];
  counts: MetricBucket['counts'];
  churnMrr: MetricBucket['churnMrr'];
  inStatus: MetricBucket['inStatus'];
}

function zero(): Totals {
  return {
    mrr: { new: 0, expansion: 0, contraction: 0, churn: 0, reactivation: 0, paused: 0, resumed: 0, transferIn: 0, transferOut: 0 },
    counts: { new: 0, reactivated: 0, cancelled: 0, voluntary: 0, involuntary: 0, cancelledSameMonth: 0, transferIn: 0, transferOut: 0 },
    churnMrr: { voluntary: 0, involuntary: 0, sameMonth: 0 },
    inStatus: { active: 0, trialing: 0, pastDue: 0, paused: 0 },
  };
}

function addInto(total: Totals, bucket: Pick<MetricBucket, 'mrr' | 'counts' | 'churnMrr' | 'inStatus'>): void {
  for (const key of Object.keys(total.mrr) as Array<keyof Totals['mrr']>) total.mrr[key] += bucket.mrr?.[key] ?? 0;
  for (const key of Object.keys(total.counts) as Array<keyof Totals['counts']>) total.counts[key] += bucket.counts?.[key] ?? 0;
  for (const key of Object.keys(total.churnMrr) as Array<keyof Totals['churnMrr']>) total.churnMrr[key] += bucket.churnMrr?.[key] ?? 0;
  for (const key of Object.keys(total.inStatus) as Array<keyof Totals['inStatus']>) total.inStatus[key] += bucket.inStatus?.[key] ?? 0;
}

/** MRR gained minus MRR lost. */
function netMrr(t: Totals): number {
  const m = t.mrr;
  return m.new + m.expansion + m.reactivation + m.resumed + m.transferIn - m.contraction - m.churn - m.paused - m.transferOut;
}

function netSubscribers(t: Totals): number {
  return t.counts.new - t.counts.cancelled + t.counts.transferIn - t.counts.transferOut;
}

function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let [y, m] = from.split('-').map(Number) as [number, number];
  for (;;) {
    const key = `${y}-${String(m).padStart(2, '0')}`;
    months.push(key);
    if (key >= to) return months;
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
}

function shiftMonth(month: string, by: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const index = y * 12 + (m - 1) + by;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** Per currency: the totals before `from`, per month of the range, and (for MRR now) everything. */
interface Ledger {
  timezone: string;
  from: string;
  to: string;
  months: string[];
  currencies: Map<string, { before: Totals; byMonth: Map<string, Totals>; all: Totals }>;
}

/** The range a query asks for (validated): the 12 months to this month unless told. */
async function readLedger(clock: Clock, merchantId: string, query: MetricsQuery): Promise<Ledger> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('No such store.');
  const timezone = merchant.timezone;
  const to = query.to ?? localDateOf(clock.now(), timezone).slice(0, 7);
  const from = query.from ?? shiftMonth(to, -11);
  if (from > to) throw invalidInput('from', 'must not be after to');
  if (monthsBetween(from, to).length > MAX_MONTHS) throw invalidInput('from', `the range can be at most ${MAX_MONTHS} months`);
  return ledgerOf(merchantId, { timezone, from, to, currency: query.currency, plan: query.plan });
}

interface LedgerRange {
  timezone: string;
  from: string;
  to: string;
  currency?: string | undefined;
  plan?: string | undefined;
}

/** The store's daily buckets (of a currency, of a plan), added up per currency: one read. */
async function ledgerOf(merchantId: string, range: LedgerRange): Promise<Ledger> {
  const { timezone, from, to } = range;
  const months = monthsBetween(from, to);
  const filter = { merchantId, ...(range.currency ? { currency: range.currency } : {}), ...(range.plan ? { planId: range.plan } : {}) };
  const buckets = await MetricBucketModel.find(filter, bucketFields(MetricBucketModel)).lean();
  const currencies: Ledger['currencies'] = new Map();
  for (const bucket of buckets) {
    let entry = currencies.get(bucket.currency);
    if (!entry) {
      entry = { before: zero(), byMonth: new Map(months.map((m) => [m, zero()])), all: zero() };
      currencies.set(bucket.currency, entry);
    }
    addInto(entry.all, bucket);
    if (bucket.month < from) addInto(entry.before, bucket);
    else if (bucket.month <= to) addInto(entry.byMonth.get(bucket.month)!, bucket);
  }
  return { timezone, from, to, months, currencies: new Map([...currencies.entries()].sort(([a], [b]) => a.localeCompare(b))) };
}

function mrrOf(ledger: Ledger): MrrReport {
  return {
    object: 'mrr_report',
    timezone: ledger.timezone,
    from: ledger.from,
    to: ledger.to,
    currencies: [...ledger.currencies.entries()].map(([currency, entry]) => {
      let start = netMrr(entry.before);
      return {
        currency,
        mrrMinor: netMrr(entry.all),
        months: ledger.months.map((month) => {
          const t = entry.byMonth.get(month)!;
          const net = netMrr(t);
          const row = {
            month,
            startMrrMinor: start,
            newMinor: t.mrr.new,
            expansionMinor: t.mrr.expansion,
            contractionMinor: t.mrr.contraction,
            churnMinor: t.mrr.churn,
            reactivationMinor: t.mrr.reactivation,
            pausedMinor: t.mrr.paused,
            resumedMinor: t.mrr.resumed,
            transferInMinor: t.mrr.transferIn,
            transferOutMinor: t.mrr.transferOut,
            netChangeMinor: net,
            endMrrMinor: start + net,
          };
          start += net;
          return row;
        }),
      };
    }),
  };
}

export async function mrrReport(clock: Clock, merchantId: string, query: MetricsQuery): Promise<MrrReport> {
  return mrrOf(await readLedger(clock, merchantId, query));
}

type SubscriberMonth = SubscriberReport['currencies'][number]['months'][number];

/** A currency's subscribers at the start and end of each month of the ledger, with who came and went. */
function subscriberMonthsOf(ledger: Ledger, currency: string): SubscriberMonth[] {
  const entry = ledger.currencies.get(currency);
  let start = entry ? netSubscribers(entry.before) : 0;
  return ledger.months.map((month) => {
    const t = entry?.byMonth.get(month) ?? zero();
    const end = start + netSubscribers(t);
    const row = {
      month,
      startCount: start,
      new: t.counts.new,
      reactivated: t.counts.reactivated,
      cancelled: t.counts.cancelled,
      transferIn: t.counts.transferIn,
      transferOut: t.counts.transferOut,
      endCount: end,
    };
    start = end;
    return row;
  });
}

export async function subscriberReport(clock: Clock, merchantId: string, query: MetricsQuery): Promise<SubscriberReport> {
  const ledger = await readLedger(clock, merchantId, query);
  const currencies = [...ledger.currencies.keys()];
  return {
    object: 'subscriber_report',
    timezone: ledger.timezone,
    from: ledger.from,
    to: ledger.to,
    currencies: currencies.map((currency) => ({
      currency,
      // Every day's comings and goings added up: the subscriptions in each live status now.
      current: { ...ledger.currencies.get(currency)!.all.inStatus },
      months: subscriberMonthsOf(ledger, currency),
    })),
  };
}

function churnOf(ledger: Ledger): ChurnReport {
  return {
    object: 'churn_report',
    timezone: ledger.timezone,
    from: ledger.from,
    to: ledger.to,
    currencies: [...ledger.currencies.entries()].map(([currency, entry]) => {
      let subscribers = netSubscribers(entry.before);
      let mrr = netMrr(entry.before);
      return {
        currency,
        months: ledger.months.map((month) => {
          const t = entry.byMonth.get(month)!;
          const lost = t.mrr.churn - t.churnMrr.sameMonth + t.mrr.contraction;
          const row = {
            month,
            subscribersAtStart: subscribers,
            cancelled: t.counts.cancelled,
            voluntary: t.counts.voluntary,
            involuntary: t.counts.involuntary,
            cancelledSameMonth: t.counts.cancelledSameMonth,
            subscriberChurnRate: rate(t.counts.cancelled - t.counts.cancelledSameMonth, subscribers),
            mrrAtStartMinor: mrr,
            churnMinor: t.mrr.churn,
            churnVoluntaryMinor: t.churnMrr.voluntary,
            churnInvoluntaryMinor: t.churnMrr.involuntary,
            churnSameMonthMinor: t.churnMrr.sameMonth,
            contractionMinor: t.mrr.contraction,
            expansionMinor: t.mrr.expansion,
            reactivationMinor: t.mrr.reactivation,
            grossMrrChurnRate: rate(lost, mrr),
            netMrrChurnRate: rate(lost - t.mrr.expansion - t.mrr.reactivation, mrr),
          };
          subscribers += netSubscribers(t);
          mrr += netMrr(t);
          return row;
        }),
      };
    }),
  };
}

export async function churnReport(clock: Clock, merchantId: string, query: MetricsQuery): Promise<ChurnReport> {
  return churnOf(await readLedger(clock, merchantId, query));
}

/**
 * The MRR and churn reports and each currency's subscribers per month, from one read of the daily buckets,
 * over a range the caller has checked (the LTV: its months and the churn window before them). The subscribers
 * now (`current`) are not read.
 */
export async function monthlyFigures(
  merchantId: string,
  range: LedgerRange,
): Promise<{ mrr: MrrReport; churn: ChurnReport; subscriberMonths: (currency: string) => SubscriberMonth[] }> {
  const ledger = await ledgerOf(merchantId, range);
  return { mrr: mrrOf(ledger), churn: churnOf(ledger), subscriberMonths: (currency) => subscriberMonthsOf(ledger, currency) };
}

/** One CSV row per currency and month: the header is the JSON's field names. */
export function metricsCsv(report: { currencies: Array<{ currency: string; months: Array<Record<string, unknown>> }> }): string {
  const first = report.currencies.find((c) => c.months.length > 0)?.months[0];
  const columns = first ? Object.keys(first) : ['month'];
  const cell = (value: unknown): string => {
    const text = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [['currency', ...columns].join(',')];
  for (const c of report.currencies) for (const row of c.months) lines.push([c.currency, ...columns.map((k) => cell(row[k]))].join(','));
  return `${lines.join('\r\n')}\r\n`;
}
