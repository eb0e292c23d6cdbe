import { model, Schema } from 'mongoose';

export type WebhookEventState = 'pending' | 'processing' | 'succeeded' | 'failed';

/**
 * The inbox: every Stripe event we accepted, keyed by Stripe's event id (a second delivery collides on
 * `_id` and is recognised as seen). Processing happens in a job; state, attempts and the last error are kept.
 * A platform record: `merchantId` is recorded at receipt when the event itself names our merchant (the
 * `boxcycle_merchant_id` metadata we put on Stripe objects), else filled in when processing resolves it; an
 * event of no merchant stays the platform's. A merchant sees their own failed events and can replay them.
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
  /** The worker (and its claim) that took the event last: `<host>:<pid>#<uuid>`. */
  claimedBy?: string;
  processedAt?: Date;
  nextAttemptAt?: Date;
  merchantId?: string;
  /** How often a person put the event back after it failed (its attempts start again from 0 each time). */
  replays?: number;
  replayedAt?: Date;
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
    claimedBy: { type: String },
    processedAt: { type: Date },
    nextAttemptAt: { type: Date },
    merchantId: { type: String },
    replays: { type: Number },
    replayedAt: { type: Date },
  },
  { collection: 'webhook_events', versionKey: false, minimize: false },
);
// The inbox's sweep (src/shared/work-queue.ts): pending events nobody took, failed ones whose backoff passed, stuck claims.
WebhookEventSchema.index({ state: 1, receivedAt: 1, _id: 1 });
WebhookEventSchema.index({ state: 1, nextAttemptAt: 1, _id: 1 });
WebhookEventSchema.index({ state: 1, claimedAt: 1 });
// A merchant's failed events, newest first (the billing health page).
WebhookEventSchema.index({ merchantId: 1, state: 1, receivedAt: -1, _id: -1 });

export const WebhookEventModel = model<WebhookEvent>('WebhookEvent', WebhookEventSchema);
