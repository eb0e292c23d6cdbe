import type { Request } from 'express';
import type { z } from 'zod';
import { NotFoundError } from '../../shared/errors';
import type { FieldErrors } from '../forms';
import { minorUnitsOf, type FormValues } from './catalog-forms';

/**
 * What the retention pages (gift campaigns, referrals, promo codes) share: flat urlencoded fields read as
 * strings, turned into the API's own request bodies and checked by the API's schemas, each refusal placed
 * beside the form field it came from in words a merchant understands (the schema's words are for developers).
 */

export type { FormValues };
export type RetentionForm<T> = { ok: true; body: T; values: FormValues } | { ok: false; errors: FieldErrors; values: FormValues };

/** The form's string fields, only those allowed (anything else, or a field sent twice, is refused). */
export function stringFields(body: unknown, allowed: readonly string[]): { values: FormValues; errors: FieldErrors } {
  const { _csrf: _token, ...fields } = (body ?? {}) as Record<string, unknown>;
  const values: FormValues = {};
  const errors: FieldErrors = {};
  for (const [name, value] of Object.entries(fields)) {
    if (!allowed.includes(name) || typeof value !== 'string') {
      errors._form = 'This form has fields it should not have.';
      continue;
    }
    values[name] = value;
  }
  return { values, errors };
}

/** A whole number typed in a field: empty is undefined; anything else but digits is the field's refusal. */
export function typedWhole(values: FormValues, field: string, errors: FieldErrors, words: string): number | undefined {
  const typed = (values[field] ?? '').trim();
  if (typed === '') return undefined;
  if (!/^\d{1,9}$/.test(typed)) {
    errors[field] ??= words;
    return undefined;
  }
  return Number(typed);
}

/** An amount typed as a decimal ("3.50") in minor units of the currency; empty is undefined. */
export function typedAmount(values: FormValues, field: string, currency: string, errors: FieldErrors): number | undefined {
  const typed = (values[field] ?? '').trim();
  if (typed === '') return undefined;
  const amount = minorUnitsOf(typed, currency);
  if (!amount.ok) {
    errors[field] ??= amount.error;
    return undefined;
  }
  return amount.value;
}

/**
 * The schema's issues on the form: each body path (`eligibility.planIds`) goes to its form field, with that
 * field's own words when it has some (else the schema's, as a sentence).
 */
export function placeIssues(error: z.ZodError, fieldOf: Record<string, string>, words: Record<string, string>, errors: FieldErrors): void {
  for (const issue of error.issues) {
    const path = issue.path
      .filter((part) => typeof part !== 'number')
      .map(String)
      .join('.');
    const field = fieldOf[path] ?? fieldOf[path.split('.')[0] ?? ''] ?? '_form';
    errors[field] ??= words[field] ?? sentence(issue.message);
  }
}

/** A service's refusal (fields named by body path) placed on the form, in the field's words when it has some. */
export function placeRefusal(refused: FieldErrors, fieldOf: Record<string, string>, words: Record<string, string>): FieldErrors {
  const errors: FieldErrors = {};
  for (const [path, message] of Object.entries(refused)) {
    const field = fieldOf[path.replace(/\.\d+/g, '')] ?? '_form';
    errors[field] ??= field === '_form' ? sentence(message) : (words[field] ?? sentence(message));
  }
  return errors;
}

export function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/** An id from the path; anything that could not be an id is simply not found. */
export function idOf(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 100) throw new NotFoundError('Not found.');
  return value;
}

/** `?after=` as typed: a cursor that is not ours shows the first page. */
export function afterOf(req: Request): string | undefined {
  const after = req.query.after;
  return typeof after === 'string' && after.length > 0 && after.length <= 200 ? after : undefined;
}

/** The receipt named by `?done=` (only the page's own words, never what the link says). */
export function receiptOf(req: Request, words: Record<string, string>): string | null {
  const done = typeof req.query.done === 'string' ? req.query.done : '';
  return Object.hasOwn(words, done) ? words[done]! : null;
}

export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
