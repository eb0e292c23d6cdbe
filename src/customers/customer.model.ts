import { model, Schema } from 'mongoose';

export interface PostalAddress {
  line1: string;
  line2?: string;
  city: string;
  region?: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

/** A merchant's shopper. The Stripe customer is created with a keyed write and recorded once. */
export interface Customer {
  _id: string;
  merchantId: string;
  email: string;
  name: string;
  phone?: string;
  shippingAddress: PostalAddress;
  /** `MM-DD`, or `YYYY-MM-DD` when the year is known (birthday rewards use the month and day). */
  birthday?: string;
  marketingConsent: { granted: boolean; changedAt: Date };
  stripeCustomerId?: string;
  stripeSyncedRevision?: number;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

const AddressSchema = new Schema<PostalAddress>(
  {
    line1: { type: String, required: true },
    line2: { type: String },
    city: { type: String, required: true },
    region: { type: String },
    postalCode: { type: String, required: true },
    country: { type: String, required: true, match: /^[A-Z]{2}$/ },
  },
  { _id: false },
);

const CustomerSchema = new Schema<Customer>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    email: { type: String, required: true, lowercase: true, trim: true },
    name: { type: String, required: true },
    phone: { type: String },
    shippingAddress: { type: AddressSchema, required: true },
    birthday: { type: String },
    marketingConsent: {
      type: new Schema({ granted: { type: Boolean, required: true }, changedAt: { type: Date, required: true } }, { _id: false }),
      required: true,
    },
    stripeCustomerId: { type: String },
    stripeSyncedRevision: { type: Number },
    revision: { type: Number, required: true, default: 0 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'customers', timestamps: false, versionKey: false },
);
CustomerSchema.index({ merchantId: 1, email: 1 }, { unique: true });
CustomerSchema.index({ merchantId: 1, createdAt: -1 });

export const CustomerModel = model<Customer>('Customer', CustomerSchema);
