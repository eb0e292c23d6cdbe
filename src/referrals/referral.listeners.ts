import type { Listener } from '../events/dispatcher.service';
import { actors } from '../events/fact-types';
import { findOrder } from '../orders/order.queries';
import { rewardReferrerForPaidBox } from './referral.service';

/**
 * After `box.paid`: if the box is a referred friend's and their referral is pending, the referrer is
 * rewarded (once per referral, whatever the number of paid boxes or replays).
 */
export const rewardReferrer: Listener = {
  name: 'referrals.reward-referrer',
  run: async (deps, fact) => {
    const friendSubscriptionId = fact.subscriptionId ?? (await findOrder(fact.merchantId, fact.subjectId))?.subscriptionId;
    if (!friendSubscriptionId) return;
    await rewardReferrerForPaidBox(deps, { merchantId: fact.merchantId, friendSubscriptionId, actor: actors.system() });
  },
};
