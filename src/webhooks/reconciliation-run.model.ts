import { model, Schema } from 'mongoose';

/**
 * One run of the webhooks.reconcile-events job (installation-wide: Stripe's event list is the platform's, not
 * a store's): inserted when it starts, finished once with what it listed and recovered, or with its error.
 * A run still `running` long after it started is one whose worker stopped. Kept for the recent-runs list.
 */
export interface ReconciliationRun {
  _id: string;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: Date;
  finishedAt?: Date;
  listed?: number;
  recovered?: number;
  error?: string;
}

const ReconciliationRunSchema = new Schema<ReconciliationRun>(
  {
    _id: { type: String, required: true },
    status: { type: String, enum: ['running', 'succeeded', 'failed'], required: true },
    startedAt: { type: Date, required: true },
    finishedAt: { type: Date },
    listed: { type: Number },
    recovered: { type: Number },
    error: { type: String },
  },
  { collection: 'reconciliation_runs', versionKey: false },
);
// The recent runs, newest first (the billing page).
ReconciliationRunSchema.index({ startedAt: -1, _id: -1 });

export const ReconciliationRunModel = model<ReconciliationRun>('ReconciliationRun', ReconciliationRunSchema);
