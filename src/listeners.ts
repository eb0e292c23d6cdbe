import type { ListenerTable } from './events/dispatcher.service';
import { ANALYTICS_FACTS } from './analytics/analytics-projection.service';
import { projectSubscriptionMetrics } from './analytics/analytics.listeners';
import { projectBoxKpis } from './analytics/box-kpis.listeners';
import { BOX_KPI_FACTS } from './analytics/box-kpis.service';
import { RETENTION_FACTS } from './analytics/retention-projection.service';
import { projectRetentionMetrics } from './analytics/retention.listeners';
import { deliverBoxGifts } from './gifts/gift.listeners';
import { earnLoyaltyPoints } from './loyalty/loyalty.listeners';
import { recordCardOfNewSubscription } from './customers/customer-card.listeners';
import {
  sendReceipt,
  tellBoxAdjusted,
  tellBoxBackOrdered,
  tellBoxSkippedForStock,
  tellDelivered,
  tellPerksUnlocked,
  tellShipped,
} from './messages/box-messages.listeners';
import {
  confirmAddressChange,
  sendMakeGoodApology,
  tellPointsExpiring,
  tellReferrerRewarded,
  tellRewardGranted,
  tellTierChanged,
  thankForGift,
} from './messages/shopper-messages.listeners';
import {
  confirmSubscription,
  confirmSubscriptionChange,
  tellCancelled,
  tellPaymentFailed,
  tellPaymentRecovered,
} from './messages/subscription-messages.listeners';
import { markFulfilmentForecastStale } from './orders/fulfilment-forecast.listeners';
import { FORECAST_FACTS } from './orders/fulfilment-forecast.service';
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
  // A subscription: the confirmation with its terms, every change confirmed (with an undo while possible)
  'subscription.created': [confirmSubscription, recordCardOfNewSubscription], // saved card: confirmed now, its card kept; Checkout: at activation
  'subscription.activated': [confirmSubscription], // a Checkout paid
  'subscription.skipped': [confirmSubscriptionChange],
  'subscription.unskipped': [confirmSubscriptionChange],
  'subscription.paused': [confirmSubscriptionChange],
  'subscription.resumed': [confirmSubscriptionChange],
  'subscription.swapped': [confirmSubscriptionChange],
  'subscription.cadence_changed': [confirmSubscriptionChange],
  'subscription.charge_date_changed': [confirmSubscriptionChange],
  'subscription.addon_added': [confirmSubscriptionChange],
  'subscription.addon_removed': [confirmSubscriptionChange],
  'subscription.reactivated': [confirmSubscriptionChange],
  'subscription.box_address_set': [confirmSubscriptionChange], // one box sent elsewhere
  'subscription.promo_code_applied': [confirmSubscriptionChange],
  'subscription.cancellation_scheduled': [tellCancelled], // with a link to keep it going
  'subscription.cancelled': [tellCancelled], // with a link to subscribe again
  'subscription.payment_failed': [tellPaymentFailed], // the first failure only, with the link to pay
  'subscription.recovered': [tellPaymentRecovered],

  // A cycle's box
  'box.reserved': [settleGrantsOfBuiltBox], // what the retention engine granted is in the box, or goes back if left out
  'box.adjusted': [tellBoxAdjusted], // the shopper hears what was substituted or left out, before the charge
  'box.back_ordered': [tellBoxBackOrdered],
  'box.paid': [earnLoyaltyPoints, rewardReferrer, sendReceipt, tellPerksUnlocked], // points; the referrer's reward; the receipt; perks it unlocked
  'box.shipped': [tellShipped], // carrier and tracking
  'box.delivered': [deliverBoxGifts, tellDelivered], // its surprise gift is delivered (gift.delivered); the shopper is told
  'box.cancelled': [settleGrantsOfEndedBox, tellBoxSkippedForStock], // gift, free items and credit go back; out of stock: the shopper is told
  'box.refunded': [settleGrantsOfEndedBox],

  // A shopper
  'customer.address_changed': [confirmAddressChange], // with an undo for a week

  // Loyalty, referrals, rewards, gifts
  'loyalty.tier_changed': [tellTierChanged],
  'loyalty.points_expiring': [tellPointsExpiring],
  'referral.rewarded': [tellReferrerRewarded],
  'reward.granted': [tellRewardGranted], // birthday and anniversary rewards
  'gift.delivered': [thankForGift],

  // A merchant owning a mistake
  'make_good.given': [sendMakeGoodApology], // the store's apology, with the make-good it gives
};

// Fulfilment: each fact that changes the coming boxes marks the store's stored forecast stale and asks for a
// refresh a minute later (src/orders/fulfilment-forecast.service.ts), after the rows above.
for (const type of FORECAST_FACTS) listeners[type] = [...(listeners[type] ?? []), markFulfilmentForecastStale];

// Analytics: each subscription fact that changes MRR or who is a subscriber updates the projections
// (src/analytics/analytics-projection.service.ts), after the rows above.
for (const type of ANALYTICS_FACTS) listeners[type] = [...(listeners[type] ?? []), projectSubscriptionMetrics];

// Analytics, retention: cohorts, reasons for leaving, save offers and dunning recovery
// (src/analytics/retention-projection.service.ts), after the MRR projection.
for (const type of RETENTION_FACTS) listeners[type] = [...(listeners[type] ?? []), projectRetentionMetrics];

// Analytics, box service: shipping on time, fill per SKU, ratings, gift cost, time to the first box
// (src/analytics/box-kpis.service.ts), last.
for (const type of BOX_KPI_FACTS) listeners[type] = [...(listeners[type] ?? []), projectBoxKpis];
