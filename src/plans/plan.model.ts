import { model, Schema } from 'mongoose';
import { CatalogPriceSchema, StripeSyncSchema, type CatalogPrice, type StripeSync } from '../catalog/catalog-price.subdocument';

export type CadenceInterval = 'week' | 'month';

export interface PlanVariant {
  _id: string;
  name: string;
  sku: string;
  /** Free-form choices this variant stands for, e.g. { roast: 'dark', grind: 'whole bean', size: '500g' }. */
  options: Record<string, string>;
  /** Variants (by sku) sent instead, in this order, when this one is out of stock at the cut-off. */
  substituteSkus: string[];
  status: 'active' | 'archived';
}

/** One way to receive the box: every `intervalCount` `interval`s, at the plan's current price for it. */
export interface PlanCadence {
  /** `month-1`, `week-2`: stable; prices and subscriptions refer to it. */
  key: string;
  interval: CadenceInterval;
  intervalCount: number;
  /** Our id of the price new subscribers pay; older prices stay on `prices` for existing subscribers. */
  currentPriceId: string;
  status: 'active' | 'archived';
}

export type FirstBoxDiscount = { type: 'percent'; percentOff: number } | { type: 'amount'; amountOffMinor: number };

export interface Plan {
  _id: string;
  merchantId: string;
  name: string;
  description: string;
  /** Unique per merchant (given, or made from the name): the natural key for seeding, imports and URLs. */
  slug: string;
  status: 'active' | 'archived';
  currency: string;
  variants: PlanVariant[];
  cadences: PlanCadence[];
  /** Every price the plan ever had, newest last. Never removed: subscribers keep theirs until migrated. */
  prices: CatalogPrice[];
  trialDays: number;
  firstBoxDiscount?: FirstBoxDiscount;
  stripe: StripeSync;
  /** Bumped by every change; updates are conditional on it (optimistic concurrency). */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

const PlanSchema = new Schema<Plan>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    name: { type: String, required: true, trim: true },
    description: { type: String, default: '' },
    slug: { type: String, required: true, match: /^[a-z0-9-]{1,64}$/ },
    status: { type: String, enum: ['active', 'archived'], required: true, default: 'active' },
    currency: { type: String, required: true, match: /^[A-Z]{3}$/ },
    variants: [
      new Schema<PlanVariant>(
        {
          _id: { type: String, required: true },
          name: { type: String, required: true },
          sku: { type: String, required: true },
          options: { type: Map, of: String, default: {} },
          substituteSkus: { type: [String], default: [] },
          status: { type: String, enum: ['active', 'archived'], required: true, default: 'active' },
        },
        { _id: false },
      ),
    ],
    cadences: [
      new Schema<PlanCadence>(
        {
          key: { type: String, required: true },
          interval: { type: String, enum: ['week', 'month'], required: true },
          intervalCount: { type: Number, required: true, min: 1 },
          currentPriceId: { type: String, required: true },
          status: { type: String, enum: ['active', 'archived'], required: true, default: 'active' },
        },
        { _id: false },
      ),
    ],
    prices: [CatalogPriceSchema],
    trialDays: { type: Number, required: true, default: 0, min: 0 },
    firstBoxDiscount: { type: Schema.Types.Mixed },
    stripe: { type: StripeSyncSchema, required: true },
    revision: { type: Number, required: true, default: 0 },
    // Set from the injected clock by the service, not by Mongoose from the system clock.
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'plans', timestamps: false, versionKey: false, minimize: false },
);
PlanSchema.index({ merchantId: 1, slug: 1 }, { unique: true });
PlanSchema.index({ merchantId: 1, status: 1, createdAt: -1, _id: -1 });
// The merchant's list, newest first, of every status.
PlanSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
// The catalog's Stripe sync: the oldest attempt first among those of a state.
PlanSchema.index({ 'stripe.state': 1, 'stripe.attemptedAt': 1 });

export const PlanModel = model<Plan>('Plan', PlanSchema);
