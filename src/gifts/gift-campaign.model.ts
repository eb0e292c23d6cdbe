import { model, Schema } from 'mongoose';

export const GIFT_CAMPAIGN_STATUSES = ['draft', 'active', 'ended'] as const;
export type GiftCampaignStatus = (typeof GIFT_CAMPAIGN_STATUSES)[number];

/** Who may be picked: every filter set must hold (absent filters let everyone through). */
export interface GiftEligibility {
  /** The subscription's current plan is one of these. */
  planIds?: string[];
  /** Tenure: at least this many paid boxes on the subscription. */
  minPaidBoxes?: number;
  /** The shopper holds one of these loyalty tiers. */
  tierKeys?: string[];
  /** The shopper is in the top X% of the merchant's shoppers by 12-month spend (1..100). */
  topSpendPercent?: number;
}

/** Everyone eligible, or a seeded share of them (the same seed always draws the same boxes). */
export type GiftSelection = { mode: 'all' } | { mode: 'random_share'; percent: number; seed: string };

/**
 * One gift given from the campaign's budget: the guard that makes the budget exact. `key` is the gift
 * award's id (one per subscription and cycle), so a box is granted at most once per campaign, whatever the
 * number of workers; the rest is what the award is written from (a crash between the two is healed).
 */
export interface GiftGrant {
  key: string;
  subscriptionId: string;
  customerId: string;
  cycleKey: string;
  addonId: string;
  at: Date;
}

/**
 * A merchant's surprise-gift campaign: which add-ons to give, to whom, how many and at what cost at most.
 * `remaining` only moves with `grants`, in one guarded single-document update (src/gifts/gift.service.ts),
 * so neither budget is ever exceeded.
 */
export interface GiftCampaign {
  _id: string;
  merchantId: string;
  name: string;
  status: GiftCampaignStatus;
  /** The merchant's add-ons given as the gift, in order of preference. */
  giftAddonIds: string[];
  /** What one gift costs the merchant (for the cost budget), in `currency`. */
  unitCostMinor: number;
  currency: string;
  /** How many gifts at most. */
  stockBudget: number;
  /** What the gifts may cost at most, in `currency`. */
  costBudgetMinor: number;
  remaining: { count: number; costMinor: number };
  eligibility: GiftEligibility;
  selection: GiftSelection;
  /** No box of a subscription gets a gift when one of its previous K cycles did (any campaign). */
  minGapCycles: number;
  /** Local dates (merchant's zone) the cycle's charge date must fall within; `endsOn` inclusive. */
  startsOn: string;
  endsOn?: string;
  /** How long before a box's cut-off it may be picked. */
  leadHours: number;
  grants: GiftGrant[];
  activatedAt?: Date;
  endedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

const GiftGrantSchema = new Schema<GiftGrant>(
  {
    key: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    customerId: { type: String, required: true },
    cycleKey: { type: String, required: true },
    addonId: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { _id: false },
);

const GiftCampaignSchema = new Schema<GiftCampaign>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    name: { type: String, required: true },
    status: { type: String, enum: GIFT_CAMPAIGN_STATUSES, required: true },
    giftAddonIds: { type: [String], required: true },
    unitCostMinor: { type: Number, required: true, min: 0, validate: Number.isSafeInteger },
    currency: { type: String, required: true, match: /^[A-Z]{3}$/ },
    stockBudget: { type: Number, required: true, min: 1 },
    costBudgetMinor: { type: Number, required: true, min: 0, validate: Number.isSafeInteger },
    remaining: {
      type: new Schema({ count: { type: Number, required: true, min: 0 }, costMinor: { type: Number, required: true, min: 0 } }, { _id: false }),
      required: true,
    },
    eligibility: {
      type: new Schema(
        { planIds: { type: [String], default: undefined }, minPaidBoxes: Number, tierKeys: { type: [String], default: undefined }, topSpendPercent: Number },
        { _id: false },
      ),
      default: {},
    },
    selection: { type: Schema.Types.Mixed, required: true },
    minGapCycles: { type: Number, required: true, min: 0 },
    startsOn: { type: String, required: true, match: /^\d{4}-\d{2}-\d{2}$/ },
    endsOn: { type: String, match: /^\d{4}-\d{2}-\d{2}$/ },
    leadHours: { type: Number, required: true, min: 1 },
    grants: { type: [GiftGrantSchema], default: [] },
    activatedAt: { type: Date },
    endedAt: { type: Date },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'gift_campaigns', versionKey: false, minimize: false },
);
GiftCampaignSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
// A store's campaigns of a status, oldest or newest first.
GiftCampaignSchema.index({ merchantId: 1, status: 1, createdAt: -1, _id: -1 });
// The job: active campaigns of every store, oldest first.
GiftCampaignSchema.index({ status: 1, createdAt: -1, _id: -1 });

export const GiftCampaignModel = model<GiftCampaign>('GiftCampaign', GiftCampaignSchema);
