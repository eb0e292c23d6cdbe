import type { ListenerTable } from './events/dispatcher.service';
import { deliverBoxGifts } from './gifts/gift.listeners';
import { earnLoyaltyPoints } from './loyalty/loyalty.listeners';
import { tellPointsExpiring, tellReferrerRewarded, tellTierChanged, thankForGift } from './notifications/shopper-messages.listeners';
import { rewardReferrer } from './referrals/referral.listeners';
import { settleGrantsOfBuiltBox, settleGrantsOfEndedBox } from './retention/box-grants.listeners';

/**
 * What follows each domain fact — the one place effects are wired. A fact is recorded by the service that
 * made it true (src/events/fact-types.ts lists them); the `events.dispatch-facts` job runs these listeners,
 * in this order, once per fact, each subject's facts in order. A new message, metric or reward is a new row
 * here, not a call inside a billing service.
 */
export const listeners: ListenerTable = {
  // --- Retention: rewards, grants and the shopper's messages (loyalty, referrals, gifts, perks, offers) ---
  'box.reserved': [settleGrantsOfBuiltBox],
  'box.paid': [earnLoyaltyPoints, rewardReferrer],
  'box.delivered': [deliverBoxGifts],
  'box.cancelled': [settleGrantsOfEndedBox],
  'box.refunded': [settleGrantsOfEndedBox],
  'loyalty.tier_changed': [tellTierChanged],
  'loyalty.points_expiring': [tellPointsExpiring],
  'referral.rewarded': [tellReferrerRewarded],
  'gift.delivered': [thankForGift],
};
