import { model, Schema } from 'mongoose';

/**
 * A merchant's secret API key. Only a SHA-256 of the key is stored (the key is 190 random bits, so a fast
 * hash is enough); the prefix is kept to let the merchant tell keys apart. `session` keys come from log-in
 * and expire; `secret` keys live until revoked.
 */
export interface ApiKey {
  _id: string;
  merchantId: string;
  kind: 'secret' | 'session' | 'shopper';
  /** Shopper sessions only: the one customer the key acts for. */
  customerId?: string;
  name: string;
  prefix: string;
  hash: string;
  createdAt: Date;
  expiresAt?: Date;
  revokedAt?: Date;
  lastUsedAt?: Date;
}

const ApiKeySchema = new Schema<ApiKey>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    kind: { type: String, enum: ['secret', 'session', 'shopper'], required: true },
    customerId: { type: String },
    name: { type: String, required: true },
    prefix: { type: String, required: true },
    hash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date },
    revokedAt: { type: Date },
    lastUsedAt: { type: Date },
  },
  { collection: 'api_keys', versionKey: false },
);
ApiKeySchema.index({ hash: 1 }, { unique: true });
ApiKeySchema.index({ merchantId: 1, createdAt: -1 });

export const ApiKeyModel = model<ApiKey>('ApiKey', ApiKeySchema);
