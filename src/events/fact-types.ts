/**
 * Every domain fact the product records: what became true, named `<subject>.<past tense>`. A fact is written
 * in the same single-document update that makes it true (see fact-source.ts), then relayed to the `events`
 * collection, where listeners (src/listeners.ts), timelines and projections read it.
 */
export const FACT_TYPES = [
  // A subscription (subject: the subscription)
  'subscription.created',
  'subscription.activated',
  'subscription.skipped',
  'subscription.unskipped',
  'subscription.paused',
  'subscription.resumed',
  'subscription.swapped',
  'subscription.swap_applied',
  'subscription.cadence_changed',
  'subscription.charge_date_changed',
  'subscription.addon_added',
  'subscription.addon_removed',
  'subscription.second_choice_set',
  'subscription.box_address_set',
  'subscription.save_offer_accepted',
  'subscription.save_offer_shown',
  'subscription.promo_code_applied',
  'subscription.price_migrated',
  'subscription.cancellation_scheduled',
  'subscription.cancelled',
  'subscription.reactivated',
  'subscription.payment_failed',
  'subscription.recovered',
  'subscription.dunning_ended',
  'subscription.box_skipped',
  'subscription.status_synced',
  // A cycle's box (subject: the order)
  'box.reserved',
  'box.adjusted',
  'box.back_ordered',
  'box.paid',
  'box.held',
  'box.packed',
  'box.shipped',
  'box.delivered',
  'box.rated',
  'box.cancelled',
  'box.refunded',
  'box.payment_refunded',
  'box.charged_after_cancel',
  // Loyalty (subject: the shopper's loyalty account)
  'loyalty.tier_changed',
  'loyalty.points_expiring',
  // Points turned into credit (subject: the ledger entry that records it)
  'loyalty.points_redeemed',
  'loyalty.points_adjusted',
  // Referrals (subject: the referral)
  'referral.attributed',
  'referral.held',
  'referral.approved',
  'referral.rejected',
  'referral.rewarded',
  // Surprise gifts (subject: the gift award)
  'gift.granted',
  'gift.delivered',
  'gift.returned',
  // A shopper (subject: the customer)
  'customer.address_changed',
  // A merchant's make-good for a mistake: the apology and what was given (subject: the make-good's grant to one subscription)
  'make_good.given',
  // Birthday and anniversary rewards (subject: the box reward, or the loyalty ledger entry, that holds the grant)
  'reward.granted',
] as const;
export type FactType = (typeof FACT_TYPES)[number];

export const SUBJECT_TYPES = [
  'subscription',
  'box',
  'loyalty_account',
  'referral',
  'gift_award',
  'customer',
  'box_reward',
  'loyalty_entry',
  'make_good',
] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

/** Who made a fact true. */
export const ACTOR_KINDS = ['shopper', 'merchant', 'stripe', 'job', 'system'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];
export interface Actor {
  kind: ActorKind;
  /** The customer, the merchant's API key, the Stripe event, or the job's name. */
  id?: string;
}

export const actors = {
  shopper: (customerId: string): Actor => ({ kind: 'shopper', id: customerId }),
  merchant: (apiKeyId?: string): Actor => (apiKeyId ? { kind: 'merchant', id: apiKeyId } : { kind: 'merchant' }),
  stripe: (eventId?: string): Actor => (eventId ? { kind: 'stripe', id: eventId } : { kind: 'stripe' }),
  job: (name: string): Actor => ({ kind: 'job', id: name }),
  system: (): Actor => ({ kind: 'system' }),
};
