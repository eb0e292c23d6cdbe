import { Router, type Request, type Response } from 'express';
import { movementsBehindMonth } from '../../analytics/movement-facts.service';
import type { ChurnReport, MetricsQuery, MrrReport, SubscriberReport } from '../../analytics/metrics.schemas';
import { churnReport, metricsCsv, mrrReport, subscriberReport } from '../../analytics/metrics.service';
import { customersByIds } from '../../customers/customer.queries';
import { merchantProfile } from '../../merchants/merchant.queries';
import { findPlans } from '../../plans/plan.queries';
import { NotFoundError } from '../../shared/errors';
import type { Clock } from '../../shared/time';
import { barChart, lineChart, waterfallChart, type BarSeries } from './charts/charts';
import { errorsOf, type FieldErrors } from '../forms';
import { describeFact } from '../shop/fact-wording';
import { localeOf, money } from '../shop/shop-view';
import {
  AnalyticsForm,
  analyticsNav,
  ALL_FIELDS,
  dayLong,
  Month,
  monthLong,
  monthShort,
  percent,
  queryString,
  readQuery,
  SERVICE_WORDS,
  storeChoices,
} from './analytics-view';
import { analyticsBoxPages } from './analytics-box.pages';
import { analyticsRetentionPages } from './analytics-retention.pages';
import { demoNote } from './demo-note';
import { requireMerchant, signedInMerchant } from './merchant-session';

/**
 * The merchant's analytics (`/merchant/analytics`): MRR, its movements, subscribers and churn for a range of
 * the store's local months, one currency at a time (never summed across currencies) and optionally one plan.
 * Each figure is read from the same services as `GET /api/v1/metrics/*`, drawn as an SVG chart with the table
 * of its figures beside it and the definition next to each number (docs/analytics.md). The CSV links answer
 * what the API answers with `format=csv`, byte for byte, through the merchant's session (never an API key).
 * `/merchant/analytics/movements/<month>` shows what moved MRR in one month, day by day, with the facts (the
 * month names in the table and the month's bars in the movements chart link to it). The other analytics pages
 * (cohorts, LTV, why they leave, dunning, box service) are mounted here from their own files.
 */

/** The definitions shown beside the numbers: docs/analytics.md, shortened. */
export const DEFINITIONS = {
  mrr: 'Monthly recurring revenue: each billed subscription’s box price per 30 days, net of discounts that last for ever, without tax and shipping. A paused or trialing subscription counts 0.',
  movements:
    'New: a subscription billed for the first time. Reactivation: the same, by a shopper who had cancelled before. Expansion and contraction: MRR up or down while above 0. Churn: MRR lost to a cancellation. Paused and resumed: MRR leaving for a pause and coming back. Moved in and out: a subscription changing plan.',
  subscribers: 'A subscription is a subscriber from its first trialing, active, past-due or paused day until it is cancelled; a Checkout never paid never is.',
  active: 'Billed and in good standing.',
  trialing: 'In a free trial: not billed yet, no MRR.',
  pastDue: 'A renewal payment failed and is being retried: MRR still counts until dunning ends.',
  paused: 'Paused: counts 0 MRR, but is not churn.',
  newSubscribers:
    'New: became subscribers this month (returning: shoppers who had cancelled a subscription before). Cancelled: counted on the day the subscription ended.',
  subscriberChurn:
    'Subscriber churn: cancelled ÷ subscribers at the start of the month. A subscription that starts and ends in the same month is not in the rates.',
  grossChurn: 'Gross MRR churn: (churned MRR + contraction) ÷ MRR at the start of the month.',
  netChurn: 'Net MRR churn: (churned MRR + contraction − expansion − reactivation) ÷ MRR at the start; negative when the store grows from its own subscribers.',
  causes:
    'Voluntary: cancelled by the shopper or the store. Involuntary: cancelled because dunning ended unpaid, counted when dunning ends, never at the first failed payment.',
} as const;

