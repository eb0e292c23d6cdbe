import type { z } from 'zod';
import { AdjustStockBody, CreateAddonBody, UpdateAddonBody, type AddonView } from '../../addons/addon.schemas';
import { CreatePlanBody, UpdatePlanBody, type PlanView } from '../../plans/plan.schemas';
import { fromDecimalString, isCurrency, minorDigits, toDecimalString } from '../../shared/money';
import type { FieldErrors } from '../forms';

/**
 * The catalog's forms (src/web/merchant/catalog.pages.ts): flat urlencoded fields (`variants.0.sku`,
 * `cadences.1.price`) read into the API's own request bodies (CreatePlanBody, UpdatePlanBody, CreateAddonBody…)
 * and checked by the same schemas. Prices are typed as decimals ("24.00") and become minor units in the
 * item's currency; each refusal is placed beside the form field it came from, in the merchant's words.
 */

export type FormValues = Record<string, string>;

/** Which form field a body path (`cadences.1.priceMinor`) came from. */
export type FieldOf = (path: Array<string | number>) => string;

/** A service's refusal (InvalidInputError, fields named by body path) placed on the form's fields. */
export function placeRefusal(refused: FieldErrors, fieldOf: FieldOf): FieldErrors {
  const errors: FieldErrors = {};
  for (const [field, message] of Object.entries(refused)) {
    errors[fieldOf(field.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part)))] ??= sentence(message);
  }
  return errors;
}

export type CatalogForm<T> = { ok: true; body: T; values: FormValues } | { ok: false; errors: FieldErrors; values: FormValues };

/** The most rows of variants or cadences a new-plan form shows (the API's limits are higher). */
export const MAX_ROWS = { variants: 40, cadences: 20 } as const;

/** "24.00" → 2400 in USD, "500" → 500 in JPY: the decimal a merchant types, in minor units of the currency. */
export function minorUnitsOf(text: string, currency: string): { ok: true; value: number } | { ok: false; error: string } {
  const typed = text.trim();
  const digits = minorDigits(currency);
  if (typed === '') return { ok: false, error: 'Type a price' };
  const value = fromDecimalString(typed, currency);
  if (value === undefined) {
    return {
      ok: false,
      error: digits === 0 ? `Type a whole amount, such as 500 (${currency} has no smaller unit)` : `Type an amount such as 24.${'0'.repeat(digits)}`,
    };
  }
  if (value > 99_999_999_99) return { ok: false, error: 'This amount is too large' };
  return { ok: true, value };
}

/** The form's fields as strings (a field sent twice, or not a string, is refused), only those `allowed`. */
function fieldsOf(body: unknown, allowed: (name: string) => boolean): { values: FormValues; problem?: string } {
  const { _csrf: _token, ...fields } = (body ?? {}) as Record<string, unknown>;
  const values: FormValues = {};
  let problem: string | undefined;
  for (const [name, value] of Object.entries(fields)) {
    if (!allowed(name) || typeof value !== 'string') {
      problem = 'This form has fields it should not have.';
      continue;
    }
    values[name] = value;
  }
  return problem ? { values, problem } : { values };
}

/** A schema's words, as a sentence beside a field: "must be …" → "Must be …". */
function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/** The schema's issues, each placed on the form field `fieldOf` names for its path (first issue per field). */
function placeIssues(error: z.ZodError, fieldOf: FieldOf, errors: FieldErrors): void {
  for (const issue of error.issues) {
    const field = fieldOf(issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)));
    errors[field] ??= sentence(issue.message);
  }
}

function wholeNumber(text: string | undefined, error: string): { ok: true; value: number | undefined } | { ok: false; error: string } {
  const typed = (text ?? '').trim();
  if (typed === '') return { ok: true, value: undefined };
  if (!/^-?\d{1,9}$/.test(typed)) return { ok: false, error };
  return { ok: true, value: Number(typed) };
}

