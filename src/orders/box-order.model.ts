import { model, Schema } from 'mongoose';
import type { PostalAddress } from '../customers/customer.model';

export type OrderStatus = 'paid' | 'packed' | 'shipped' | 'delivered' | 'held' | 'cancelled' | 'refunded';

export interface OrderLine {
  kind: 'plan' | 'addon' | 'discount';
  description: string;
  sku?: string;
  quantity: number;
  unitAmountMinor: number;
  amountMinor: number;
}

/**
 * One box for one paid cycle of one subscription. The unique indexes on (subscription, cycle) and on the
 * Stripe invoice are the last guard against a second order, whatever the delivery of events.
 */
export interface BoxOrder {
  _id: string;
  merchantId: string;
  subscriptionId: string;
  customerId: string;
  cycleKey: string;
  status: OrderStatus;
  lines: OrderLine[];
  amountPaidMinor: number;
  currency: string;
  stripeInvoiceId: string;
  /** The address at the moment of payment: later changes to the customer do not move a paid box. */
  shippingAddress: PostalAddress;
  paidAt: Date;
  shipment?: { carrier: string; trackingNumber: string; trackingUrl?: string; shippedAt: Date };
  cancellationReason?: string;
  history: Array<{ status: OrderStatus; at: Date }>;
  createdAt: Date;
}

const BoxOrderSchema = new Schema<BoxOrder>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    customerId: { type: String, required: true },
    cycleKey: { type: String, required: true },
    status: { type: String, enum: ['paid', 'packed', 'shipped', 'delivered', 'held', 'cancelled', 'refunded'], required: true },
    lines: [
      new Schema<OrderLine>(
        {
          kind: { type: String, enum: ['plan', 'addon', 'discount'], required: true },
          description: { type: String, required: true },
          sku: { type: String },
          quantity: { type: Number, required: true },
          unitAmountMinor: { type: Number, required: true, validate: Number.isSafeInteger },
          amountMinor: { type: Number, required: true, validate: Number.isSafeInteger },
        },
        { _id: false },
      ),
    ],
    amountPaidMinor: { type: Number, required: true, validate: Number.isSafeInteger },
    currency: { type: String, required: true, match: /^[A-Z]{3}$/ },
    stripeInvoiceId: { type: String, required: true },
    shippingAddress: { type: Schema.Types.Mixed, required: true },
    paidAt: { type: Date, required: true },
    shipment: {
      type: new Schema(
        { carrier: { type: String, required: true }, trackingNumber: { type: String, required: true }, trackingUrl: { type: String }, shippedAt: { type: Date, required: true } },
        { _id: false },
      ),
    },
    cancellationReason: { type: String },
    history: [
      new Schema(
        {
          status: { type: String, enum: ['paid', 'packed', 'shipped', 'delivered', 'held', 'cancelled', 'refunded'], required: true },
          at: { type: Date, required: true },
        },
        { _id: false },
      ),
    ],
    createdAt: { type: Date, required: true },
  },
  { collection: 'orders', versionKey: false, minimize: false },
);
BoxOrderSchema.index({ subscriptionId: 1, cycleKey: 1 }, { unique: true });
BoxOrderSchema.index({ stripeInvoiceId: 1 }, { unique: true });
BoxOrderSchema.index({ merchantId: 1, createdAt: -1 });
BoxOrderSchema.index({ merchantId: 1, status: 1, createdAt: -1 });

export const BoxOrderModel = model<BoxOrder>('BoxOrder', BoxOrderSchema);
