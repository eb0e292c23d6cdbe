import { model, Schema } from 'mongoose';

/** The categories a shopper can turn off: transactional mail is always sent. */
export const OPTIONAL_CATEGORIES = ['reminder', 'marketing'] as const;
export type OptionalCategory = (typeof OPTIONAL_CATEGORIES)[number];

/**
 * A shopper's choice for one category of a merchant's messages, under an id derived from (merchant,
 * customer, category). No document: subscribed (marketing also needs the customer's marketing consent).
 */
export interface MessagePreference {
  _id: string;
  merchantId: string;
  customerId: string;
  category: OptionalCategory;
  subscribed: boolean;
  /** Who changed it last: the shopper's one-click unsubscribe (RFC 8058), the shopper on the unsubscribe page, or the merchant's API. */
  source: 'one_click' | 'page' | 'merchant';
  changedAt: Date;
}

const MessagePreferenceSchema = new Schema<MessagePreference>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String, required: true },
    category: { type: String, enum: OPTIONAL_CATEGORIES, required: true },
    subscribed: { type: Boolean, required: true },
    source: { type: String, enum: ['one_click', 'page', 'merchant'], required: true },
    changedAt: { type: Date, required: true },
  },
  { collection: 'message_preferences', versionKey: false },
);
MessagePreferenceSchema.index({ merchantId: 1, customerId: 1 });

export const MessagePreferenceModel = model<MessagePreference>('MessagePreference', MessagePreferenceSchema);
