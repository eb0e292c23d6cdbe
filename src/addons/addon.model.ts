import { model, Schema } from 'mongoose';
import { StockLevelSchema, type StockLevel } from '../inventory/stock';
import { CatalogPriceSchema, StripeSyncSchema, type CatalogPrice, type StripeSync } from '../catalog/catalog-price.subdocument';

/**
 * An extra a shopper can put in a box: once (`one_time`) or in every box (`recurring`). Either way it is
 * billed per box as a line on that cycle's invoice, so its Stripe Price is a one-time price.
 */
export interface Addon {
  _id: string;
  merchantId: string;
  name: string;
  description: string;
  sku: string;
  kind: 'one_time' | 'recurring';
  status: 'active' | 'archived';
  /** A new product: shoppers can add it from this local date (early-access perks open it before). */
  releasesOn?: string | null;
  currency: string;
  currentPriceId: string;
  prices: CatalogPrice[];
  /** When tracked, `onHand` never goes below zero: every change is a guarded `$inc` (src/inventory/stock.ts). */
  stock: StockLevel;
  stripe: StripeSync;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

const AddonSchema = new Schema<Addon>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    name: { type: String, required: true, trim: true },
    description: { type: String, default: '' },
    sku: { type: String, required: true },
    kind: { type: String, enum: ['one_time', 'recurring'], required: true },
    status: { type: String, enum: ['active', 'archived'], required: true },
    releasesOn: { type: String },
    currency: { type: String, required: true, match: /^[A-Z]{3}$/ },
    currentPriceId: { type: String, required: true },
    prices: [CatalogPriceSchema],
    stock: { type: StockLevelSchema, required: true },
    stripe: { type: StripeSyncSchema, required: true },
    revision: { type: Number, required: true, default: 0 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'addons', timestamps: false, versionKey: false, minimize: false },
);
AddonSchema.index({ merchantId: 1, sku: 1 }, { unique: true });
AddonSchema.index({ merchantId: 1, status: 1, createdAt: -1, _id: -1 });
// The merchant's list, newest first, of every status.
AddonSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
// The catalog's Stripe sync: the oldest attempt first among those of a state.
AddonSchema.index({ 'stripe.state': 1, 'stripe.attemptedAt': 1 });

export const AddonModel = model<Addon>('Addon', AddonSchema);