/** The kinds of MRR movement, as the page names them; `down` kinds take MRR away. */
const MOVEMENTS = [
  { key: 'newMinor', bucket: 'new', label: 'New', direction: 'up' },
  { key: 'reactivationMinor', bucket: 'reactivation', label: 'Reactivation', direction: 'up' },
  { key: 'expansionMinor', bucket: 'expansion', label: 'Expansion', direction: 'up' },
  { key: 'resumedMinor', bucket: 'resumed', label: 'Resumed', direction: 'up' },
  { key: 'transferInMinor', bucket: 'transferIn', label: 'Moved in', direction: 'up' },
  { key: 'contractionMinor', bucket: 'contraction', label: 'Contraction', direction: 'down' },
  { key: 'churnMinor', bucket: 'churn', label: 'Churn', direction: 'down' },
  { key: 'pausedMinor', bucket: 'paused', label: 'Paused', direction: 'down' },
  { key: 'transferOutMinor', bucket: 'transferOut', label: 'Moved out', direction: 'down' },
] as const;

type MrrCurrency = MrrReport['currencies'][number];
type SubscriberCurrency = SubscriberReport['currencies'][number];
type ChurnCurrency = ChurnReport['currencies'][number];

/** Nothing moved and nothing was there: a chart would only draw zeros. */
function isQuiet(mrr: MrrCurrency | undefined, subs: SubscriberCurrency | undefined): boolean {
  const mrrQuiet = !mrr || mrr.months.every((m) => m.startMrrMinor === 0 && m.endMrrMinor === 0 && MOVEMENTS.every((k) => m[k.key] === 0));
  const subsQuiet = !subs || subs.months.every((m) => m.startCount === 0 && m.endCount === 0 && m.new === 0 && m.cancelled === 0);
  return mrrQuiet && subsQuiet;
}

/**
 * Without a plan filter, a subscription moving between plans of one currency leaves and arrives in the same
 * figures: its transfer out and in cancel out (docs/analytics.md), so only what is left of them is shown.
 */
function netTransfers(entry: MrrCurrency): MrrCurrency {
  return {
    ...entry,
    months: entry.months.map((m) => {
      const net = m.transferInMinor - m.transferOutMinor;
      return { ...m, transferInMinor: Math.max(0, net), transferOutMinor: Math.max(0, -net) };
    }),
  };
}

function mrrSection(entry: MrrCurrency, currency: string, locale: string, links: (month: string) => string) {
  const fmt = (v: number) => money(v, currency, locale);
  const labels = entry.months.map((m) => monthShort(m.month, locale));
  // Kinds that moved nothing in the range are left out of the chart and the table (the definitions still say them).
  const used = MOVEMENTS.filter((k) => entry.months.some((m) => m[k.key] !== 0));
  const series: BarSeries[] = used.map((k) => ({ name: k.label, direction: k.direction, values: entry.months.map((m) => m[k.key]) }));
  const first = entry.months[0]!;
  const last = entry.months.at(-1)!;
  return {
    now: fmt(entry.mrrMinor),
    line: lineChart({
      id: 'chart-mrr',
      title: `MRR in ${currency} at the end of each month`,
      desc: `From ${fmt(first.endMrrMinor)} at the end of ${monthLong(first.month, locale)} to ${fmt(last.endMrrMinor)} at the end of ${monthLong(last.month, locale)}. The table below has every month.`,
      format: fmt,
      labels,
      series: [{ name: 'MRR at the end of the month', values: entry.months.map((m) => m.endMrrMinor) }],
    }),
    movements: barChart({
      id: 'chart-movements',
      title: `MRR movements in ${currency} per month`,
      desc: 'For each month, MRR gained stacked above the axis (new, reactivation, expansion, resumed) and MRR lost below it (contraction, churn, paused); each month’s bars open the facts behind them. The table below has every figure.',
      format: fmt,
      labels,
      series,
      links: entry.months.map((m) => ({ href: links(m.month), name: `${monthLong(m.month, locale)}: the MRR movements and the facts behind them` })),
    }),
    columns: used.map((k) => ({ label: k.label, direction: k.direction })),
    rows: entry.months.map((m) => ({
      month: monthLong(m.month, locale),
      href: links(m.month),
      start: fmt(m.startMrrMinor),
      cells: used.map((k) => (k.direction === 'down' && m[k.key] !== 0 ? fmt(-m[k.key]) : fmt(m[k.key]))),
      net: fmt(m.netChangeMinor),
      end: fmt(m.endMrrMinor),
    })),
  };
}