function currencyOf(values: FormValues, fallback: string, errors: FieldErrors): string {
  const typed = (values.currency ?? '').trim().toUpperCase();
  if (typed === '') return fallback;
  if (!isCurrency(typed)) {
    errors.currency = 'Type a currency code such as USD, EUR or JPY';
    return fallback;
  }
  return typed;
}

type FirstBoxDiscount = NonNullable<CreatePlanBody['firstBoxDiscount']>;

/** The first-box discount fields: none, a percent, or an amount of the plan's currency. */
function discountOf(values: FormValues, currency: string, errors: FieldErrors): FirstBoxDiscount | null | undefined {
  const type = values.discountType ?? 'none';
  if (type === 'none') return null;
  const typed = values.discountValue ?? '';
  if (type === 'percent') {
    const percent = wholeNumber(typed, 'Type a whole percent from 1 to 100');
    if (!percent.ok || percent.value === undefined) {
      errors.discountValue = percent.ok ? 'Type the percent off' : percent.error;
      return undefined;
    }
    return { type: 'percent', percentOff: percent.value };
  }
  if (type === 'amount') {
    const amount = minorUnitsOf(typed, currency);
    if (!amount.ok) {
      errors.discountValue = amount.error;
      return undefined;
    }
    return { type: 'amount', amountOffMinor: amount.value };
  }
  errors.discountType = 'Choose no discount, a percent or an amount';
  return undefined;
}

const PLAN_FIELDS = new Set(['name', 'description', 'currency', 'trialDays', 'discountType', 'discountValue', 'more']);
const ROW_FIELD = /^(variants\.(\d{1,2})\.(name|sku)|cadences\.(\d{1,2})\.(interval|intervalCount|price))$/;

/** How many rows of each the form has (those sent, at least `min`). */
export function rowsIn(values: FormValues, min = 3): { variants: number; cadences: number } {
  let variants = 0;
  let cadences = 0;
  for (const name of Object.keys(values)) {
    const match = ROW_FIELD.exec(name);
    if (match?.[2] !== undefined) variants = Math.max(variants, Number(match[2]) + 1);
    if (match?.[4] !== undefined) cadences = Math.max(cadences, Number(match[4]) + 1);
  }
  return { variants: Math.min(Math.max(variants, min), MAX_ROWS.variants), cadences: Math.min(Math.max(cadences, min), MAX_ROWS.cadences) };
}

/** The new-plan form → CreatePlanBody. Rows left empty are ignored; the rows' numbers stay those of the form. */
export function readNewPlanForm(body: unknown, defaultCurrency: string): CatalogForm<{ body: CreatePlanBody; fieldOf: FieldOf }> {
  const { values, problem } = fieldsOf(body, (name) => PLAN_FIELDS.has(name) || ROW_FIELD.test(name));
  const errors: FieldErrors = problem ? { _form: problem } : {};
  const rows = rowsIn(values, 0);
  const currency = currencyOf(values, defaultCurrency, errors);

  const variantRows: number[] = [];
  const variants: Array<{ name: string; sku: string }> = [];
  for (let row = 0; row < rows.variants; row += 1) {
    const name = (values[`variants.${row}.name`] ?? '').trim();
    const sku = (values[`variants.${row}.sku`] ?? '').trim();
    if (!name && !sku) continue;
    if (!name) errors[`variants.${row}.name`] = 'Type the variant’s name';
    if (!sku) errors[`variants.${row}.sku`] = 'Type the variant’s SKU';
    variantRows.push(row);
    variants.push({ name, sku });
  }
  if (variants.length === 0) errors['variants.0.name'] ??= 'Add at least one variant, with its name and SKU';

  const cadenceRows: number[] = [];
  const cadences: Array<{ interval: string; intervalCount: number; priceMinor: number }> = [];
  for (let row = 0; row < rows.cadences; row += 1) {
    const price = (values[`cadences.${row}.price`] ?? '').trim();
    const countText = (values[`cadences.${row}.intervalCount`] ?? '').trim();
    if (!price && (!countText || countText === '1')) continue;
    const count = wholeNumber(countText || '1', 'Type a whole number, such as 1 or 2');
    if (!count.ok) errors[`cadences.${row}.intervalCount`] = count.error;
    const amount = minorUnitsOf(price, currency);
    if (!amount.ok) errors[`cadences.${row}.price`] = amount.error;
    cadenceRows.push(row);
    cadences.push({
      interval: values[`cadences.${row}.interval`] ?? '',
      intervalCount: count.ok ? (count.value ?? 1) : 1,
      priceMinor: amount.ok ? amount.value : 0,
    });
  }
  if (cadences.length === 0) errors['cadences.0.price'] ??= 'Add at least one cadence, with its price';

  const trial = wholeNumber(values.trialDays, 'Type a whole number of days, or leave it empty');
  if (!trial.ok) errors.trialDays = trial.error;
  const discount = discountOf(values, currency, errors);

  const input = {
    name: values.name ?? '',
    ...(values.description?.trim() ? { description: values.description.trim() } : {}),
    currency,
    variants,
    cadences,
    ...(trial.ok && trial.value !== undefined ? { trialDays: trial.value } : {}),
    ...(discount ? { firstBoxDiscount: discount } : {}),
  };
  const fieldOf = planFieldOf(variantRows, cadenceRows);
  const parsed = CreatePlanBody.safeParse(input);
  if (!parsed.success) placeIssues(parsed.error, fieldOf, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: { body: parsed.data, fieldOf }, values };
}

