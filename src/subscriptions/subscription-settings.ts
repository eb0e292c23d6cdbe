/** The merchant's rules for self-service changes. Per-merchant overrides come with the settings API. */
export interface SubscriptionSettings {
  /** A cycle's box locks this many local days before its charge. */
  cutoffDays: number;
  /** How far (in days, either way) a shopper may move their next charge. */
  maxChargeDateShiftDays: number;
  /** Reasons a shopper may give for cancelling (stable codes). */
  cancellationReasons: string[];
}

export const DEFAULT_SUBSCRIPTION_SETTINGS: SubscriptionSettings = {
  cutoffDays: 3,
  maxChargeDateShiftDays: 14,
  cancellationReasons: ['too_expensive', 'too_much_product', 'not_using_it', 'quality', 'shipping', 'switching_brand', 'moving', 'other'],
};
