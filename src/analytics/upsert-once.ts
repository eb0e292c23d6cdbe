import { isDuplicateKeyError } from '../shared/db';

/**
 * An upsert guarded on the fact's absence (`{ _id, factIds: { $ne: factId } }`), applied once. Its insert
 * collides with the document when the document has the fact already, or when another fact's upsert inserted
 * it meanwhile (two workers on one new day's bucket): so it tries again once, and then either applies (the
 * document exists now, without this fact) or finds the fact there.
 */
export async function upsertOnce(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    try {
      await run();
    } catch (again) {
      if (!isDuplicateKeyError(again)) throw again;
    }
  }
}