function subscriberSection(entry: SubscriberCurrency | undefined, months: string[], locale: string, netted: boolean) {
  const net = (m: SubscriberCurrency['months'][number]) => {
    const moved = m.transferIn - m.transferOut;
    return netted ? { ...m, transferIn: Math.max(0, moved), transferOut: Math.max(0, -moved) } : m;
  };
  const rows =
    entry?.months.map(net) ??
    months.map((month) => ({ month, startCount: 0, new: 0, reactivated: 0, cancelled: 0, transferIn: 0, transferOut: 0, endCount: 0 }));
  const current = entry?.current ?? { active: 0, trialing: 0, pastDue: 0, paused: 0 };
  const count = (v: number) => v.toLocaleString(locale);
  const labels = rows.map((m) => monthShort(m.month, locale));
  const first = rows[0]!;
  const last = rows.at(-1)!;
  return {
    now: [
      { label: 'Active', value: count(current.active), definition: DEFINITIONS.active },
      { label: 'Free trial', value: count(current.trialing), definition: DEFINITIONS.trialing },
      { label: 'Payment failing', value: count(current.pastDue), definition: DEFINITIONS.pastDue },
      { label: 'Paused', value: count(current.paused), definition: DEFINITIONS.paused },
    ],
    line: lineChart({
      id: 'chart-subscribers',
      integers: true,
      title: 'Subscribers at the end of each month',
      desc: `From ${count(first.endCount)} at the end of ${monthLong(first.month, locale)} to ${count(last.endCount)} at the end of ${monthLong(last.month, locale)}. The table below has every month.`,
      format: count,
      labels,
      series: [{ name: 'Subscribers at the end of the month', values: rows.map((m) => m.endCount) }],
    }),
    flow: barChart({
      id: 'chart-subscriber-flow',
      integers: true,
      title: 'New and cancelled subscribers per month',
      desc: 'For each month, new subscribers above the axis (first-time and returning shoppers apart) and cancelled subscribers below it. The table below has every figure.',
      format: count,
      labels,
      series: [
        { name: 'New', direction: 'up', values: rows.map((m) => m.new - m.reactivated) },
        { name: 'Returning', direction: 'up', values: rows.map((m) => m.reactivated) },
        { name: 'Cancelled', direction: 'down', values: rows.map((m) => m.cancelled) },
      ],
    }),
    moved: rows.some((m) => m.transferIn || m.transferOut),
    rows: rows.map((m) => ({
      month: monthLong(m.month, locale),
      start: count(m.startCount),
      new: count(m.new),
      reactivated: count(m.reactivated),
      cancelled: count(m.cancelled),
      moved: m.transferIn || m.transferOut ? `+${count(m.transferIn)} / −${count(m.transferOut)}` : '—',
      end: count(m.endCount),
    })),
  };
}

