import type { ListenerTable } from './events/dispatcher.service';
import { deliverBoxGifts } from './gifts/gift.listeners';
import { earnLoyaltyPoints } from './loyalty/loyalty.listeners';
import { tellBoxAdjusted, tellBoxBackOrdered, tellBoxSkippedForStock } from './notifications/box-messages.listeners';
import { tellPointsExpiring, tellReferrerRewarded, tellTierChanged, thankForGift } from './notifications/shopper-messages.listeners';
import { rewardReferrer } from './referrals/referral.listeners';
import { settleGrantsOfBuiltBox, settleGrantsOfEndedBox } from './retention/box-grants.listeners';

/**
 * What follows each domain fact — the one place effects are wired. A fact is recorded by the service that
 * made it true, in the same write (src/events/fact-types.ts lists them); the `events.dispatch-facts` job runs
 * these listeners, in this order, at most once each per fact (retried with backoff until it succeeds), and
 * each subject's facts in the order they became true. A new message, metric or reward is a new row here, not
 * a call inside a billing service.
 */
export const listeners: ListenerTable = {
  // A cycle's box
  'box.reserved': [settleGrantsOfBuiltBox], // what the retention engine granted is in the box, or goes back if left out
  'box.adjusted': [tellBoxAdjusted], // the shopper hears what was substituted or left out
  'box.back_ordered': [tellBoxBackOrdered],
  'box.paid': [earnLoyaltyPoints, rewardReferrer], // points for the box; the referrer's reward for a friend's first box
  'box.delivered': [deliverBoxGifts], // its surprise gift is delivered (gift.delivered)
  'box.cancelled': [settleGrantsOfEndedBox, tellBoxSkippedForStock], // gift, free items and credit go back; out of stock: the shopper is told
  'box.refunded': [settleGrantsOfEndedBox],

  // Loyalty, referrals, gifts
  'loyalty.tier_changed': [tellTierChanged],
  'loyalty.points_expiring': [tellPointsExpiring],
  'referral.rewarded': [tellReferrerRewarded],
  'gift.delivered': [thankForGift],
};