/** Where an issue of CreatePlanBody (or a service's refusal of it) goes on the new-plan form. */
function planFieldOf(variantRows: number[], cadenceRows: number[]): FieldOf {
  return (path: Array<string | number>): string => {
    const [head, index, field] = path;
    if (head === 'variants') return typeof index === 'number' ? `variants.${variantRows[index] ?? 0}.${field === 'sku' ? 'sku' : 'name'}` : 'variants.0.sku';
    if (head === 'cadences') {
      const row = typeof index === 'number' ? (cadenceRows[index] ?? 0) : 0;
      return field === 'interval' || field === 'intervalCount' ? `cadences.${row}.${field}` : `cadences.${row}.price`;
    }
    if (head === 'firstBoxDiscount') return 'discountValue';
    if (head === 'trialDays' || head === 'name' || head === 'description' || head === 'currency') return head;
    return '_form';
  };
}

const EDIT_FIELDS = new Set([
  'name',
  'description',
  'trialDays',
  'discountType',
  'discountValue',
  'newVariant.name',
  'newVariant.sku',
  'newCadence.interval',
  'newCadence.intervalCount',
  'newCadence.price',
]);

/** The edit form's fields as they show before a change: the plan as it is. */
export function planEditValues(plan: PlanView): FormValues {
  const discount = plan.firstBoxDiscount;
  return {
    name: plan.name,
    description: plan.description,
    trialDays: String(plan.trialDays),
    discountType: discount?.type ?? 'none',
    discountValue: discount ? (discount.type === 'percent' ? String(discount.percentOff) : toDecimalString(discount.amountOffMinor, plan.currency)) : '',
    ...Object.fromEntries(plan.cadences.map((cadence) => [`price.${cadence.key}`, toDecimalString(cadence.price.amountMinor, plan.currency)])),
  };
}

export interface PlanEdit {
  body: UpdatePlanBody;
  /** The form field of each entry of `body.variants` and `body.cadences` (for a service's refusal). */
  fieldOf: FieldOf;
}

/**
 * The edit form → UpdatePlanBody with only what changed: a cadence's new price (a new price for new
 * subscribers), a variant or cadence added, the name, description, trial and first-box discount.
 */
