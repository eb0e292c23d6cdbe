import { z } from 'zod';
import { ValidationError } from './errors';

/** Cursor pagination, newest first, stable under inserts: the cursor is the last item's (createdAt, id). */
export const ListQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('Items per page, 1-100'),
  startingAfter: z.string().max(200).optional().describe('The `nextCursor` of the previous page'),
};

export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(item: { createdAt: Date; _id: string }): string {
  return Buffer.from(`${item.createdAt.toISOString()}|${item._id}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (cursor === undefined) return undefined;
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime())) {
    throw new ValidationError([{ field: 'query.startingAfter', message: 'is not a cursor this API returned' }]);
  }
  return { createdAt, id };
}

/** The filter that continues after a cursor when sorting by { createdAt: -1, _id: -1 }. */
export function afterCursor(cursor: Cursor | undefined): Record<string, unknown> {
  if (!cursor) return {};
  return { $or: [{ createdAt: { $lt: cursor.createdAt } }, { createdAt: cursor.createdAt, _id: { $lt: cursor.id } }] };
}

export function listPage<T extends { createdAt: Date; _id: string }, V>(items: T[], limit: number, view: (item: T) => V) {
  const page = items.slice(0, limit);
  const last = page[page.length - 1];
  return {
    object: 'list' as const,
    data: page.map(view),
    hasMore: items.length > limit,
    nextCursor: items.length > limit && last ? encodeCursor(last) : null,
  };
}

export function listSchema<T extends z.ZodType>(item: T, id: string) {
  return z.strictObject({ object: z.literal('list'), data: z.array(item), hasMore: z.boolean(), nextCursor: z.string().nullable() }).meta({ id });
}
