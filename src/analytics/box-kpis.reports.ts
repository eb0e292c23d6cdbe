import { loyaltyLiabilityOf } from '../loyalty/loyalty.queries';
import { merchantProfile } from '../merchants/merchant.queries';
import { localDateOf } from '../shared/calendar';
import { invalidInput, NotFoundError } from '../shared/errors';
import type { Clock } from '../shared/time';
import { BoxKpiBucketModel, FirstBoxWaitsModel, type BoxKpiFamily } from './box-kpis.model';
import type {
  BoxServiceQuery,
  BoxServiceReport,
  GiftCostQuery,
  GiftCostReport,
  LoyaltyLiabilityQuery,
  LoyaltyLiabilityReport,
  SkuFillReport,
} from './box-kpis.schemas';
import { rate } from './mrr-rules';
import { bucketFields } from './bucket-fields';

/**
 * The box-service KPIs, read from their projections (docs/analytics.md, "Box service") — never from orders,
 * subscriptions or gifts; loyalty liability is the loyalty domain's own read of its ledger. Months are the
 * store's local months.
 */

const MAX_MONTHS = 36;

function monthIndex(month: string): number {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return y * 12 + (m - 1);
}

function monthOf(index: number): string {
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

interface Range {
  timezone: string;
  from: string;
  to: string;
  months: string[];
}

async function rangeOf(clock: Clock, merchantId: string, query: { from?: string | undefined; to?: string | undefined }): Promise<Range> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('No such store.');
  const to = query.to ?? localDateOf(clock.now(), merchant.timezone).slice(0, 7);
  const from = query.from ?? monthOf(monthIndex(to) - 11);
  if (from > to) throw invalidInput('from', 'must not be after to');
  const count = monthIndex(to) - monthIndex(from) + 1;
  if (count > MAX_MONTHS) throw invalidInput('from', `the range can be at most ${MAX_MONTHS} months`);
  return { timezone: merchant.timezone, from, to, months: Array.from({ length: count }, (_, i) => monthOf(monthIndex(from) + i)) };
}

type Sums = Record<string, number>;

function addSums(into: Sums, n: Record<string, number> | undefined): void {
  for (const [key, value] of Object.entries(n ?? {})) into[key] = (into[key] ?? 0) + value;
}

