import { model, Schema } from 'mongoose';

/**
 * A message the local SMTP catcher (src/local/mail-catcher.ts) received instead of the world: with no
 * SMTP_URL, every mail the product sends ends here, readable under the merchant's pages, and nothing leaves
 * the machine. `merchantId` comes from the `X-Boxcycle-Merchant` header our delivery sets (absent: the
 * platform's own mail, e.g. a sign-up to confirm).
 */
export interface CaughtMail {
  _id: string;
  merchantId?: string;
  /** Our outbox message it was (`X-Boxcycle-Message`), when it came from the outbox. */
  outboxMessageId?: string;
  /** The Message-ID header. */
  messageId?: string;
  /** The envelope: who the SMTP session said it was from and to. */
  envelopeFrom?: string;
  envelopeTo: string[];
  /** The From header, as shown (`Name <address>`). */
  from?: string;
  /** The recipients' addresses (To and Cc headers, else the envelope's), in lower case. */
  to: string[];
  subject?: string;
  /** The Date header. */
  date?: Date;
  /** Every header line, in order, unfolded. */
  headers: Array<{ name: string; value: string }>;
  text?: string;
  html?: string;
  /** Whether it has an HTML part (lists leave the parts out). */
  hasHtml: boolean;
  /** The size of the message as received, in bytes. */
  rawSize: number;
  /** When the catcher received it (the list is ordered by it). */
  createdAt: Date;
}

const CaughtMailSchema = new Schema<CaughtMail>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String },
    outboxMessageId: { type: String },
    messageId: { type: String },
    envelopeFrom: { type: String },
    envelopeTo: { type: [String], default: [] },
    from: { type: String },
    to: { type: [String], default: [] },
    subject: { type: String },
    date: { type: Date },
    headers: { type: [new Schema({ name: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false })], default: [] },
    text: { type: String },
    html: { type: String },
    hasHtml: { type: Boolean, required: true },
    rawSize: { type: Number, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'caught_mail', versionKey: false },
);
CaughtMailSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
CaughtMailSchema.index({ to: 1, createdAt: -1, _id: -1 });

export const CaughtMailModel = model<CaughtMail>('CaughtMail', CaughtMailSchema);
