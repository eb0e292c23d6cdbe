import { initialFacts, type PendingFact } from '../events/fact-source';
import { isDuplicateKeyError } from '../shared/db';
import { InsufficientBalanceError } from '../shared/errors';
import { derivedId } from '../shared/ids';
import type { Clock } from '../shared/time';
import { LoyaltyEntryModel, type LedgerKind, type LoyaltyEntry } from './loyalty.model';

export interface LedgerPosting {
  merchantId: string;
  customerId: string;
  /** Unique per merchant: the business fact this entry records (`invoice:in_123`, `referral:ref_1`...). */
  source: string;
  kind: LedgerKind;
  points?: number;
  creditMinor?: number;
  currency: string;
  description: string;
  expiresAt?: Date;
  subscriptionId?: string;
  orderId?: string;
  /** Facts the entry records in the insert that makes it (a reward granted, a redemption): once, with the entry. */
  facts?: PendingFact[];
}

const MAX_ATTEMPTS = 25;

/** The shopper's newest entry: its balances are the shopper's balances (none yet: zero). */
export async function ledgerHead(merchantId: string, customerId: string): Promise<LoyaltyEntry | undefined> {
  return (await LoyaltyEntryModel.findOne({ merchantId, customerId }).sort({ seq: -1 }).lean()) ?? undefined;
}

/**
 * Appends one entry to the shopper's ledger, once per source: a repeat returns the entry already there. A
 * debit that would take a balance below zero is refused (`InsufficientBalanceError`), or with `clamp`
 * reduced to what is there (and skipped when nothing is). Concurrent writers race for the next `seq`; the
 * loser reads the new head and tries again.
 */
export async function postLedgerEntry(clock: Clock, posting: LedgerPosting, options: { clamp?: boolean } = {}): Promise<LoyaltyEntry | undefined> {
  const id = derivedId('lye', `${posting.merchantId}:${posting.source}`);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const existing = await LoyaltyEntryModel.findOne({ _id: id, merchantId: posting.merchantId }).lean();
    if (existing) return existing;
    const head = await ledgerHead(posting.merchantId, posting.customerId);
    const balancePoints = head?.balancePoints ?? 0;
    const balanceCreditMinor = head?.balanceCreditMinor ?? 0;
    let points = posting.points ?? 0;
    let creditMinor = posting.creditMinor ?? 0;
    if (balancePoints + points < 0 || balanceCreditMinor + creditMinor < 0) {
      if (!options.clamp)
        throw new InsufficientBalanceError(
          `Not enough ${balancePoints + points < 0 ? `points (${balancePoints} available)` : `credit (${balanceCreditMinor} available)`}.`,
        );
      points = Math.max(points, -balancePoints);
      creditMinor = Math.max(creditMinor, -balanceCreditMinor);
      if (points === 0 && creditMinor === 0) return undefined;
    }
    const entry: LoyaltyEntry = {
      _id: id,
      merchantId: posting.merchantId,
      customerId: posting.customerId,
      seq: (head?.seq ?? 0) + 1,
      source: posting.source,
      kind: posting.kind,
      points,
      creditMinor,
      balancePoints: balancePoints + points,
      balanceCreditMinor: balanceCreditMinor + creditMinor,
      currency: posting.currency,
      description: posting.description,
      at: clock.now(),
      ...(posting.expiresAt ? { expiresAt: posting.expiresAt } : {}),
      ...(posting.subscriptionId ? { subscriptionId: posting.subscriptionId } : {}),
      ...(posting.orderId ? { orderId: posting.orderId } : {}),
    };
    try {
      await LoyaltyEntryModel.create(posting.facts?.length ? { ...entry, ...initialFacts(...posting.facts) } : entry);
      return entry;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // Either this source was written meanwhile (found at the top of the loop) or another entry took the seq.
    }
  }
  throw new Error(`ledger of ${posting.customerId} too busy: ${posting.source} not written after ${MAX_ATTEMPTS} attempts`);
}

/** The entry a source wrote, if it was written. */
export async function ledgerEntryOf(merchantId: string, source: string): Promise<LoyaltyEntry | undefined> {
  return (await LoyaltyEntryModel.findOne({ _id: derivedId('lye', `${merchantId}:${source}`), merchantId }).lean()) ?? undefined;
}
