import type { z } from 'zod';
import type { Addon } from '../../addons/addon.model';
import { findAddons } from '../../addons/addon.queries';
import { listAddons } from '../../addons/addon.service';
import { loyaltyTiersOf } from '../../loyalty/loyalty.queries';
import type { Plan } from '../../plans/plan.model';
import { activePlansOf, findPlans } from '../../plans/plan.queries';
import { formatMoney, toDecimalString } from '../../shared/money';
import { NotFoundError } from '../../shared/errors';
import type { FieldErrors } from '../forms';
import { longDate } from '../shop/shop-view';
import { minorUnitsOf, placeRefusal as placeCatalogRefusal, type FieldOf } from './catalog-forms';

/**
 * What the merchant's perks, loyalty and offers pages share (src/web/merchant/{perks,loyalty,offers}.pages.ts; the gifts, referrals and
 * promo-code pages share retention-forms.ts):
 * flat urlencoded fields read into the API's own request bodies and checked by the same Zod schemas, each
 * refusal placed beside its field in words a merchant reads ("Must be at most 100", not Zod's wording), the
 * eligibility fields perks and offers share, and how an eligibility reads in words.
 */

/** What was typed: a field's text, or the values of a field that can be chosen more than once (checkboxes). */
export type RetentionValues = Record<string, string | string[]>;
export type RetentionForm<T> = { ok: true; body: T; values: RetentionValues } | { ok: false; errors: FieldErrors; values: RetentionValues };

