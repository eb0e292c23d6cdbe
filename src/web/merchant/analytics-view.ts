import type { Response } from 'express';
import { z } from 'zod';
import { merchantProfile } from '../../merchants/merchant.queries';
import { activePlansOf } from '../../plans/plan.queries';
import { errorsOf, type FieldErrors } from '../forms';

/**
 * What every analytics page shares (`/merchant/analytics*`): the form of a range of local months, a currency and
 * a plan read from the address (refusals beside the fields, never a 5xx), the sub-navigation, and the writing
 * of months and rates in the merchant's locale. Money is written by `money` (src/web/shop/shop-view.ts).
 */

/** The metrics services' refusals of a range, in the words of the form's fields. */
export const SERVICE_WORDS: Record<string, string> = {
  'must not be after to': 'Choose a first month no later than the last one',
  'the range can be at most 36 months': 'Choose at most 36 months',
};

const blank = (value: unknown) => (value === '' ? undefined : value);
export const Month = z
  .string({ error: 'Type a month as YYYY-MM' })
  .regex(/^(20[0-9]{2}|21[0-9]{2})-(0[1-9]|1[0-2])$/, { error: 'Type a month as YYYY-MM, e.g. 2026-03' });

export const AnalyticsForm = z.strictObject({
  from: z.preprocess(blank, Month.optional()),
  to: z.preprocess(blank, Month.optional()),
  currency: z.preprocess(
    blank,
    z
      .string({ error: 'Choose a currency from the list' })
      .regex(/^[A-Z]{3}$/, { error: 'Choose a currency from the list' })
      .optional(),
  ),
  plan: z.preprocess(
    blank,
    z
      .string({ error: 'Choose a plan from the list' })
      .regex(/^plan_[0-9a-z]{1,40}$/, { error: 'Choose a plan from the list' })
      .optional(),
  ),
});
export type AnalyticsForm = z.output<typeof AnalyticsForm>;

/** Which of the form's fields a page (and the report behind it) accepts. */
export interface FormFields {
  currency: boolean;
  plan: boolean;
}
export const ALL_FIELDS: FormFields = { currency: true, plan: true };

function formFor(fields: FormFields) {
  return AnalyticsForm.pick({ from: true, to: true, ...(fields.currency ? { currency: true } : {}), ...(fields.plan ? { plan: true } : {}) });
}

/** The query's fields as a form reads them: a repeated field or an unknown one is refused, never a 5xx. */
export function readQuery(
  query: unknown,
  fields: FormFields = ALL_FIELDS,
): { ok: true; value: AnalyticsForm } | { ok: false; errors: FieldErrors; typed: Record<string, string> } {
  const raw = (query ?? {}) as Record<string, unknown>;
  const typed = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v : '']));
  const parsed = formFor(fields).safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const field = issue.code === 'unrecognized_keys' ? '_form' : issue.path.map(String).join('.') || '_form';
    errors[field] ??= issue.code === 'unrecognized_keys' ? 'This address has fields the page does not know: choose again below.' : issue.message;
  }
  return { ok: false, errors, typed };
}

export function queryString(fields: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function monthShort(month: string, locale: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Intl.DateTimeFormat(locale, { month: 'short', year: '2-digit', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1));
}

export function monthLong(month: string, locale: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Intl.DateTimeFormat(locale, { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1));
}

export function dayLong(day: string, locale: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, d));
}

export function percent(value: number | null, locale: string): string {
  return value === null ? '—' : new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 2 }).format(value);
}

export function count(value: number, locale: string): string {
  return value.toLocaleString(locale);
}

/** A number that may be missing (a median of nothing, an average of no ratings). */
export function decimal(value: number | null, locale: string): string {
  return value === null ? '—' : value.toLocaleString(locale, { maximumFractionDigits: 2 });
}

/** The pages of the analytics' sub-navigation, in order. */
export const ANALYTICS_PAGES = [
  { key: 'overview', path: '/merchant/analytics', label: 'MRR, subscribers and churn', fields: ALL_FIELDS },
  { key: 'cohorts', path: '/merchant/analytics/cohorts', label: 'Cohorts', fields: ALL_FIELDS },
  { key: 'ltv', path: '/merchant/analytics/ltv', label: 'Lifetime value', fields: ALL_FIELDS },
  { key: 'leaving', path: '/merchant/analytics/leaving', label: 'Why they leave', fields: ALL_FIELDS },
  { key: 'dunning', path: '/merchant/analytics/dunning', label: 'Dunning', fields: ALL_FIELDS },
  { key: 'box-service', path: '/merchant/analytics/box-service', label: 'Box service', fields: { currency: false, plan: false } },
] as const;
export type AnalyticsPageKey = (typeof ANALYTICS_PAGES)[number]['key'];

/** The sub-navigation's links, each keeping the chosen months (and currency and plan where the page takes them). */
export function analyticsNav(current: AnalyticsPageKey, scope: Partial<AnalyticsForm> = {}) {
  return ANALYTICS_PAGES.map((p) => ({
    href: `${p.path}${queryString({
      from: scope.from,
      to: scope.to,
      ...(p.fields.currency ? { currency: scope.currency } : {}),
      ...(p.fields.plan ? { plan: scope.plan } : {}),
    })}`,
    label: p.label,
    current: p.key === current,
  }));
}

/** The store's choices: its plans and the currencies it sells or has figures in. */
export async function storeChoices(merchantId: string, extraCurrencies: string[] = []) {
  const plans = await activePlansOf(merchantId);
  const currencies = [...new Set([...plans.map((p) => p.currency), ...extraCurrencies])].sort();
  return { plans: plans.map((p) => ({ value: p._id, label: `${p.name} (${p.currency})` })), currencies };
}

