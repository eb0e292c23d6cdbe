import { model, Schema } from 'mongoose';

export type WebAudience = 'merchant' | 'shopper';

/**
 * A browser's signed-in session: the cookie holds a random token, the database only its SHA-256. Rolling: each
 * use moves its end further (until `absoluteExpiresAt`); revocable one by one or all at once (sign out everywhere).
 */
export interface WebSession {
  _id: string;
  audience: WebAudience;
  merchantId: string;
  /** The shopper, for a shopper's session. */
  customerId?: string;
  email: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  absoluteExpiresAt: Date;
  revokedAt?: Date;
  userAgent?: string;
}

const WebSessionSchema = new Schema<WebSession>(
  {
    _id: { type: String, required: true },
    audience: { type: String, enum: ['merchant', 'shopper'], required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String },
    email: { type: String, required: true },
    createdAt: { type: Date, required: true },
    lastSeenAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    absoluteExpiresAt: { type: Date, required: true },
    revokedAt: { type: Date },
    userAgent: { type: String },
  },
  { collection: 'web_sessions', versionKey: false },
);
WebSessionSchema.index({ merchantId: 1, audience: 1, customerId: 1 });
WebSessionSchema.index({ expiresAt: 1 });

export const WebSessionModel = model<WebSession>('WebSession', WebSessionSchema);
