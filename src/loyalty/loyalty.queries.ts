import { LoyaltyAccountModel, LoyaltyEntryModel, LoyaltyProgramModel } from './loyalty.model';

/** What other parts may read of the loyalty programme: narrow, merchant-scoped reads. Nothing here writes. */

/** The programme's tiers, lowest first (none when the merchant runs no programme). */
export async function loyaltyTiersOf(merchantId: string): Promise<Array<{ key: string; name: string }>> {
  const program = await LoyaltyProgramModel.findOne({ _id: merchantId, merchantId }, { tiers: 1 }).lean();
  return (program?.tiers ?? []).map((tier) => ({ key: tier.key, name: tier.name }));
}

/**
 * The shoppers holding this tier, in customer id order, after `afterCustomerId` (exclusive), at most `limit`:
 * a walk through the tier on the index `{ merchantId, tierKey, customerId }`.
 */
export async function customersInTier(merchantId: string, tierKey: string, afterCustomerId: string | undefined, limit: number): Promise<string[]> {
  const accounts = await LoyaltyAccountModel.find(
    { merchantId, tierKey, ...(afterCustomerId ? { customerId: { $gt: afterCustomerId } } : {}) },
    { customerId: 1 },
  )
    .sort({ customerId: 1 })
    .limit(limit)
    .lean();
  return accounts.map((account) => account.customerId);
}

/** Of these shoppers, those holding this tier. */
export async function whichHoldTier(merchantId: string, tierKey: string, customerIds: readonly string[]): Promise<string[]> {
  if (customerIds.length === 0) return [];
  const accounts = await LoyaltyAccountModel.find({ merchantId, tierKey, customerId: { $in: [...customerIds] } }, { customerId: 1 }).lean();
  return accounts.map((account) => account.customerId);
}

/** The tier key each of these shoppers holds (those with none are absent). */
export async function tierKeysOf(merchantId: string, customerIds: readonly string[]): Promise<Map<string, string>> {
  if (customerIds.length === 0) return new Map();
  const accounts = await LoyaltyAccountModel.find({ merchantId, customerId: { $in: [...customerIds] } }, { customerId: 1, tierKey: 1 }).lean();
  return new Map(accounts.flatMap((account) => (account.tierKey ? [[account.customerId, account.tierKey] as const] : [])));
}

/**
 * What the store owes its shoppers now: the points not yet redeemed or expired and the credit not yet applied,
 * per currency (each ledger entry moves a shopper's balances, so the sum of a store's entries is the sum of its
 * shoppers' balances). For the loyalty-liability analytics: the ledger is the only record of every movement
 * (points earned on a paid box are not a fact of their own).
 */
export async function loyaltyLiabilityOf(merchantId: string): Promise<Array<{ currency: string; points: number; creditMinor: number }>> {
  const rows = await LoyaltyEntryModel.aggregate<{ _id: string; points: number; creditMinor: number }>([
    { $match: { merchantId } },
    { $group: { _id: '$currency', points: { $sum: '$points' }, creditMinor: { $sum: '$creditMinor' } } },
  ]);
  return rows.map((row) => ({ currency: row._id, points: row.points, creditMinor: row.creditMinor })).sort((a, b) => a.currency.localeCompare(b.currency));
}
