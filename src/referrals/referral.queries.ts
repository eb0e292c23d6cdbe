import { ReferralCodeModel, ReferralModel, type Referral } from './referral.model';

/** What other parts may read of referrals: narrow, merchant-scoped reads. Nothing here writes (a code is made on first ask, by the service). */

/** The shopper's referral code, if one was made (reading never makes one). */
export async function referralCodeOf(merchantId: string, customerId: string): Promise<string | undefined> {
  return (await ReferralCodeModel.findOne({ merchantId, customerId }, { _id: 1 }).lean())?._id;
}

/** The friends this shopper referred, newest first, at most `limit` (index `{ merchantId, referrerCustomerId, createdAt }`). */
export async function referralsMadeBy(
  merchantId: string,
  referrerCustomerId: string,
  limit: number,
): Promise<Array<Pick<Referral, '_id' | 'friendCustomerId' | 'friendSubscriptionId' | 'status' | 'createdAt' | 'rewardedAt'>>> {
  return ReferralModel.find({ merchantId, referrerCustomerId }, { friendCustomerId: 1, friendSubscriptionId: 1, status: 1, createdAt: 1, rewardedAt: 1 })
    .sort({ createdAt: -1 })
    .limit(limit)
    .lean();
}
