import { Schema } from 'mongoose';

/**
 * One price a plan cadence or an add-on had. A new amount is a new price (and a new Stripe Price); the
 * old one is kept, inactive, because subscribers on it keep it until the merchant migrates them.
 */
export interface CatalogPrice {
  _id: string;
  /** For plans: the cadence key (`month-1`); for add-ons: `one_time`. */
  cadenceKey: string;
  amountMinor: number;
  currency: string;
  active: boolean;
  createdAt: Date;
  stripePriceId?: string;
  /** Set once the Stripe Price of an inactive price was deactivated. */
  stripeDeactivatedAt?: Date;
}

export const CatalogPriceSchema = new Schema<CatalogPrice>(
  {
    _id: { type: String, required: true },
    cadenceKey: { type: String, required: true },
    amountMinor: { type: Number, required: true, min: 0, validate: Number.isSafeInteger },
    currency: { type: String, required: true, match: /^[A-Z]{3}$/ },
    active: { type: Boolean, required: true },
    createdAt: { type: Date, required: true },
    stripePriceId: { type: String },
    stripeDeactivatedAt: { type: Date },
  },
  { _id: false },
);

/** Where a catalog item stands with Stripe. `pending` items are (re)tried by the catalog sync job. */
export interface StripeSync {
  productId?: string;
  state: 'pending' | 'synced';
  /** The item revision last pushed to Stripe. */
  syncedRevision?: number;
  lastError?: string;
  attemptedAt?: Date;
}

export const StripeSyncSchema = new Schema<StripeSync>(
  {
    productId: { type: String },
    state: { type: String, enum: ['pending', 'synced'], required: true, default: 'pending' },
    syncedRevision: { type: Number },
    lastError: { type: String },
    attemptedAt: { type: Date },
  },
  { _id: false },
);
