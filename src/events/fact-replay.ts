import { FactModel, type Fact } from './fact.model';
import type { FactType } from './fact-types';

/**
 * Reads for projections rebuilt from the facts (analytics): a store's facts of some types in the order they
 * became true — by time, then per subject in sequence — read in pages, never all at once.
 */
export async function* factsInOrder(merchantId: string, types: readonly FactType[], pageSize = 500): AsyncGenerator<Fact> {
  let last: { at: Date; subjectId: string; seq: number } | undefined;
  for (;;) {
    const after = last
      ? {
          $or: [
            { at: { $gt: last.at } },
            { at: last.at, subjectId: { $gt: last.subjectId } },
            { at: last.at, subjectId: last.subjectId, seq: { $gt: last.seq } },
          ],
        }
      : {};
    const page = await FactModel.find({ merchantId, type: { $in: [...types] }, ...after })
      .sort({ at: 1, subjectId: 1, seq: 1 })
      .limit(pageSize)
      .lean();
    for (const fact of page) yield fact;
    if (page.length < pageSize) return;
    const end = page[page.length - 1]!;
    last = { at: end.at, subjectId: end.subjectId, seq: end.seq };
  }
}

/** Every store that has facts of these types. */
export async function merchantsWithFacts(types: readonly FactType[]): Promise<string[]> {
  return (await FactModel.distinct('merchantId', { type: { $in: [...types] } })).map(String).sort();
}
