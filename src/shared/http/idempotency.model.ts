import { model, Schema } from 'mongoose';

/**
 * A request made with an `Idempotency-Key`: its fingerprint, and once done, the response to replay.
 * Unique per scope (the merchant, a shopper session's customer, or the request itself on a public route: see
 * `idempotencyScope`) and key.
 */
export interface IdempotencyRecord {
  _id: string;
  scope: string;
  key: string;
  fingerprint: string;
  state: 'processing' | 'completed';
  responseStatus?: number;
  responseBody?: unknown;
  createdAt: Date;
  completedAt?: Date;
}

const IdempotencyRecordSchema = new Schema<IdempotencyRecord>(
  {
    _id: { type: String, required: true },
    scope: { type: String, required: true },
    key: { type: String, required: true },
    fingerprint: { type: String, required: true },
    state: { type: String, enum: ['processing', 'completed'], required: true },
    responseStatus: { type: Number },
    responseBody: { type: Schema.Types.Mixed },
    createdAt: { type: Date, required: true },
    completedAt: { type: Date },
  },
  { collection: 'idempotency_records', versionKey: false, minimize: false },
);
IdempotencyRecordSchema.index({ scope: 1, key: 1 }, { unique: true });
IdempotencyRecordSchema.index({ createdAt: 1 });

export const IdempotencyRecordModel = model<IdempotencyRecord>('IdempotencyRecord', IdempotencyRecordSchema);
