/**
 * The subscriptions domain's public surface: other domains, routes and jobs import from here. The rules live
 * in files along the domain's own seams:
 *   subscription-states.ts          the state machine (statuses, moves, which status allows which action)
 *   subscription-calendar.ts        which cycles are charged, which box each gets, the first open box
 *   box-contents.ts                 what the shopper chose for a cycle's box and what it costs
 *   subscription-views.ts           how a subscription reads in the API
 *   subscribe.service.ts            subscribing (saved card or Checkout)
 *   subscription-changes.service.ts skip, pause, swap, cadence, charge date, add-ons, save offers, cancel…
 *   subscription-promo-code.service.ts applying a promo code to a subscription
 *   subscription-box-address.service.ts one box sent to another address than the shopper's
 *   subscription-discounts.ts       the discounts on boxes (save offers, promo codes) and the stacking rule
 *   subscription-payments.service.ts what Stripe says: Checkout completed, payments failed or paid, status
 *   subscription-stripe-sync.service.ts keeping Stripe in line with our record
 *   subscription-store.ts           the only writer of subscription documents (guarded, with facts)
 */
export type { PromoCodeTerms, SubscriptionDeps, SubscriptionQuestions, SubscriptionSyncDeps } from './subscription-deps';
export { boxContentsFor, type BoxContents, type BoxLine } from './box-contents';
export { boxAddressFor, boxFor, cycleOfPeriodStart, firstOpenCycle, isCycleCharged, nextChargedCycle } from './subscription-calendar';
export { createSubscription } from './subscribe.service';
export {
  acceptSaveOffer,
  addAddon,
  cancelSubscription,
  changeCadence,
  changeChargeDate,
  chargeDateWindow,
  listSaveOffers,
  migrateSubscribersToCurrentPrice,
  pauseSubscription,
  reactivateSubscription,
  recordSaveOfferShown,
  removeAddon,
  resumeSubscription,
  setSecondChoice,
  skipBox,
  swapBox,
  unskipBox,
  type ChargeDateWindow,
  type SaveOffer,
} from './subscription-changes.service';
export {
  activateFromCheckout,
  applyStripeSubscriptionEvent,
  checkoutSessionOf,
  findByStripeSubscriptionId,
  recordCyclePaid,
  recordPaymentFailure,
  skipCycleWithNothingToShip,
} from './subscription-payments.service';
export { applyPromoCode } from './subscription-promo-code.service';
export { clearBoxAddress, shipBoxTo } from './subscription-box-address.service';
export { runDueSubscriptionSync, syncDueSubscriptions, syncSubscriptionToStripe } from './subscription-stripe-sync.service';
export { getSubscription, listSubscriptions } from './subscription-reads.service';
export { armRenewalCheck, findForRenewal, retryRenewalCheckAt, subscriptionsDueForRenewal } from './subscription-renewal-check.service';
export { toSubscriptionView } from './subscription-views';
export { isUndoable, undoChange } from './subscription-undo.service';
export { canDo, type SubscriptionAction } from './subscription-states';
