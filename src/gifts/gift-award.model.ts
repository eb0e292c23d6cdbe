import { model, Schema } from 'mongoose';
import { factSource, type FactBearing } from '../events/fact-source';

export const GIFT_AWARD_STATUSES = ['granted', 'in_box', 'returned', 'delivered'] as const;
export type GiftAwardStatus = (typeof GIFT_AWARD_STATUSES)[number];

/**
 * A surprise gift for one box: `granted` (picked, the box is not built yet), `in_box` (the box was built
 * with it), `returned` (given back to the campaign: the box was not sent, or was built without it — final),
 * `delivered` (the box arrived). The id is derived from (subscription, cycle), and the unique index on them
 * is the last guard: at most one surprise per box, across campaigns. It records `gift.granted`,
 * `gift.returned` and `gift.delivered` in the write that makes each true (a listener thanks the shopper for
 * a delivered box).
 */
export interface GiftAward extends FactBearing {
  _id: string;
  merchantId: string;
  campaignId: string;
  subscriptionId: string;
  customerId: string;
  cycleKey: string;
  addonId: string;
  /** The add-on's name when granted: what the order line says. */
  description: string;
  sku: string;
  status: GiftAwardStatus;
  orderId?: string;
  /** Why a grant was given back (`order_cancelled`, `out_of_stock`, `not_in_box`, `box_not_built`, ...). */
  returnReason?: string;
  returnedAt?: Date;
  deliveredAt?: Date;
  /** When the job's sweep last looked at it (the sweep takes the least recent first). */
  sweptAt?: Date;
  createdAt: Date;
}

const GiftAwardSchema = new Schema<GiftAward>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    campaignId: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    customerId: { type: String, required: true },
    cycleKey: { type: String, required: true },
    addonId: { type: String, required: true },
    description: { type: String, required: true },
    sku: { type: String, required: true },
    status: { type: String, enum: GIFT_AWARD_STATUSES, required: true },
    orderId: { type: String },
    returnReason: { type: String },
    returnedAt: { type: Date },
    deliveredAt: { type: Date },
    sweptAt: { type: Date },
    createdAt: { type: Date, required: true },
  },
  { collection: 'gift_awards', versionKey: false, minimize: false },
);
GiftAwardSchema.index({ subscriptionId: 1, cycleKey: 1 }, { unique: true });
GiftAwardSchema.index({ merchantId: 1, campaignId: 1, createdAt: -1 });
// The job's sweep: awards whose box may have moved on, least recently looked at first (of every store, or of one).
GiftAwardSchema.index({ status: 1, sweptAt: 1, _id: 1 });
GiftAwardSchema.index({ merchantId: 1, status: 1, sweptAt: 1, _id: 1 });
factSource(GiftAwardSchema, {
  subjectType: 'gift_award',
  linkFields: ['customerId', 'subscriptionId'],
  links: (doc) => ({ merchantId: doc.merchantId as string, customerId: doc.customerId as string, subscriptionId: doc.subscriptionId as string }),
});

export const GiftAwardModel = model<GiftAward>('GiftAward', GiftAwardSchema);
