import { model, Schema } from 'mongoose';

/**
 * A message to a shopper, rendered when queued (what was true then is what they read). The id is derived
 * from what the message is about, so the same fact never queues a second message.
 */
export interface Notification {
  _id: string;
  merchantId: string;
  customerId: string;
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
    merchantId: { type: String, required: true },
    customerId: { type: String, required: true },
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
