import { model, Schema } from 'mongoose';

/**
 * An address that bounced permanently (an SMTP 5xx): non-essential mail to it is suppressed until the
 * merchant lifts it (the shopper's address was fixed). Kept per merchant (absent: the platform's own mail)
 * and address, under an id derived from both; a customer's other address is not concerned.
 */
export interface MessageSuppression {
  _id: string;
  merchantId?: string;
  address: string;
  reason: 'bounced';
  /**
   * The server refused the recipient itself (5xx to RCPT TO: no such mailbox): nothing can reach it, so
   * transactional mail is suppressed too. A 5xx to the message (DATA: refused as spam, too large) suppresses
   * reminders and marketing only, and essential mail is still tried.
   */
  recipientRefused: boolean;
  /** The server's reply, as it said it. */
  response: string;
  responseCode?: number;
  /** The message whose delivery bounced. */
  messageId: string;
  /** When the address was first, and last, found bouncing. */
  createdAt: Date;
  lastBouncedAt: Date;
}

const MessageSuppressionSchema = new Schema<MessageSuppression>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String },
    address: { type: String, required: true },
    reason: { type: String, enum: ['bounced'], required: true },
    recipientRefused: { type: Boolean, required: true },
    response: { type: String, required: true },
    responseCode: { type: Number },
    messageId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    lastBouncedAt: { type: Date, required: true },
  },
  { collection: 'message_suppressions', versionKey: false },
);
MessageSuppressionSchema.index({ merchantId: 1, createdAt: -1 });

export const MessageSuppressionModel = model<MessageSuppression>('MessageSuppression', MessageSuppressionSchema);
