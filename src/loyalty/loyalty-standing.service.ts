import { paidBoxCount, paidBoxCounts, paidBoxesOfCustomer, spendByCustomer } from '../orders/order.queries';
import type { Standing } from '../perks/eligibility';
import { derivedId } from '../shared/ids';
import { batchShare, readEveryTime, type RunMemo } from '../shared/run-memo';
import type { Subscription } from '../subscriptions/subscription.model';
import { LoyaltyAccountModel } from './loyalty.model';
import { tierKeysOf } from './loyalty.queries';

/** Orders that count as a paid box (tenure, tiers, spend): paid and not refunded. Owned by orders. */
export { paidBoxCount, PAID_BOX_STATUSES } from '../orders/order.queries';

const YEAR_MS = 365 * 24 * 3_600_000;

/**
 * A shopper's paid boxes (in any currency) and spend (paid less refunded, in minor units of `currency`) over
 * the 12 months before `now`. Spend counts only boxes paid in that currency: 12000 yen are not 120 dollars.
 */
export async function twelveMonthStanding(
  merchantId: string,
  customerId: string,
  now: Date,
  currency: string,
): Promise<{ paidBoxes: number; spendMinor: number }> {
  const orders = await paidBoxesOfCustomer(merchantId, customerId, new Date(now.getTime() - YEAR_MS), now);
  return {
    paidBoxes: orders.length,
    spendMinor: orders.filter((order) => order.currency === currency).reduce((sum, order) => sum + order.amountPaidMinor - (order.amountRefundedMinor ?? 0), 0),
  };
}

/** Every shopper of the merchant with spend in the last 12 months, highest spend first. */
export async function spendRanking(merchantId: string, now: Date): Promise<Array<{ customerId: string; spendMinor: number }>> {
  const rows = await spendByCustomer(merchantId, new Date(now.getTime() - YEAR_MS), now);
  return rows.sort((a, b) => b.spendMinor - a.spendMinor || a.customerId.localeCompare(b.customerId));
}

export function loyaltyAccountId(merchantId: string, customerId: string): string {
  return derivedId('lya', `${merchantId}:${customerId}`);
}

/** The tier the shopper holds now (as last evaluated), if any. */
export async function tierKeyOf(merchantId: string, customerId: string): Promise<string | undefined> {
  const account = await LoyaltyAccountModel.findOne({ _id: loyaltyAccountId(merchantId, customerId), merchantId }, { tierKey: 1 }).lean();
  return account?.tierKey ?? undefined;
}

/** What perks, offers and campaigns judge a subscription on, for a box charged on `chargeOn`. */
export async function standingOf(
  subscription: Pick<Subscription, '_id' | 'merchantId' | 'customerId' | 'box'>,
  chargeOn: string,
  /**
   * A batch's reads (src/shared/run-memo.ts): the paid boxes and tiers of the whole batch, read once. No box
   * built at a cut-off is paid, and tiers move when a box is paid (or nightly), never at the cut-off.
   */
  memo: RunMemo = readEveryTime,
): Promise<Standing> {
  const { merchantId } = subscription;
  const [paidBoxes, tierKey] = memo.batch
    ? await Promise.all([
        batchShare(memo, 'paid-boxes', 'subscriptionIds', merchantId, subscription._id, (ids) => paidBoxCounts(merchantId, ids)).then((n) => n ?? 0),
        batchShare(memo, 'loyalty-tiers', 'customerIds', merchantId, subscription.customerId, (ids) => tierKeysOf(merchantId, ids)).then(
          (tier) => tier ?? undefined,
        ),
      ])
    : await Promise.all([paidBoxCount(merchantId, subscription._id), tierKeyOf(merchantId, subscription.customerId)]);
  return { planId: subscription.box.planId, paidBoxes, tierKey, chargeOn };
}