/** The form's fields: `single` ones as one string, `multi` ones as a list (a checkbox sent once or more); anything else is refused. */
export function formFields(body: unknown, single: ReadonlySet<string>, multi: ReadonlySet<string> = new Set()) {
  const { _csrf: _token, ...fields } = (body ?? {}) as Record<string, unknown>;
  const values: RetentionValues = {};
  const errors: FieldErrors = {};
  for (const [name, value] of Object.entries(fields)) {
    if (single.has(name) && typeof value === 'string') values[name] = value;
    else if (multi.has(name) && (typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string')))) {
      values[name] = typeof value === 'string' ? [value] : value;
    } else errors._form = 'This form has fields it should not have.';
  }
  return { values, errors };
}

export function text(values: RetentionValues, field: string): string {
  const value = values[field];
  return typeof value === 'string' ? value.trim() : '';
}

export function list(values: RetentionValues, field: string): string[] {
  const value = values[field];
  return Array.isArray(value) ? value : typeof value === 'string' && value ? [value] : [];
}

/** A whole number typed in a field (empty: undefined); not one: the error beside it. */
export function wholeNumberIn(values: RetentionValues, field: string, errors: FieldErrors, words: string): number | undefined {
  const typed = text(values, field);
  if (typed === '') return undefined;
  if (!/^\d{1,12}$/.test(typed)) {
    errors[field] ??= words;
    return undefined;
  }
  return Number(typed);
}

/** An amount typed as a decimal ("5.00") in the merchant's currency → minor units; not one: the error beside it. */
export function amountIn(values: RetentionValues, field: string, currency: string, errors: FieldErrors): number | undefined {
  const amount = minorUnitsOf(text(values, field), currency);
  if (!amount.ok) {
    errors[field] ??= amount.error === 'Type a price' ? 'Type an amount' : amount.error;
    return undefined;
  }
  return amount.value;
}

/** The schema's and services' words that name API fields, said as a merchant reads them. */
const PLAIN_WORDS: Record<string, string> = {
  'is before startsOn': 'Must be on or after the start date',
  'must not be more than minSpendMinor': 'Must not be more than the spend to reach',
  'lower-case letters, digits, _ and -': 'Use lower-case letters, digits, _ and - only',
  'give either percentOff or amountOffMinor': 'Type the percent or the amount off',
  'tier keys must be unique': 'Each tier needs its own code',
  'must be a real date YYYY-MM-DD between 2000 and 2199': 'Choose a real date',
};

function sentence(message: string): string {
  const plain = PLAIN_WORDS[message.charAt(0).toLowerCase() + message.slice(1)] ?? message;
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}

/** A service's refusal (fields named by body path) placed on the form's fields, in plain words. */
export function placeRefusal(refused: FieldErrors, fieldOf: FieldOf): FieldErrors {
  return Object.fromEntries(Object.entries(placeCatalogRefusal(refused, fieldOf)).map(([field, message]) => [field, sentence(message)]));
}

/** A schema issue in a merchant's words: limits said plainly, the schema's own sentences otherwise. */
function wordsOf(issue: z.core.$ZodIssue, money?: (amountMinor: number) => string): string {
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
    const least = issue.code === 'too_small';
    if (issue.origin === 'string')
      return least ? (limit <= 1 ? 'Fill this in' : `Type at least ${limit} characters`) : `Keep it to ${limit} characters or fewer`;
    if (issue.origin === 'array') return least ? (limit <= 1 ? 'Choose at least one' : `Choose at least ${limit}`) : `Choose at most ${limit}`;
    if (issue.origin === 'number') {
      const shown = money ? money(limit) : limit.toLocaleString('en-US');
      return least ? `Must be at least ${shown}` : `Must be at most ${shown}`;
    }
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'Fill this in';
  return sentence(issue.message);
}

/**
 * The schema's issues, each on the form field `fieldOf` names for its path (the first per field); `moneyFields`
 * are amounts typed as decimals, whose limits are said in the currency.
 */
export function placeIssues(error: z.ZodError, fieldOf: FieldOf, errors: FieldErrors, money?: { fields: ReadonlySet<string>; currency: string }): void {
  for (const issue of error.issues) {
    const field = fieldOf(issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)));
    const asMoney = money && money.fields.has(field) ? (amountMinor: number) => formatMoney(amountMinor, money.currency) : undefined;
    errors[field] ??= wordsOf(issue, asMoney);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Who a perk or an offer is for (EligibilityInput)
// ---------------------------------------------------------------------------------------------------------

export const ELIGIBILITY_FIELDS = { single: ['minPaidBoxes', 'startsOn', 'endsOn'], multi: ['planIds', 'tierKeys'] } as const;

/** The eligibility fields → the EligibilityInput the schema checks (conditions left empty are not set). */
export function eligibilityIn(values: RetentionValues, errors: FieldErrors): Record<string, unknown> {
  const minPaidBoxes = wholeNumberIn(values, 'minPaidBoxes', errors, 'Type a whole number of boxes, such as 3, or leave it empty');
  const planIds = list(values, 'planIds');
  const tierKeys = list(values, 'tierKeys');
  return {
    ...(planIds.length ? { planIds } : {}),
    ...(minPaidBoxes !== undefined ? { minPaidBoxes } : {}),
    ...(tierKeys.length ? { tierKeys } : {}),
    ...(text(values, 'startsOn') ? { startsOn: text(values, 'startsOn') } : {}),
    ...(text(values, 'endsOn') ? { endsOn: text(values, 'endsOn') } : {}),
  };
}

/** Where an issue under `eligibility` goes: the field of the same name. */
export function eligibilityFieldOf(rest: Array<string | number>): string {
  const head = rest[0];
  return typeof head === 'string' && ['planIds', 'tierKeys', 'minPaidBoxes', 'startsOn', 'endsOn'].includes(head) ? head : '_form';
}

/** What the eligibility fields offer to choose from: the merchant's plans on offer, tiers and add-ons on offer. */
export interface Choices {
  plans: Array<{ id: string; name: string }>;
  tiers: Array<{ key: string; name: string }>;
  addons: Array<{ id: string; name: string }>;
  currency: string;
}

export async function choicesOf(merchantId: string, currency: string): Promise<Choices> {
  const [plans, tiers, addons] = await Promise.all([
    activePlansOf(merchantId),
    loyaltyTiersOf(merchantId),
    listAddons(merchantId, { limit: 100, status: 'active' }),
  ]);
  return {
    plans: plans.map((plan) => ({ id: plan._id, name: plan.name })),
    tiers,
    addons: addons.data.map((addon) => ({ id: addon.id, name: addon.name })).sort((a, b) => a.name.localeCompare(b.name)),
    currency,
  };
}

/** The names of what a perk or offer names (plans, add-ons, tiers), for its words; one no longer found reads as its id. */
export interface Names {
  plan(id: string): string;
  addon(id: string): string;
  tier(key: string): string;
}

export async function namesFor(merchantId: string, refs: { planIds: string[]; addonIds: string[] }): Promise<Names> {
  const [plans, addons, tiers] = await Promise.all([findPlans(merchantId, refs.planIds), findAddons(merchantId, refs.addonIds), loyaltyTiersOf(merchantId)]);
  const planNames = new Map(plans.map((plan: Plan) => [plan._id, plan.name]));
  const addonNames = new Map(addons.map((addon: Addon) => [addon._id, addon.name]));
  const tierNames = new Map(tiers.map((tier) => [tier.key, tier.name]));
  return {
    plan: (id) => planNames.get(id) ?? id,
    addon: (id) => addonNames.get(id) ?? id,
    tier: (key) => tierNames.get(key) ?? key,
  };
}

interface EligibilityLike {
  planIds?: string[] | undefined;
  minPaidBoxes?: number | undefined;
  tierKeys?: string[] | undefined;
  startsOn?: string | undefined;
  endsOn?: string | undefined;
}

/** Who it is for, in words: "Every subscriber", or each condition ("On Coffee box or Tea box", "After 3 paid boxes"…). */
export function eligibilityWords(eligibility: EligibilityLike, names: Names, locale: string): string[] {
  const words: string[] = [];
  if (eligibility.planIds?.length) words.push(`On ${eligibility.planIds.map((id) => names.plan(id)).join(' or ')}`);
  if (eligibility.minPaidBoxes) words.push(`After ${eligibility.minPaidBoxes} paid ${eligibility.minPaidBoxes === 1 ? 'box' : 'boxes'}`);
  if (eligibility.tierKeys?.length) words.push(`In the ${eligibility.tierKeys.map((key) => names.tier(key)).join(' or ')} tier`);
  if (eligibility.startsOn && eligibility.endsOn)
    words.push(`Boxes charged from ${longDate(eligibility.startsOn, locale)} to ${longDate(eligibility.endsOn, locale)}`);
  else if (eligibility.startsOn) words.push(`Boxes charged from ${longDate(eligibility.startsOn, locale)}`);
  else if (eligibility.endsOn) words.push(`Boxes charged until ${longDate(eligibility.endsOn, locale)}`);
  return words.length ? words : ['Every subscriber'];
}

/** An id from a page's path; one that cannot be an id is simply not found. */
export function idOf(value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 100) throw new NotFoundError('Not found.');
  return value;
}

/** An amount of minor units as typed back into a form ("5.00"). */
export function decimal(amountMinor: number, currency: string): string {
  return toDecimalString(amountMinor, currency);
}

/** "Retention › Perks": the breadcrumb each Retention page shows, back to the hub. */
export function crumbs(...trail: Array<{ label: string; href?: string }>) {
  return [{ label: 'Retention', href: '/merchant/retention' }, ...trail];
}
