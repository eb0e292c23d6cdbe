import { BoxOrderModel } from '../orders/box-order.model';
import type { Standing } from '../perks/eligibility';
import { derivedId } from '../shared/ids';
import type { Subscription } from '../subscriptions/subscription.model';
import { LoyaltyAccountModel } from './loyalty.model';

/** Orders that count as a paid box (tenure, tiers, spend): paid and not refunded. */
export const PAID_BOX_STATUSES = ['paid', 'packed', 'shipped', 'delivered'] as const;

const YEAR_MS = 365 * 24 * 3_600_000;

/** A subscription's tenure: how many of its boxes were paid. */
export async function paidBoxCount(merchantId: string, subscriptionId: string): Promise<number> {
  return BoxOrderModel.countDocuments({ merchantId, subscriptionId, status: { $in: PAID_BOX_STATUSES } });
}

/**
 * A shopper's paid boxes (in any currency) and spend (paid less refunded, in minor units of `currency`) over
 * the 12 months before `now`. Spend counts only boxes paid in that currency: 12000 yen are not 120 dollars.
 */
export async function twelveMonthStanding(merchantId: string, customerId: string, now: Date, currency: string): Promise<{ paidBoxes: number; spendMinor: number }> {
  const orders = await BoxOrderModel.find(
    { merchantId, customerId, status: { $in: PAID_BOX_STATUSES }, paidAt: { $gt: new Date(now.getTime() - YEAR_MS), $lte: now } },
    { amountPaidMinor: 1, amountRefundedMinor: 1, currency: 1 },
  ).lean();
  return {
    paidBoxes: orders.length,
    spendMinor: orders.filter((order) => order.currency === currency).reduce((sum, order) => sum + order.amountPaidMinor - (order.amountRefundedMinor ?? 0), 0),
  };
}

/** Every shopper of the merchant with spend in the last 12 months, highest spend first. */
export async function spendRanking(merchantId: string, now: Date): Promise<Array<{ customerId: string; spendMinor: number }>> {
  const rows = await BoxOrderModel.aggregate<{ _id: string; spendMinor: number }>([
    { $match: { merchantId, status: { $in: PAID_BOX_STATUSES }, paidAt: { $gt: new Date(now.getTime() - YEAR_MS), $lte: now } } },
    { $group: { _id: '$customerId', paid: { $sum: '$amountPaidMinor' }, refunded: { $sum: '$amountRefundedMinor' } } },
    { $project: { spendMinor: { $subtract: ['$paid', '$refunded'] } } },
  ]);
  return rows.map((row) => ({ customerId: row._id, spendMinor: row.spendMinor })).sort((a, b) => b.spendMinor - a.spendMinor || a.customerId.localeCompare(b.customerId));
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
export async function standingOf(subscription: Pick<Subscription, '_id' | 'merchantId' | 'customerId' | 'box'>, chargeOn: string): Promise<Standing> {
  const [paidBoxes, tierKey] = await Promise.all([paidBoxCount(subscription.merchantId, subscription._id), tierKeyOf(subscription.merchantId, subscription.customerId)]);
  return { planId: subscription.box.planId, paidBoxes, tierKey, chargeOn };
}