export function readPlanEditForm(body: unknown, plan: PlanView): CatalogForm<PlanEdit> {
  const priceField = new Set(plan.cadences.map((cadence) => `price.${cadence.key}`));
  const { values, problem } = fieldsOf(body, (name) => EDIT_FIELDS.has(name) || priceField.has(name));
  const errors: FieldErrors = problem ? { _form: problem } : {};
  const before = planEditValues(plan);
  const input: UpdatePlanBody = {};
  if (values.name !== undefined && values.name.trim() !== plan.name) input.name = values.name;
  if (values.description !== undefined && values.description.trim() !== plan.description) input.description = values.description.trim();
  const trial = wholeNumber(values.trialDays, 'Type a whole number of days');
  if (!trial.ok) errors.trialDays = trial.error;
  else if (trial.value !== plan.trialDays) input.trialDays = trial.value ?? 0;
  if (values.discountType !== before.discountType || (values.discountValue ?? '') !== before.discountValue) {
    const discount = discountOf(values, plan.currency, errors);
    if (discount !== undefined && !(discount === null && plan.firstBoxDiscount === null)) input.firstBoxDiscount = discount;
  }

  const cadenceFields: string[] = [];
  const cadences: NonNullable<UpdatePlanBody['cadences']> = [];
  for (const cadence of plan.cadences) {
    const field = `price.${cadence.key}`;
    const typed = values[field];
    if (typed === undefined || typed.trim() === before[field]) continue;
    const amount = minorUnitsOf(typed, plan.currency);
    if (!amount.ok) errors[field] = amount.error;
    else if (amount.value !== cadence.price.amountMinor) {
      cadenceFields.push(field);
      cadences.push({ interval: cadence.interval, intervalCount: cadence.intervalCount, priceMinor: amount.value });
    }
  }
  const newPrice = (values['newCadence.price'] ?? '').trim();
  const newCount = (values['newCadence.intervalCount'] ?? '').trim();
  if (newPrice || (newCount && newCount !== '1')) {
    const count = wholeNumber(newCount || '1', 'Type a whole number, such as 1 or 2');
    const interval = values['newCadence.interval'] === 'week' ? 'week' : 'month';
    const amount = minorUnitsOf(newPrice, plan.currency);
    if (!count.ok) errors['newCadence.intervalCount'] = count.error;
    if (!amount.ok) errors['newCadence.price'] = amount.error;
    if (count.ok && plan.cadences.some((cadence) => cadence.key === `${interval}-${count.value ?? 1}`)) {
      errors['newCadence.intervalCount'] = 'The plan already has this cadence: change its price above';
    } else if (count.ok && amount.ok) {
      cadenceFields.push('newCadence.price');
      cadences.push({ interval, intervalCount: count.value ?? 1, priceMinor: amount.value });
    }
  }
  if (cadences.length) input.cadences = cadences;

  const variantName = (values['newVariant.name'] ?? '').trim();
  const variantSku = (values['newVariant.sku'] ?? '').trim();
  if (variantName || variantSku) {
    if (!variantName) errors['newVariant.name'] = 'Type the variant’s name';
    if (!variantSku) errors['newVariant.sku'] = 'Type the variant’s SKU';
    input.variants = [{ name: variantName, sku: variantSku }];
  }

  const fieldOf: FieldOf = (path) => {
    const [head, index, field] = path;
    if (head === 'variants') return field === 'name' ? 'newVariant.name' : 'newVariant.sku';
    if (head === 'cadences') {
      const place = typeof index === 'number' ? cadenceFields[index] : undefined;
      if (place === 'newCadence.price' && (field === 'interval' || field === 'intervalCount')) return `newCadence.${field}`;
      return place ?? 'newCadence.price';
    }
    if (head === 'firstBoxDiscount') return 'discountValue';
    if (head === 'name' || head === 'description' || head === 'trialDays') return head;
    return '_form';
  };
  const parsed = UpdatePlanBody.safeParse(input);
  if (!parsed.success) placeIssues(parsed.error, fieldOf, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: { body: parsed.data, fieldOf }, values };
}

const ADDON_FIELDS = new Set(['name', 'description', 'sku', 'kind', 'price', 'currency', 'stock', 'releasesOn']);

/** Where an issue of an add-on's body goes on its form. */
export function addonFieldOf(path: Array<string | number>): string {
  const head = path[0];
  if (head === 'priceMinor') return 'price';
  if (typeof head === 'string' && ADDON_FIELDS.has(head)) return head;
  return '_form';
}

