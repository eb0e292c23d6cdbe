import type { z } from 'zod';
import { ValidationError, type FieldIssue } from './errors';

export type RequestPart = 'body' | 'query' | 'params' | 'header' | 'job';

/** Zod issues as field-named problems: `body.address.postalCode: Required`. */
export function toFieldIssues(error: z.ZodError, where: RequestPart): FieldIssue[] {
  return error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const base = [where, ...issue.path.map(String)].join('.');
    if (keys.length > 0) {
      return { field: keys.map((key) => `${base}.${key}`).join(', '), message: 'unknown field' };
    }
    return { field: base, message: issue.message };
  });
}

/** Parses an input at the edge; a mismatch is a 400 naming each bad field, never a 5xx. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: RequestPart): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(toFieldIssues(result.error, where));
  return result.data;
}
