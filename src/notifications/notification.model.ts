import { model, Schema } from 'mongoose';

/**
 * A message, rendered when queued (what was true then is what they read). The id is derived from what the
 * message is about, so the same fact never queues a second message. Most are to a shopper (`customerId`);
 * `audience: 'merchant'` ones go to an account holder's address (`to`), e.g. to confirm a sign-up, and have
 * no customer (nor a merchant, for an address that has no account yet).
 */
export interface Notification {
  _id: string;
  /** Absent only on a message to an address that has no account yet (a sign-up to confirm). */
  merchantId?: string;
  /** Absent on a message to a merchant's address. */
  customerId?: string;
  /** `shopper` when absent (messages queued before there were others). */
  audience?: 'shopper' | 'merchant';
  /** The address of a message to a merchant (a shopper's is the customer's). */
  to?: string;
  subscriptionId?: string;
  type: string;
  subject: string;
  text: string;
  /** `queued` until a delivery channel takes it (e-mail delivery is not wired yet: see the README). */
  status: 'queued';
  createdAt: Date;
}

const NotificationSchema = new Schema<Notification>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String },
    customerId: { type: String },
    audience: { type: String, enum: ['shopper', 'merchant'] },
    to: { type: String },
    subscriptionId: { type: String },
    type: { type: String, required: true },
    subject: { type: String, required: true },
    text: { type: String, required: true },
    status: { type: String, enum: ['queued'], required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'notifications', versionKey: false },
);
NotificationSchema.index({ merchantId: 1, createdAt: -1 });
NotificationSchema.index({ merchantId: 1, customerId: 1, createdAt: -1 });

export const NotificationModel = model<Notification>('Notification', NotificationSchema);
