import { model, Schema } from 'mongoose';

/**
 * The marker of the demo store's made-up history: one document per store, inserted before the history is
 * made (its unique `_id` is the claim, so two processes starting at once make it once) and marked `done`
 * after. A store with a marker is never given a history again, finished or not.
 */
export interface DemoHistory {
  _id: string;
  merchantId: string;
  status: 'running' | 'done';
  /** The first day of the made-up history (the clock was set back to it). */
  fromAt: Date;
  /** Where the walk ended: the real time at start. */
  toAt: Date;
  startedAt: Date;
  finishedAt?: Date;
  /** What was made, for the log and the tests. */
  made?: { customers: number; subscriptions: number; paidBoxes: number; ms: number };
}

const DemoHistorySchema = new Schema<DemoHistory>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    status: { type: String, required: true, enum: ['running', 'done'] },
    fromAt: { type: Date, required: true },
    toAt: { type: Date, required: true },
    startedAt: { type: Date, required: true },
    finishedAt: { type: Date },
    made: { type: Schema.Types.Mixed },
  },
  { collection: 'demo_histories', versionKey: false },
);
DemoHistorySchema.index({ merchantId: 1 }, { unique: true });

export const DemoHistoryModel = model<DemoHistory>('DemoHistory', DemoHistorySchema);