/** The new add-on form → CreateAddonBody (stock left empty: not tracked, always available). */
export function readNewAddonForm(body: unknown, defaultCurrency: string): CatalogForm<CreateAddonBody> {
  const { values, problem } = fieldsOf(body, (name) => ADDON_FIELDS.has(name));
  const errors: FieldErrors = problem ? { _form: problem } : {};
  const currency = currencyOf(values, defaultCurrency, errors);
  const price = minorUnitsOf(values.price ?? '', currency);
  if (!price.ok) errors.price = price.error;
  const stock = wholeNumber(values.stock, 'Type a whole number of units, or leave it empty to not count stock');
  if (!stock.ok) errors.stock = stock.error;
  if (!['one_time', 'recurring'].includes(values.kind ?? '')) errors.kind = 'Choose once or in every box';
  const input = {
    name: values.name ?? '',
    ...(values.description?.trim() ? { description: values.description.trim() } : {}),
    sku: (values.sku ?? '').trim(),
    kind: values.kind,
    priceMinor: price.ok ? price.value : 0,
    currency,
    ...(stock.ok && stock.value !== undefined ? { stock: stock.value } : {}),
    ...(values.releasesOn?.trim() ? { releasesOn: values.releasesOn.trim() } : {}),
  };
  const parsed = CreateAddonBody.safeParse(input);
  if (!parsed.success) placeIssues(parsed.error, addonFieldOf, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: parsed.data, values };
}

/** The edit form's fields as they show before a change. */
export function addonEditValues(addon: AddonView): FormValues {
  return {
    name: addon.name,
    description: addon.description,
    price: toDecimalString(addon.price.amountMinor, addon.price.currency),
    releasesOn: addon.releasesOn ?? '',
  };
}

/** The add-on edit form → UpdateAddonBody with only what changed (an empty release date: available to everyone now). */
export function readAddonEditForm(body: unknown, addon: AddonView): CatalogForm<UpdateAddonBody> {
  const { values, problem } = fieldsOf(body, (name) => ['name', 'description', 'price', 'releasesOn'].includes(name));
  const errors: FieldErrors = problem ? { _form: problem } : {};
  const input: UpdateAddonBody = {};
  if (values.name !== undefined && values.name.trim() !== addon.name) input.name = values.name;
  if (values.description !== undefined && values.description.trim() !== addon.description) input.description = values.description.trim();
  if (values.price !== undefined) {
    const price = minorUnitsOf(values.price, addon.price.currency);
    if (!price.ok) errors.price = price.error;
    else if (price.value !== addon.price.amountMinor) input.priceMinor = price.value;
  }
  const releasesOn = (values.releasesOn ?? '').trim() || null;
  if (values.releasesOn !== undefined && releasesOn !== addon.releasesOn) input.releasesOn = releasesOn;
  const parsed = UpdateAddonBody.safeParse(input);
  if (!parsed.success) placeIssues(parsed.error, addonFieldOf, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: parsed.data, values };
}

/** A stock adjustment: a signed whole number of units and why (AdjustStockBody, shared by add-ons and variants). */
export function readStockForm(body: unknown): CatalogForm<{ adjustBy: number; reason: string }> {
  const { values, problem } = fieldsOf(body, (name) => name === 'adjustBy' || name === 'reason');
  const errors: FieldErrors = problem ? { _form: problem } : {};
  const adjustBy = wholeNumber(values.adjustBy, 'Type a whole number of units: 12 received, -3 removed');
  if (!adjustBy.ok) errors.adjustBy = adjustBy.error;
  else if (adjustBy.value === undefined) errors.adjustBy = 'Type how many units: 12 received, -3 removed';
  if (!(values.reason ?? '').trim()) errors.reason = 'Say why (received, damaged, counted…)';
  const parsed = AdjustStockBody.safeParse({ adjustBy: adjustBy.ok ? (adjustBy.value ?? 0) : 0, reason: values.reason ?? '' });
  if (!parsed.success) placeIssues(parsed.error, (path) => (path[0] === 'reason' ? 'reason' : 'adjustBy'), errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: parsed.data, values };
}