export interface FormView {
  from: string;
  to: string;
  currency: string;
  plan: string;
  plans: Array<{ value: string; label: string }>;
  currencies: string[];
  fields: FormFields;
  action: string;
}

type PageRef = { key: AnalyticsPageKey; view: string; title: string; merchantId: string };

/** The page's form again, with what was typed and the errors beside the fields (400); answers null. */
function refusePage(
  res: Response,
  page: PageRef,
  store: Awaited<ReturnType<typeof storeChoices>>,
  refused: FieldErrors,
  typed: Record<string, string | undefined>,
): null {
  const meta = ANALYTICS_PAGES.find((p) => p.key === page.key)!;
  const errors = Object.fromEntries(Object.entries(refused).map(([field, message]) => [field, SERVICE_WORDS[message] ?? message]));
  res.status(400).render(page.view, {
    title: page.title,
    nav: analyticsNav(page.key),
    form: {
      from: typed.from ?? '',
      to: typed.to ?? '',
      currency: typed.currency ?? '',
      plan: typed.plan ?? '',
      ...store,
      fields: meta.fields,
      action: meta.path,
    },
    errors,
    report: null,
    empty: null,
  });
  return null;
}

/**
 * A report's CSV through the merchant's session, as the API answers it with `format=csv`: the same query read
 * as the page reads it (refusals answer the page's form, 400), then the report and the API's rows.
 */
export async function sendAnalyticsCsv<R>(
  res: Response,
  page: PageRef & { query: unknown; file: string },
  load: (scope: AnalyticsForm) => Promise<R>,
  csv: (report: R) => { body: string; empty: boolean },
): Promise<void> {
  const meta = ANALYTICS_PAGES.find((p) => p.key === page.key)!;
  const store = await storeChoices(page.merchantId);
  const form = readQuery(page.query, meta.fields);
  if (!form.ok) return void refusePage(res, page, store, form.errors, form.typed);
  if (form.value.plan && !store.plans.some((p) => p.value === form.value.plan))
    return void refusePage(res, page, store, { plan: 'Choose a plan from the list' }, form.value);
  let report: R;
  try {
    report = await load(form.value);
  } catch (error) {
    const errors = errorsOf(error);
    if (!errors) throw error;
    return void refusePage(res, page, store, errors, form.value);
  }
  const { body, empty } = csv(report);
  // A currency the store neither sells in nor has figures in is not a choice (as on the page).
  const asked = form.value.currency;
  if (asked && !store.currencies.includes(asked) && empty)
    return void refusePage(res, page, store, { currency: 'Choose a currency from the list' }, form.value);
  res.set('content-disposition', `attachment; filename="${page.file}.csv"`).type('text/csv; charset=utf-8').send(body);
}

/**
 * One analytics page's reading of its address, for the pages after the overview: the form checked, the plan
 * checked against the store's, the report read (its refusals shown beside the fields), and the currency chosen
 * among those the store sells or has figures in (the asked one, else the store's default, else the first).
 * Answers null when it has already answered the refusal (400, the form with what was typed).
 */
export async function readAnalyticsPage<R extends { from: string; to: string; timezone?: string }>(
  res: Response,
  page: PageRef & { query: unknown },
  load: (scope: AnalyticsForm) => Promise<R>,
  currenciesOf: (report: R) => string[] = () => [],
) {
  const meta = ANALYTICS_PAGES.find((p) => p.key === page.key)!;
  const fields: FormFields = meta.fields;
  const store = await storeChoices(page.merchantId);
  const refuse = (refused: FieldErrors, typed: Record<string, string | undefined>) => refusePage(res, page, store, refused, typed);
  const form = readQuery(page.query, fields);
  if (!form.ok) return refuse(form.errors, form.typed);
  const { plan, currency: asked } = form.value;
  if (plan && !store.plans.some((p) => p.value === plan)) return refuse({ plan: 'Choose a plan from the list' }, form.value);
  let report: R;
  try {
    report = await load({ ...form.value, currency: undefined });
  } catch (error) {
    const errors = errorsOf(error);
    if (!errors) throw error;
    return refuse(errors, form.value);
  }
  const withData = currenciesOf(report);
  const currencies = [...new Set([...store.currencies, ...withData])].sort();
  if (asked && !currencies.includes(asked)) return refuse({ currency: 'Choose a currency from the list' }, form.value);
  const merchant = await merchantProfile(page.merchantId);
  const fallback = merchant?.defaultCurrency && currencies.includes(merchant.defaultCurrency) ? merchant.defaultCurrency : currencies[0];
  const currency = asked ?? (withData.includes(merchant?.defaultCurrency ?? '') ? merchant!.defaultCurrency : (withData[0] ?? fallback));
  const scope = { from: report.from, to: report.to, currency: fields.currency ? currency : undefined, plan: fields.plan ? plan : undefined };
  const formView: FormView = {
    from: report.from,
    to: report.to,
    currency: currency ?? '',
    plan: plan ?? '',
    plans: store.plans,
    currencies,
    fields,
    action: meta.path,
  };
  return {
    report,
    currency,
    scope,
    /** What every render of the page carries. */
    page: { title: page.title, nav: analyticsNav(page.key, scope), form: formView, errors: {}, timezone: report.timezone },
    csv: (name: string) => `/merchant/analytics/${name}.csv${queryString(scope)}`,
  };
}