function churnSection(entry: ChurnCurrency | undefined, currency: string, locale: string) {
  if (!entry) return null;
  const fmt = (v: number) => money(v, currency, locale);
  const pct = (v: number) => percent(v, locale);
  const count = (v: number) => v.toLocaleString(locale);
  const labels = entry.months.map((m) => monthShort(m.month, locale));
  return {
    rates: lineChart({
      id: 'chart-churn-rates',
      title: 'Churn rates per month',
      desc: 'Subscriber churn, gross MRR churn and net MRR churn for each month, as percentages; a gap where nothing was there at the start of the month. The table below has every figure.',
      format: pct,
      labels,
      series: [
        { name: 'Subscriber churn', values: entry.months.map((m) => m.subscriberChurnRate) },
        { name: 'Gross MRR churn', values: entry.months.map((m) => m.grossMrrChurnRate) },
        { name: 'Net MRR churn', values: entry.months.map((m) => m.netMrrChurnRate) },
      ],
    }),
    causes: barChart({
      id: 'chart-churn-causes',
      integers: true,
      title: 'Cancelled subscribers per month, voluntary and involuntary',
      desc: 'For each month, subscribers cancelled by the shopper or the store (voluntary) and cancelled because dunning ended unpaid (involuntary), stacked. The table below has every figure.',
      format: count,
      labels,
      series: [
        { name: 'Voluntary', direction: 'up', values: entry.months.map((m) => m.voluntary) },
        { name: 'Involuntary', direction: 'up', values: entry.months.map((m) => m.involuntary) },
      ],
    }),
    rows: entry.months.map((m) => ({
      month: monthLong(m.month, locale),
      atStart: count(m.subscribersAtStart),
      cancelled: count(m.cancelled),
      voluntary: count(m.voluntary),
      involuntary: count(m.involuntary),
      sameMonth: count(m.cancelledSameMonth),
      subscriberRate: percent(m.subscriberChurnRate, locale),
      mrrAtStart: fmt(m.mrrAtStartMinor),
      churnVoluntary: fmt(m.churnVoluntaryMinor),
      churnInvoluntary: fmt(m.churnInvoluntaryMinor),
      gross: percent(m.grossMrrChurnRate, locale),
      net: percent(m.netMrrChurnRate, locale),
    })),
  };
}

