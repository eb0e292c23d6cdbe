import { model, Schema } from 'mongoose';
import { factSource, type FactBearing } from '../events/fact-source';

export interface PostalAddress {
  line1: string;
  line2?: string;
  city: string;
  region?: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

/**
 * The card the shopper pays with, as Stripe last told us (a payment method attached, updated or replaced by
 * the card network, or the one a subscription was made with). Never the number: brand, last 4, expiry.
 */
export interface CustomerCard {
  stripePaymentMethodId: string;
  brand: string;
  last4: string;
  /** 1 to 12. */
  expMonth: number;
  expYear: number;
  /** When Stripe said so (the event's or the read's time): older news does not replace newer. */
  seenAt: Date;
}

/**
 * A merchant's shopper. The Stripe customer is created with a keyed write and recorded once. A shopper records
 * the facts about itself (`customer.address_changed`) in the update that makes them true.
 */
export interface Customer extends Partial<FactBearing> {
  _id: string;
  merchantId: string;
  email: string;
  name: string;
  /**
   * The name's words, lower case and without accents (`['ana', 'muller']` for "Ana Müller"): the merchant's
   * search by name looks them up by prefix through an index. Written with the name by the customers service;
   * absent on customers saved before it existed (they are found by e-mail until their name is saved again).
   */
  nameWords?: string[];
  phone?: string;
  shippingAddress: PostalAddress;
  /** `MM-DD`, or `YYYY-MM-DD` when the year is known (birthday rewards use the month and day). */
  birthday?: string;
  /**
   * The birthday's `MM-DD` (whatever its form), written with `birthday` by the customers service: the birthday
   * rewards read the shoppers whose month-day falls in their window through `{ merchantId, birthdayMonthDay }`.
   * Customers saved before it existed get it from `npm run customers:backfill-birthdays`.
   */
  birthdayMonthDay?: string;
  /** BCP 47, canonical (`de-DE`): how money and dates read in their messages; absent: the merchant's. */
  locale?: string;
  /** IANA: the zone their messages' dates are in (and their daytime); absent: the merchant's. */
  timezone?: string;
  card?: CustomerCard;
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
    nameWords: { type: [String], default: undefined },
    phone: { type: String },
    shippingAddress: { type: AddressSchema, required: true },
    birthday: { type: String },
    birthdayMonthDay: { type: String },
    locale: { type: String },
    timezone: { type: String },
    card: {
      type: new Schema<CustomerCard>(
        {
          stripePaymentMethodId: { type: String, required: true },
          brand: { type: String, required: true },
          last4: { type: String, required: true },
          expMonth: { type: Number, required: true, min: 1, max: 12 },
          expYear: { type: Number, required: true },
          seenAt: { type: Date, required: true },
        },
        { _id: false },
      ),
    },
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
CustomerSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
// The merchant's search by name: a prefix of one of the name's words (multikey).
CustomerSchema.index({ merchantId: 1, nameWords: 1 });
// The birthday rewards: shoppers whose birthday falls on some month-days, a page at a time by id.
CustomerSchema.index({ merchantId: 1, birthdayMonthDay: 1, _id: 1 });
// Stripe's payment method events name the Stripe customer.
CustomerSchema.index({ stripeCustomerId: 1 });
// The card-expiry reminder: shoppers whose card expires in a given month.
CustomerSchema.index({ merchantId: 1, 'card.expYear': 1, 'card.expMonth': 1 });
factSource(CustomerSchema, {
  subjectType: 'customer',
  linkFields: [],
  links: (doc) => ({ merchantId: doc.merchantId as string, customerId: doc._id as string }),
});

export const CustomerModel = model<Customer>('Customer', CustomerSchema);
