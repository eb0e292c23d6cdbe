import { model, Schema } from 'mongoose';

/** Requests counted in one fixed window for one limit and key (IP, e-mail). Old windows are swept by a job. */
export interface RateLimitWindow {
  _id: string;
  count: number;
  windowEndsAt: Date;
}

const RateLimitWindowSchema = new Schema<RateLimitWindow>(
  {
    _id: { type: String, required: true },
    count: { type: Number, required: true },
    windowEndsAt: { type: Date, required: true },
  },
  { collection: 'rate_limit_windows', versionKey: false },
);
RateLimitWindowSchema.index({ windowEndsAt: 1 });

export const RateLimitWindowModel = model<RateLimitWindow>('RateLimitWindow', RateLimitWindowSchema);
