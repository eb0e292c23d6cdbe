import { model, Schema } from 'mongoose';

export type WebhookEventState = 'pending' | 'processing' | 'succeeded' | 'failed';

/**
 * The inbox: every Stripe event we accepted, keyed by Stripe's event id (a second delivery collides on
 * `_id` and is recognised as seen). Processing happens in a job; state, attempts and the last error are kept.
 * A platform record (events arrive before we know whose they are); `merchantId` is filled in once resolved.
 */
export interface WebhookEvent {
  _id: string;
  type: string;
  /** When Stripe created the event: orders information about one Stripe object. */
  stripeCreatedAt: Date;
  livemode: boolean;
  payload: Record<string, unknown>;
  state: WebhookEventState;
  attempts: number;
  lastError?: string;
  receivedAt: Date;
  claimedAt?: Date;
  processedAt?: Date;
  nextAttemptAt?: Date;
  merchantId?: string;
}

const WebhookEventSchema = new Schema<WebhookEvent>(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    stripeCreatedAt: { type: Date, required: true },
    livemode: { type: Boolean, required: true },
    payload: { type: Schema.Types.Mixed, required: true },
    state: { type: String, enum: ['pending', 'processing', 'succeeded', 'failed'], required: true },
    attempts: { type: Number, required: true, default: 0 },
    lastError: { type: String },
    receivedAt: { type: Date, required: true },
    claimedAt: { type: Date },
    processedAt: { type: Date },
    nextAttemptAt: { type: Date },
    merchantId: { type: String },
  },
  { collection: 'webhook_events', versionKey: false, minimize: false },
);
WebhookEventSchema.index({ state: 1, nextAttemptAt: 1 });
WebhookEventSchema.index({ state: 1, claimedAt: 1 });

export const WebhookEventModel = model<WebhookEvent>('WebhookEvent', WebhookEventSchema);