async function bucketsIn(merchantId: string, family: BoxKpiFamily, range: Range) {
  return BoxKpiBucketModel.find({ merchantId, family, month: { $gte: range.from, $lte: range.to } }, bucketFields(BoxKpiBucketModel)).lean();
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

/** Values with how often each occurs (`[value, count]`), the values ascending: a distribution read as counts. */
type Counted = ReadonlyArray<readonly [number, number]>;

/** The value at 1-based `rank` of the sorted values the counts stand for. */
function atRank(counted: Counted, rank: number): number {
  let seen = 0;
  for (const [value, count] of counted) {
    seen += count;
    if (seen >= rank) return value;
  }
  throw new RangeError(`rank ${rank} is past the ${seen} values`);
}

const totalOf = (counted: Counted): number => counted.reduce((n, [, count]) => n + count, 0);

/** The middle value (the mean of the two middle ones for an even count). */
export function median(counted: Counted): number | null {
  const n = totalOf(counted);
  if (n === 0) return null;
  return n % 2 === 1 ? atRank(counted, (n + 1) / 2) : (atRank(counted, n / 2) + atRank(counted, n / 2 + 1)) / 2;
}

/** The 90th percentile by nearest rank: the value at place ⌈0.9 n⌉ of the sorted values. */
export function p90(counted: Counted): number | null {
  const n = totalOf(counted);
  if (n === 0) return null;
  return atRank(counted, Math.ceil(0.9 * n));
}

/**
 * Per local month of sign-up in the range: how many signed up, and how many days each waited for the first
 * box (days → subscriptions), ascending. One document per month (`analytics_first_box_waits`), whatever the
 * number of subscribers. Index: `{ merchantId, month }`.
 */
async function firstBoxWaits(merchantId: string, range: Range): Promise<Map<string, { signedUp: number; days: Array<[number, number]> }>> {
  const docs = await FirstBoxWaitsModel.find({ merchantId, month: { $gte: range.from, $lte: range.to } }, bucketFields(FirstBoxWaitsModel)).lean();
  return new Map(
    docs.map((doc) => {
      // A count of 0 is a number of days some subscription waited before an earlier shipment was learnt.
      const days = Object.entries(doc.days ?? {})
        .filter(([, n]) => n > 0)
        .map(([d, n]): [number, number] => [Number(d), n])
        .sort(([a], [b]) => a - b);
      return [doc.month, { signedUp: doc.signedUp ?? 0, days }];
    }),
  );
}

/** Per local month: shipping on time, ratings of the boxes delivered, and the way from sign-up to the first box. */
export async function boxServiceReport(clock: Clock, merchantId: string, query: BoxServiceQuery): Promise<BoxServiceReport> {
  const range = await rangeOf(clock, merchantId, query);
  const sums = new Map<string, Sums>(range.months.map((m) => [m, {}]));
  for (const bucket of [...(await bucketsIn(merchantId, 'shipping', range)), ...(await bucketsIn(merchantId, 'rating', range))])
    addSums(sums.get(bucket.month)!, bucket.n);
  const waits = await firstBoxWaits(merchantId, range);
  const months = range.months.map((month) => {
    const s = sums.get(month)!;
    const v = (key: string) => s[key] ?? 0;
    const wait = waits.get(month) ?? { signedUp: 0, days: [] };
    return {
      month,
      shipped: v('shipped'),
      shippedOnTime: v('onTime'),
      shippedLate: v('late'),
      onTimeRate: rate(v('onTime'), v('shipped')),
      averageDaysLate: v('late') > 0 ? round2(v('daysLateSum') / v('late')) : null,
      delivered: v('delivered'),
      rated: v('rated'),
      ratingResponseRate: rate(v('rated'), v('delivered')),
      averageRating: v('rated') > 0 ? round2(v('scoreSum') / v('rated')) : null,
      signedUp: wait.signedUp,
      firstBoxShipped: totalOf(wait.days),
      medianDaysToFirstBox: median(wait.days),
      p90DaysToFirstBox: p90(wait.days),
    };
  });
  return { object: 'box_service_report', timezone: range.timezone, from: range.from, to: range.to, months };
}

/** Per SKU, over the range: the units asked for at the cut-off and what became of them. */
export async function skuFillReport(clock: Clock, merchantId: string, query: BoxServiceQuery): Promise<SkuFillReport> {
  const range = await rangeOf(clock, merchantId, query);
  const bySku = new Map<string, Sums>();
  for (const bucket of await bucketsIn(merchantId, 'sku', range)) {
    if (!bySku.has(bucket.key)) bySku.set(bucket.key, {});
    addSums(bySku.get(bucket.key)!, bucket.n);
  }
  const skus = [...bySku.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([sku, s]) => {
      const v = (key: string) => s[key] ?? 0;
      const requested = v('requestedUnits');
      return {
        sku,
        requestedUnits: requested,
        filledUnits: v('filledUnits'),
        substitutedUnits: v('substitutedUnits'),
        outOfStockUnits: v('outOfStockUnits'),
        fillRate: rate(v('filledUnits'), requested),
        substitutionRate: rate(v('substitutedUnits'), requested),
        outOfStockRate: rate(v('outOfStockUnits'), requested),
        backOrderedUnits: v('backOrderedUnits'),
      };
    });
  return { object: 'sku_fill_report', timezone: range.timezone, from: range.from, to: range.to, skus };
}

/** Per gift campaign, over the range: gifts granted, delivered and given back, and what they cost. */
export async function giftCostReport(clock: Clock, merchantId: string, query: GiftCostQuery): Promise<GiftCostReport> {
  const range = await rangeOf(clock, merchantId, query);
  const byCampaign = new Map<string, { currency: string; sums: Sums }>();
  for (const bucket of await bucketsIn(merchantId, 'gift', range)) {
    let entry = byCampaign.get(bucket.key);
    if (!entry) {
      entry = { currency: '', sums: {} };
      byCampaign.set(bucket.key, entry);
    }
    // A delivery carries no currency: the campaign's is the one its grants and returns carry.
    if (bucket.currency) entry.currency = bucket.currency;
    addSums(entry.sums, bucket.n);
  }
  const campaigns = [...byCampaign.entries()]
    .filter(([, entry]) => !query.currency || entry.currency === query.currency)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([campaignId, { currency, sums }]) => {
      const v = (key: string) => sums[key] ?? 0;
      return {
        campaignId,
        currency,
        granted: v('granted'),
        delivered: v('delivered'),
        returned: v('returned'),
        grantedCostMinor: v('grantedCostMinor'),
        returnedCostMinor: v('returnedCostMinor'),
        costMinor: v('grantedCostMinor') - v('returnedCostMinor'),
      };
    });
  return { object: 'gift_cost_report', timezone: range.timezone, from: range.from, to: range.to, campaigns };
}

/** Points and credit the store's shoppers hold now, per currency (read from the loyalty ledger by its own query). */
export async function loyaltyLiabilityReport(merchantId: string, query: LoyaltyLiabilityQuery): Promise<LoyaltyLiabilityReport> {
  const currencies = (await loyaltyLiabilityOf(merchantId)).filter((row) => !query.currency || row.currency === query.currency);
  return { object: 'loyalty_liability_report', currencies };
}

/** Rows as CSV: the header is the JSON field names. */
export function rowsCsv(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  const cell = (value: unknown): string => {
    const text = typeof value === 'number' || typeof value === 'string' ? String(value) : '';
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [columns.join(','), ...rows.map((row) => columns.map((key) => cell(row[key])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