export function analyticsPages(deps: { clock: Clock }): Router {
  const router = Router();
  const { clock } = deps;

  const choices = storeChoices;

  async function refuse(res: Response, merchantId: string, refused: FieldErrors, typed: Record<string, string | undefined>): Promise<void> {
    const { plans, currencies } = await choices(merchantId);
    const errors = Object.fromEntries(Object.entries(refused).map(([field, message]) => [field, SERVICE_WORDS[message] ?? message]));
    res.status(400).render('merchant/analytics/index', {
      title: 'Analytics',
      nav: analyticsNav('overview'),
      form: {
        from: typed.from ?? '',
        to: typed.to ?? '',
        currency: typed.currency ?? '',
        plan: typed.plan ?? '',
        plans,
        currencies,
        fields: ALL_FIELDS,
        action: '/merchant/analytics',
      },
      errors,
      report: null,
      empty: null,
      definitions: DEFINITIONS,
    });
  }

  router.get('/merchant/analytics', requireMerchant, demoNote, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const locale = localeOf(req);
    const form = readQuery(req.query);
    if (!form.ok) return refuse(res, me.merchantId, form.errors, form.typed);
    const { from, to, currency: asked, plan } = form.value;
    const store = await choices(me.merchantId);
    if (plan && !store.plans.some((p) => p.value === plan)) return refuse(res, me.merchantId, { plan: 'Choose a plan from the list' }, form.value);

    const base: MetricsQuery = { format: 'json', ...(from ? { from } : {}), ...(to ? { to } : {}), ...(plan ? { plan } : {}) };
    let mrr: MrrReport;
    try {
      mrr = await mrrReport(clock, me.merchantId, base);
    } catch (error) {
      const errors = errorsOf(error);
      if (!errors) throw error;
      return refuse(res, me.merchantId, errors, form.value);
    }
    const currencies = [...new Set([...store.currencies, ...mrr.currencies.map((c) => c.currency)])].sort();
    if (asked && !currencies.includes(asked)) return refuse(res, me.merchantId, { currency: 'Choose a currency from the list' }, form.value);
    const merchant = await merchantProfile(me.merchantId);
    const withData = mrr.currencies.map((c) => c.currency);
    const currency = asked ?? (withData.includes(merchant?.defaultCurrency ?? '') ? merchant!.defaultCurrency : (withData[0] ?? currencies[0]));
    const formView = {
      from: mrr.from,
      to: mrr.to,
      currency: currency ?? '',
      plan: plan ?? '',
      plans: store.plans,
      currencies,
      fields: ALL_FIELDS,
      action: '/merchant/analytics',
    };
    const nav = analyticsNav('overview', { from: mrr.from, to: mrr.to, currency, plan });
    const page = { title: 'Analytics', nav, form: formView, errors: {}, definitions: DEFINITIONS, timezone: mrr.timezone };

    if (mrr.currencies.length === 0 || !currency) {
      const empty = plan
        ? 'No figures for this plan yet: they appear after its first subscription.'
        : 'No subscriptions yet: figures appear after the first paid box.';
      return res.render('merchant/analytics/index', { ...page, report: null, empty });
    }
    const query: MetricsQuery = { ...base, from: mrr.from, to: mrr.to, currency };
    const [subs, churn] = await Promise.all([subscriberReport(clock, me.merchantId, query), churnReport(clock, me.merchantId, query)]);
    const mrrEntry = mrr.currencies.find((c) => c.currency === currency);
    const subsEntry = subs.currencies.find((c) => c.currency === currency);
    if (!mrrEntry || isQuiet(mrrEntry, subsEntry)) {
      const empty = `No figures in ${currency} for these months${plan ? ' and this plan' : ''}: nothing was billed, started or cancelled. Choose other months${currencies.length > 1 ? ' or another currency' : ''}.`;
      return res.render('merchant/analytics/index', { ...page, report: null, empty });
    }
    const shared = { from: mrr.from, to: mrr.to, currency, plan };
    const csv = (family: string) => `/merchant/analytics/${family}.csv${queryString(shared)}`;
    const months = mrrEntry.months.map((m) => m.month);
    res.render('merchant/analytics/index', {
      ...page,
      empty: null,
      report: {
        currency,
        range: `${monthLong(mrr.from, locale)} to ${monthLong(mrr.to, locale)}`,
        csv: { mrr: csv('mrr'), subscribers: csv('subscribers'), churn: csv('churn') },
        mrr: mrrSection(
          plan ? mrrEntry : netTransfers(mrrEntry),
          currency,
          locale,
          (month) => `/merchant/analytics/movements/${month}${queryString({ currency, plan })}`,
        ),
        subscribers: subscriberSection(subsEntry, months, locale, !plan),
        churn: churnSection(
          churn.currencies.find((c) => c.currency === currency),
          currency,
          locale,
        ),
      },
    });
  });

  // The CSV of each family: the API's report and the API's CSV, through the merchant's session.
  const families = { mrr: mrrReport, subscribers: subscriberReport, churn: churnReport } as const;
  for (const [family, report] of Object.entries(families)) {
    router.get(`/merchant/analytics/${family}.csv`, requireMerchant, async (req: Request, res: Response) => {
      const me = signedInMerchant(res);
      const form = readQuery(req.query);
      if (!form.ok) return refuse(res, me.merchantId, form.errors, form.typed);
      const store = await choices(me.merchantId);
      if (form.value.plan && !store.plans.some((p) => p.value === form.value.plan))
        return refuse(res, me.merchantId, { plan: 'Choose a plan from the list' }, form.value);
      let figures: Awaited<ReturnType<typeof report>>;
      try {
        figures = await report(clock, me.merchantId, { ...form.value, format: 'csv' });
      } catch (error) {
        const errors = errorsOf(error);
        if (!errors) throw error;
        return refuse(res, me.merchantId, errors, form.value);
      }
      // A currency the store neither sells in nor has figures in is not a choice (as on the page).
      const asked = form.value.currency;
      if (asked && !store.currencies.includes(asked) && figures.currencies.length === 0)
        return refuse(res, me.merchantId, { currency: 'Choose a currency from the list' }, form.value);
      const body = metricsCsv(figures);
      res.set('content-disposition', `attachment; filename="${family}.csv"`).type('text/csv; charset=utf-8').send(body);
    });
  }

  const MovementsQuery = AnalyticsForm.pick({ currency: true, plan: true });
  router.get('/merchant/analytics/movements/:month', requireMerchant, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const locale = localeOf(req);
    const month = Month.safeParse(req.params.month);
    const query = MovementsQuery.safeParse(req.query);
    if (!month.success || !query.success || !query.data.currency) throw new NotFoundError('No such month.');
    const { currency, plan } = query.data;
    const filter = { from: month.data, to: month.data, currency, ...(plan ? { plan } : {}) };
    const [mrr, behind] = await Promise.all([
      mrrReport(clock, me.merchantId, { ...filter, format: 'json' }),
      movementsBehindMonth(me.merchantId, month.data, { currency, ...(plan ? { plan } : {}) }),
    ]);
    const entry = mrr.currencies.find((c) => c.currency === currency);
    const row = entry ? (plan ? entry : netTransfers(entry)).months[0] : undefined;
    const fmt = (v: number) => money(v, currency, locale);
    const plans = new Map((await findPlans(me.merchantId, [...new Set(behind.days.map((d) => d.planId))])).map((p) => [p._id, p.name]));
    const shoppers = new Map(
      (await customersByIds(me.merchantId, behind.days.flatMap((d) => d.facts.map((f) => f.customerId ?? '')).filter(Boolean))).map((c) => [c._id, c.name]),
    );
    const title = `MRR movements, ${monthLong(month.data, locale)}`;
    res.render('merchant/analytics/movements', {
      title,
      nav: analyticsNav('overview', { currency, plan }),
      back: `/merchant/analytics${queryString({ currency, plan })}`,
      currency,
      waterfall: row
        ? waterfallChart({
            id: 'chart-waterfall',
            title: `${title}, in ${currency}`,
            desc: `MRR from ${fmt(row.startMrrMinor)} at the start of the month to ${fmt(row.endMrrMinor)} at its end, each movement a step up or down. The table below lists the days and facts behind it.`,
            format: fmt,
            steps: [
              { label: 'Start', kind: 'total', value: row.startMrrMinor },
              ...MOVEMENTS.filter((k) => row[k.key] !== 0).map((k) => ({
                label: k.label,
                kind: 'change' as const,
                value: k.direction === 'down' ? -row[k.key] : row[k.key],
              })),
              { label: 'End', kind: 'total', value: row.endMrrMinor },
            ],
          })
        : null,
      definition: DEFINITIONS.movements,
      days: behind.days.map((d) => ({
        day: dayLong(d.day, locale),
        plan: plans.get(d.planId) ?? 'A plan no longer in the catalog',
        moved: MOVEMENTS.filter((k) => d.mrr[k.bucket] !== 0).map(
          (k) => `${k.label} ${k.direction === 'down' ? fmt(-d.mrr[k.bucket]) : `+${fmt(d.mrr[k.bucket])}`}`,
        ),
        facts: d.facts.map((f) => {
          const words = describeFact(f.type, f.data, { locale, timezone: mrr.timezone });
          return { href: `/merchant/subscribers/${f.subjectId}`, shopper: shoppers.get(f.customerId ?? '') ?? 'A shopper', text: words };
        }),
      })),
      truncated: behind.truncated,
    });
  });

  router.use(analyticsRetentionPages(deps));
  router.use(analyticsBoxPages(deps));
  return router;
}
