import { FactModel, type Fact } from './fact.model';
import type { FactType } from './fact-types';

/**
 * Reads for projections rebuilt from the facts (analytics): a store's facts of some types in the order they
 * became true — by time, then per subject in sequence — through one cursor that the driver fills `pageSize`
 * facts at a time, never all at once. One query, not one per page: a query per page would make the database
 * find its place again each time (on the local stand-in, scan and sort the rest of the store's facts once
 * per page). Index: `{ merchantId, type, at, subjectId, seq }` (one range per type, merged in order).
 */
export async function* factsInOrder(merchantId: string, types: readonly FactType[], pageSize = 500): AsyncGenerator<Fact> {
  const cursor = FactModel.find({ merchantId, type: { $in: [...types] } })
    .sort({ at: 1, subjectId: 1, seq: 1 })
    .batchSize(pageSize)
    .lean<Fact[]>()
    .cursor();
  try {
    for await (const fact of cursor) yield fact;
  } finally {
    await cursor.close();
  }
}

/** Every store that has facts of these types. */
export async function merchantsWithFacts(types: readonly FactType[]): Promise<string[]> {
  return (await FactModel.distinct('merchantId', { type: { $in: [...types] } })).map(String).sort();
}
