import { model, Schema } from 'mongoose';
import type { WorkState } from '../shared/work-queue';
import { MESSAGE_CATEGORIES, type MessageAudience, type MessageCategory } from './message-contract';

export const MESSAGE_STATUSES = ['queued', 'sent', 'failed', 'suppressed'] as const;
/** `queued` until it is sent, fails for good, or is suppressed (never sent: see `suppressedReason`). */
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const SUPPRESSED_REASONS = ['address_bounced', 'unsubscribed', 'no_marketing_consent'] as const;
/**
 * Why a message was not sent: its address bounced permanently (an earlier SMTP 5xx), the shopper unsubscribed
 * from its category, or (marketing) the shopper never gave marketing consent.
 */
export type SuppressedReason = (typeof SUPPRESSED_REASONS)[number];

export const DELIVERY_EVENTS = ['queued', 'suppressed', 'sent', 'deferred', 'failed'] as const;

/** One step of a message's delivery, for the message log: queued (or suppressed), then each attempt's outcome. */
export interface DeliveryEvent {
  at: Date;
  event: (typeof DELIVERY_EVENTS)[number];
  /** The SMTP server's reply, the error, or the reason. */
  detail?: string;
  /** The SMTP reply code (250, 451, 550…), when the server gave one. */
  responseCode?: number;
}

/**
 * The outbox: one document per (merchant, key, template, recipient), under an id derived from them, so a
 * second queueing of the same message stores nothing (the `_id` index is the guarantee).
 *
 * Two fields tell where it is. `status` is what people read (queued → sent | failed | suppressed). `state` is
 * the shared work queue's (src/shared/work-queue.ts), which the delivery job claims and retries with:
 *   queued      pending, processing, or failed with a next attempt (a transient SMTP 4xx or a lost connection)
 *   sent        succeeded
 *   suppressed  succeeded (nothing to do: its recipient must not get it)
 *   failed      failed with no next attempt: a permanent SMTP 5xx, or the last of its attempts
 */
export interface Message {
  _id: string;
  /** Absent on a message to an address that has no store (a sign-up to confirm). */
  merchantId?: string;
  key: string;
  template: string;
  category: MessageCategory;
  audience: MessageAudience;
  customerId?: string;
  subscriptionId?: string;
  factId?: string;
  /** The recipient's address, in lower case. */
  to: string;
  from?: { name: string; address: string };
  replyTo?: string;
  subject: string;
  html: string;
  text: string;
  timezone: string;
  status: MessageStatus;
  suppressedReason?: SuppressedReason;
  /** Not before this instant: the content's own `sendAfter` (or the queueing), moved into the recipient's daytime for reminders and marketing. */
  sendAfter: Date;
  state: WorkState;
  attempts: number;
  claimedAt?: Date;
  nextAttemptAt?: Date;
  lastError?: string;
  /** The SMTP reply code of the last failed attempt. */
  lastResponseCode?: number;
  /** The id the SMTP server gave the message (`250 … queued as <id>`), else its whole reply. */
  providerMessageId?: string;
  /** The SMTP server's reply to the accepted message, as it said it. */
  providerResponse?: string;
  sentAt?: Date;
  failedAt?: Date;
  /** The headers of our own that the sent mail carried (Message-ID, X-Boxcycle-*, List-Unsubscribe…). */
  headers?: Record<string, string>;
  history: DeliveryEvent[];
  createdAt: Date;
}

const AddressSchema = new Schema({ name: { type: String, default: '' }, address: { type: String, required: true } }, { _id: false });

const DeliveryEventSchema = new Schema<DeliveryEvent>(
  {
    at: { type: Date, required: true },
    event: { type: String, enum: DELIVERY_EVENTS, required: true },
    detail: { type: String },
    responseCode: { type: Number },
  },
  { _id: false },
);

const MessageSchema = new Schema<Message>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String },
    key: { type: String, required: true },
    template: { type: String, required: true },
    category: { type: String, enum: MESSAGE_CATEGORIES, required: true },
    audience: { type: String, enum: ['shopper', 'merchant'], required: true },
    customerId: { type: String },
    subscriptionId: { type: String },
    factId: { type: String },
    to: { type: String, required: true },
    from: { type: AddressSchema },
    replyTo: { type: String },
    subject: { type: String, required: true },
    html: { type: String, required: true },
    text: { type: String, required: true },
    timezone: { type: String, required: true },
    status: { type: String, enum: MESSAGE_STATUSES, required: true },
    suppressedReason: { type: String, enum: SUPPRESSED_REASONS },
    sendAfter: { type: Date, required: true },
    state: { type: String, enum: ['pending', 'processing', 'succeeded', 'failed'], required: true },
    attempts: { type: Number, required: true, default: 0 },
    claimedAt: { type: Date },
    nextAttemptAt: { type: Date },
    lastError: { type: String },
    lastResponseCode: { type: Number },
    providerMessageId: { type: String },
    providerResponse: { type: String },
    sentAt: { type: Date },
    failedAt: { type: Date },
    headers: { type: Schema.Types.Mixed },
    history: { type: [DeliveryEventSchema], default: [] },
    createdAt: { type: Date, required: true },
  },
  { collection: 'messages', versionKey: false, minimize: false },
);
// What the delivery job looks for (src/shared/work-queue.ts): pending messages due, oldest first; failed ones
// whose backoff passed; stuck claims.
MessageSchema.index({ state: 1, sendAfter: 1, _id: 1 });
MessageSchema.index({ state: 1, nextAttemptAt: 1, _id: 1 });
MessageSchema.index({ state: 1, claimedAt: 1 });
// The message log: a merchant's messages, newest first, by customer, status or template (src/messages/message.service.ts).
MessageSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
MessageSchema.index({ merchantId: 1, customerId: 1, createdAt: -1 });
MessageSchema.index({ merchantId: 1, status: 1, createdAt: -1, _id: -1 });
MessageSchema.index({ merchantId: 1, template: 1, status: 1, createdAt: -1, _id: -1 });

export const MessageModel = model<Message>('Message', MessageSchema);
