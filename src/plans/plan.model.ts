import { model, Schema } from 'mongoose';

export type CadenceInterval = 'week' | 'month';

export interface PlanVariant {
  _id: string;
  name: string;
  sku: string;
}

/** One way to receive the box: every `intervalCount` `interval`s, at `priceMinor` minor units of `currency`. */
export interface PlanCadence {
  interval: CadenceInterval;
  intervalCount: number;
  priceMinor: number;
  currency: string;
}

export interface Plan {
  _id: string;
  merchantId: string;
  /** Stable per merchant: the natural key that makes seeding and imports idempotent. */
  slug: string;
  name: string;
  description: string;
  status: 'active' | 'archived';
  variants: PlanVariant[];
  cadences: PlanCadence[];
  createdAt: Date;
  updatedAt: Date;
}

const PlanSchema = new Schema<Plan>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    slug: { type: String, required: true, match: /^[a-z0-9-]{1,64}$/ },
    name: { type: String, required: true, trim: true },
    description: { type: String, default: '' },
    status: { type: String, enum: ['active', 'archived'], required: true, default: 'active' },
    variants: [
      new Schema<PlanVariant>(
        {
          _id: { type: String, required: true },
          name: { type: String, required: true },
          sku: { type: String, required: true },
        },
        { _id: false },
      ),
    ],
    cadences: [
      new Schema<PlanCadence>(
        {
          interval: { type: String, enum: ['week', 'month'], required: true },
          intervalCount: { type: Number, required: true, min: 1, validate: Number.isInteger },
          priceMinor: { type: Number, required: true, min: 0, validate: Number.isSafeInteger },
          currency: { type: String, required: true, match: /^[A-Z]{3}$/ },
        },
        { _id: false },
      ),
    ],
  },
  { collection: 'plans', timestamps: true, versionKey: false },
);
PlanSchema.index({ merchantId: 1, slug: 1 }, { unique: true });
PlanSchema.index({ merchantId: 1, status: 1 });

export const PlanModel = model<Plan>('Plan', PlanSchema);
