import { z } from 'zod';
import { ValidationError } from '../shared/errors';
import { ListQuery } from '../shared/pagination';
import { iso } from '../shared/schemas';
import { FactModel, type Fact } from './fact.model';
import { ACTOR_KINDS, FACT_TYPES, SUBJECT_TYPES } from './fact-types';

/** The query of a timeline: a page, and optionally only some fact types (`?type=box.paid&type=box.shipped`). */
export const TimelineQuery = z.strictObject({
  ...ListQuery,
  type: z
    .union([z.enum(FACT_TYPES), z.array(z.enum(FACT_TYPES)).max(FACT_TYPES.length)])
    .optional()
    .transform((value) => (value === undefined ? undefined : Array.isArray(value) ? value : [value]))
    .describe('Only facts of these types'),
});

/** A fact as timelines show it: what became true, when, who did it, and what changed. */
export const FactView = z
  .strictObject({
    id: z.string(),
    object: z.literal('event'),
    type: z.enum(FACT_TYPES),
    at: z.string().describe('When it became true (UTC)'),
    actor: z
      .strictObject({ kind: z.enum(ACTOR_KINDS), id: z.string().nullable() })
      .describe('Who made it true: the shopper, the merchant (API key), Stripe (event), a job, or the system'),
    subject: z.strictObject({ type: z.enum(SUBJECT_TYPES), id: z.string() }),
    subscriptionId: z.string().nullable(),
    customerId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).describe('What changed, in the domain’s words'),
  })
  .meta({ id: 'Event' });
export type FactView = z.infer<typeof FactView>;

export const FactList = z
  .strictObject({ object: z.literal('list'), data: z.array(FactView), hasMore: z.boolean(), nextCursor: z.string().nullable() })
  .meta({ id: 'EventList' });

export function toFactView(fact: Fact): FactView {
  return {
    id: fact._id,
    object: 'event',
    type: fact.type,
    at: iso(fact.at),
    actor: { kind: fact.actor.kind, id: fact.actor.id ?? null },
    subject: { type: fact.subjectType, id: fact.subjectId },
    subscriptionId: fact.subscriptionId ?? null,
    customerId: fact.customerId ?? null,
    data: fact.data ?? {},
  };
}

function encodeCursor(fact: Pick<Fact, 'at' | '_id'>): string {
  return Buffer.from(`${fact.at.toISOString()}|${fact._id}`).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  const [at, ...rest] = Buffer.from(cursor, 'base64url').toString().split('|');
  const id = rest.join('|');
  const date = new Date(at ?? '');
  if (!id || Number.isNaN(date.getTime())) throw new ValidationError([{ field: 'query.startingAfter', message: 'is not a cursor this API returned' }]);
  return { at: date, id };
}

/**
 * A timeline, newest first: every fact about one subscription (its own, its boxes', its gifts') or one
 * shopper, with cursor pagination stable under new facts. Reads the `events` collection only.
 */
export async function listTimeline(
  merchantId: string,
  of: { subscriptionId: string } | { customerId: string },
  page: { limit: number; startingAfter?: string | undefined; type?: string[] | undefined },
) {
  const cursor = page.startingAfter ? decodeCursor(page.startingAfter) : undefined;
  const filter: Record<string, unknown> = {
    merchantId,
    ...of,
    ...(page.type && page.type.length > 0 ? { type: { $in: page.type } } : {}),
    ...(cursor ? { $or: [{ at: { $lt: cursor.at } }, { at: cursor.at, _id: { $lt: cursor.id } }] } : {}),
  };
  const facts = await FactModel.find(filter)
    .sort({ at: -1, _id: -1 })
    .limit(page.limit + 1)
    .lean();
  const shown = facts.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return {
    object: 'list' as const,
    data: shown.map(toFactView),
    hasMore: facts.length > page.limit,
    nextCursor: facts.length > page.limit && last ? encodeCursor(last) : null,
  };
}

/** Every fact of a subject in order (oldest first): the history of one subscription or box. */
export async function factsOfSubject(merchantId: string, subjectId: string): Promise<Fact[]> {
  return FactModel.find({ merchantId, subjectId }).sort({ seq: 1 }).lean();
}

/** One fact, if it is about this merchant's subject. */
export async function findFact(merchantId: string, factId: string): Promise<Fact | undefined> {
  return (await FactModel.findOne({ _id: factId, merchantId }).lean()) ?? undefined;
}

/** The newest fact about a subject (the change just made, for a receipt and its undo). */
export async function latestFactOf(merchantId: string, subjectId: string): Promise<Fact | undefined> {
  return (await FactModel.findOne({ merchantId, subjectId }).sort({ seq: -1 }).lean()) ?? undefined;
}
