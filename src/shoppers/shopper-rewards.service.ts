import { standingOf } from '../loyalty/loyalty-standing.service';
import { getLoyaltyAccount, loyaltyProgramOf } from '../loyalty/loyalty.service';
import { merchantProfile } from '../merchants/merchant.queries';
import { shippingFeeFor } from '../merchants/shipping-fees';
import { recentOrdersOf } from '../orders/order.queries';
import { unmetCondition } from '../perks/eligibility';
import { perkBoxContext } from '../perks/perk-box.service';
import { applyPerks, type PerkOutcome } from '../perks/perk-rules';
import { activePerks } from '../perks/perk.service';
import { isReferralProgramRunning, referralCodeFor } from '../referrals/referral.service';
import { NotFoundError } from '../shared/errors';
import type { Clock } from '../shared/time';
import { BUILDING_STATUSES, isStatusIn } from '../subscriptions/subscription-states';
import { boxContentsFor, findSubscription, nextChargedCycle, type BoxLine } from '../subscriptions/subscription.queries';
import type { SubscriptionRewardsView } from './shopper.schemas';

/** Statuses of a box whose surprise gift the shopper may see: it is on its way. */
const GIFT_SHOWN_STATUSES = ['shipped', 'delivered'];

/**
 * What a subscription has from the retention engine: its tenure, the perks it has or will have (and why
 * not yet), the shopper's points, credit and tier, their referral code, and what recent boxes got and why.
 * Whether the next box gets a perk is the box builder's answer (perk-rules.ts) for the box as it stands:
 * its lines and the shipping fee of its currency. A shopper session passes its `customerId`: another
 * shopper's subscription is not found.
 */
export async function getSubscriptionRewards(clock: Clock, merchantId: string, subscriptionId: string, customerId?: string): Promise<SubscriptionRewardsView> {
  const subscription = await findSubscription(merchantId, subscriptionId, customerId);
  if (!subscription) throw new NotFoundError('No subscription with this id.');
  const now = clock.now();
  const next = isStatusIn(subscription.status, BUILDING_STATUSES) ? nextChargedCycle(subscription, now) : undefined;
  const [standing, perks, program, referralProgram, orders] = await Promise.all([
    standingOf(subscription, next?.chargeOn ?? ''),
    activePerks(merchantId),
    loyaltyProgramOf(merchantId),
    isReferralProgramRunning(merchantId),
    recentOrdersOf(merchantId, subscription._id, 12),
  ]);
  const { paidBoxes } = standing;
  const nextNumber = paidBoxes + 1;

  // The next box as the builder will see it at its cut-off: the shopper's lines and the shipping fee.
  const outcomes = new Map<string, PerkOutcome>();
  if (next && perks.length > 0) {
    const [contents, merchant, context] = await Promise.all([
      boxContentsFor(subscription, next),
      merchantProfile(merchantId),
      perkBoxContext(merchantId, perks),
    ]);
    const fee = merchant ? shippingFeeFor(merchant, contents.currency) : 0;
    const extras: BoxLine[] = fee > 0 ? [{ kind: 'shipping', key: 'shipping', description: 'Shipping', quantity: 1, unitAmountMinor: fee }] : [];
    for (const { perk, outcome } of applyPerks(perks, standing, {
      boxNumber: nextNumber,
      lines: contents.lines,
      extras,
      currency: contents.currency,
      ...context,
    }).outcomes)
      outcomes.set(perk._id, outcome);
  }

  return {
    object: 'subscription_rewards',
    subscriptionId: subscription._id,
    customerId: subscription.customerId,
    paidBoxes,
    nextBox: next ? { number: nextNumber, shipOn: next.chargeOn } : null,
    perks: perks.map((perk) => {
      const condition = next ? unmetCondition(perk.eligibility, standing) : 'no box coming';
      const outcome = outcomes.get(perk._id);
      return {
        id: perk._id,
        name: perk.name,
        description: perk.description ?? null,
        kind: perk.benefit.kind,
        eligible: !condition,
        condition: condition ?? null,
        inNextBox: outcome?.gives ?? false,
        whyNotInNextBox: outcome ? (outcome.gives ? null : outcome.whyNot) : (condition ?? null),
      };
    }),
    loyalty: program ? await getLoyaltyAccount(clock, merchantId, subscription.customerId) : null,
    referralCode: referralProgram ? await referralCodeFor(clock, merchantId, subscription.customerId) : null,
    granted: orders.flatMap((order) =>
      order.lines
        // A surprise stays one until the box is on its way.
        .filter((line) => line.grantedBy && (line.kind !== 'gift' || GIFT_SHOWN_STATUSES.includes(order.status)))
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
