import { LoyaltyProgramModel } from '../loyalty/loyalty.model';
import { standingOf } from '../loyalty/loyalty-standing.service';
import { getLoyaltyAccount } from '../loyalty/loyalty.service';
import { BoxOrderModel } from '../orders/box-order.model';
import { unmetCondition } from '../perks/eligibility';
import { activePerks } from '../perks/perk.service';
import { ReferralProgramModel } from '../referrals/referral.model';
import { referralCodeFor } from '../referrals/referral.service';
import { NotFoundError } from '../shared/errors';
import type { Clock } from '../shared/time';
import { SubscriptionModel } from '../subscriptions/subscription.model';
import { nextChargedCycle } from '../subscriptions/subscription.service';
import type { SubscriptionRewardsView } from './shopper.schemas';

/**
 * What a subscription has from the retention engine: its tenure, the perks it has or will have (and why
 * not yet), the shopper's points, credit and tier, their referral code, and what recent boxes got and why.
 * A shopper session passes its `customerId`: another shopper's subscription is not found.
 */
export async function getSubscriptionRewards(clock: Clock, merchantId: string, subscriptionId: string, customerId?: string): Promise<SubscriptionRewardsView> {
  const subscription = await SubscriptionModel.findOne({ _id: subscriptionId, merchantId, ...(customerId ? { customerId } : {}) }).lean();
  if (!subscription) throw new NotFoundError('No subscription with this id.');
  const now = clock.now();
  const next = ['active', 'trialing', 'paused'].includes(subscription.status) ? nextChargedCycle(subscription, now) : undefined;
  const [standing, perks, program, referralProgram, orders] = await Promise.all([
    standingOf(subscription, next?.chargeOn ?? ''),
    activePerks(merchantId),
    LoyaltyProgramModel.findOne({ _id: merchantId, merchantId, enabled: true }, { _id: 1 }).lean(),
    ReferralProgramModel.findOne({ _id: merchantId, enabled: true }, { _id: 1 }).lean(),
    BoxOrderModel.find({ merchantId, subscriptionId: subscription._id, status: { $ne: 'cancelled' } })
      .sort({ shipOn: -1 })
      .limit(12)
      .lean(),
  ]);
  const { paidBoxes } = standing;
  const nextNumber = paidBoxes + 1;
  return {
    object: 'subscription_rewards',
    subscriptionId: subscription._id,
    customerId: subscription.customerId,
    paidBoxes,
    nextBox: next ? { number: nextNumber, shipOn: next.chargeOn } : null,
    perks: perks.map((perk) => {
      const condition = next ? unmetCondition(perk.eligibility, standing) : 'no box coming';
      const benefit = perk.benefit;
      const everyBox = benefit.kind === 'addon_discount' || benefit.kind === 'free_shipping';
      const inNextBox =
        !condition &&
        (everyBox ||
          (benefit.kind === 'free_addon' && nextNumber % benefit.everyNthBox === 0) ||
          (benefit.kind === 'milestone_bonus' && benefit.boxNumbers.includes(nextNumber)));
      return { id: perk._id, name: perk.name, description: perk.description ?? null, kind: benefit.kind, eligible: !condition, condition: condition ?? null, inNextBox };
    }),
    loyalty: program ? await getLoyaltyAccount(clock, merchantId, subscription.customerId) : null,
    referralCode: referralProgram ? await referralCodeFor(clock, merchantId, subscription.customerId) : null,
    granted: orders.flatMap((order) =>
      order.lines
        // A surprise stays one until the box is on its way.
        .filter((line) => line.grantedBy && (line.kind !== 'gift' || ['shipped', 'delivered'].includes(order.status)))
        .map((line) => ({
          orderId: order._id,
          shipOn: order.shipOn,
          kind: line.kind,
          description: line.description,
          amountMinor: line.amountMinor,
          currency: order.currency,
          source: line.grantedBy!.source,
          reason: line.grantedBy!.reason,
        })),
    ),
  };
}
