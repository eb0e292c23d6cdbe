import { z } from 'zod';
import { InvalidInputError, ValidationError } from '../shared/errors';
import { LocalDate as LocalDateField } from '../shared/schemas';

/**
 * Forms on pages are checked with the same Zod schemas as the API; a refusal is shown beside its field, in
 * the schema's words, with what was typed kept in the form.
 */
export type FieldErrors = Record<string, string>;

export type FormResult<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

/** A form's fields (urlencoded strings) checked by a schema; the CSRF token is not a field. */
export function readForm<S extends z.ZodType>(schema: S, body: unknown): FormResult<z.output<S>> {
  const { _csrf: _token, ...fields } = (body ?? {}) as Record<string, unknown>;
  const parsed = schema.safeParse(fields);
  if (parsed.success) return { ok: true, value: parsed.data };
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const field = issue.code === 'unrecognized_keys' ? '_form' : issue.path.map(String).join('.') || '_form';
    errors[field] ??= issue.code === 'unrecognized_keys' ? 'This form has fields it should not have.' : issue.message;
  }
  return { ok: false, errors };
}

/** A service's refusal of an input, placed beside the form's field of the same name. */
export function errorsOf(error: unknown): FieldErrors | undefined {
  if (error instanceof InvalidInputError || error instanceof ValidationError) {
    return Object.fromEntries(error.issues.map((issue) => [issue.field.replace(/^(body|query|params)\./, ''), issue.message]));
  }
  return undefined;
}

/** A path on this site to go back to (never another site: no open redirect). */
export function localPath(value: unknown, fallback: string, prefix = '/'): string {
  return typeof value === 'string' && value.startsWith(prefix) && !value.startsWith('//') && !value.includes('\\') && value.length < 500 ? value : fallback;
}

/**
 * A pause as a person chooses it on a page (the shopper's portal, a merchant acting for them): for a number of
 * boxes (1 to 12) or until a date; the answer is what the pause service takes.
 */
export const PauseForm = z
  .strictObject({
    how: z.enum(['cycles', 'until'], { error: 'Choose how long' }),
    cycles: z.string().optional(),
    until: z.string().optional(),
  })
  .transform((form, ctx) => {
    if (form.how === 'cycles') {
      const cycles = Number(form.cycles);
      if (!/^\d{1,2}$/.test(form.cycles ?? '') || cycles < 1 || cycles > 12) {
        ctx.addIssue({ code: 'custom', path: ['cycles'], message: 'Choose from 1 to 12 boxes' });
        return z.NEVER;
      }
      return { cycles };
    }
    const until = LocalDateField.safeParse(form.until);
    if (!until.success) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'Choose a date' });
      return z.NEVER;
    }
    return { until: until.data };
  });

/**
 * A page of a list read after a cursor: a cursor that is not one of ours (typed or edited by hand, so the
 * list refuses it) shows the first page instead of an error.
 */
export async function firstPageOnBadCursor<T>(read: (after: string | undefined) => Promise<T>, after: string | undefined): Promise<T> {
  try {
    return await read(after);
  } catch (error) {
    if (error instanceof ValidationError) return read(undefined);
    throw error;
  }
}
