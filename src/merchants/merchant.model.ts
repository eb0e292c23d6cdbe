import { model, Schema } from 'mongoose';
import type { SaveOfferSettings, SubscriptionSettings } from '../subscriptions/subscription-settings';
import type { ShippingFee } from './shipping-fees';

export interface Merchant {
  _id: string;
  name: string;
  email: string;
  /** ISO 4217, upper case. */
  defaultCurrency: string;
  /** IANA time zone; calendar rules (cut-offs, charge dates) are computed in it. */
  timezone: string;
  /** The merchant's own choices; anything not set takes the default (subscription-settings.ts). */
  subscriptionSettings?: Partial<Omit<SubscriptionSettings, 'saveOffers'>> & {
    saveOffers?: Partial<SaveOfferSettings>;
    /** Shipping charged on each box, per currency (read through shippingFeesOf, in shipping-fees.ts). */
    shippingFees?: ShippingFee[];
    /** Before fees were per currency: one amount for every currency. Read as the default currency's fee; removed when a list is set. */
    shippingFeeMinor?: number;
  };
  /** The store's address on the storefront: `/shop/<handle>`. Lower-case letters, digits and dashes; unique. */
  handle?: string;
  /** How the storefront, the shopper's pages and the e-mails look: the store's colour and logo. */
  brand?: { accentColor?: string; logoUrl?: string };
  /** scrypt hash; absent for the demo merchant, which cannot log in. */
  passwordHash?: string;
  createdAt: Date;
  updatedAt: Date;
}

const MerchantSchema = new Schema<Merchant>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true, trim: true },
    email: { type: String, required: true, lowercase: true, trim: true },
    defaultCurrency: { type: String, required: true, match: /^[A-Z]{3}$/ },
    timezone: { type: String, required: true },
    subscriptionSettings: { type: Schema.Types.Mixed },
    handle: { type: String },
    brand: { type: new Schema({ accentColor: { type: String, match: /^#[0-9a-f]{6}$/ }, logoUrl: { type: String } }, { _id: false }) },
    passwordHash: { type: String },
    // Set from the injected clock by the services, not by Mongoose from the system clock.
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'merchants', timestamps: false, versionKey: false },
);
// Sparse: stores made before handles get theirs at start (src/merchants/merchant-migrations.service.ts).
MerchantSchema.index({ handle: 1 }, { unique: true, sparse: true });
MerchantSchema.index({ email: 1 }, { unique: true });

export const MerchantModel = model<Merchant>('Merchant', MerchantSchema);
