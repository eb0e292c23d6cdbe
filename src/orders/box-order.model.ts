import { model, Schema } from 'mongoose';
import { factSource, type FactBearing } from '../events/fact-source';
import type { PostalAddress } from '../customers/customer.model';

export const ORDER_STATUSES = ['reserved', 'paid', 'packed', 'shipped', 'delivered', 'held', 'cancelled', 'refunded'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * Where a line's units stand: `pending` (not tried yet), `reserved` (held in stock), `untracked` (the SKU's
 * stock is not counted), `short` (a paid box whose units were not on hand: to back-order), `released`
 * (given back: the box will not be sent), `consumed` (shipped).
 */
export const LINE_STOCK_STATES = ['pending', 'reserved', 'untracked', 'short', 'released', 'consumed'] as const;
export type LineStock = (typeof LINE_STOCK_STATES)[number];

/**
 * `plan` and `addon` are what the shopper chose; `discount` lines are billed as the subscription's coupon;
 * the rest come from the retention engine: `gift` (a surprise, free), `perk` (a subscriber perk: a free item
 * or an amount off), `reward` (a free item earned: birthday, anniversary), `credit` (loyalty credit, an offer
 * or a referral reward: an amount off), `shipping` (the merchant's shipping fee, zero when a perk waives it).
 */
export const LINE_KINDS = ['plan', 'addon', 'discount', 'gift', 'perk', 'reward', 'credit', 'shipping'] as const;
export type LineKind = (typeof LINE_KINDS)[number];

/** Why a line is in the box: the perk, campaign, offer or ledger entry that granted it. */
export interface LineGrant {
  source: 'perk' | 'gift' | 'loyalty' | 'offer' | 'reward';
  /** The perk, gift campaign, offer or reward id. */
  id: string;
  /** In words, for the shopper: "Every 3rd box: a free tin", "5+ boxes: spend 100, save 30". */
  reason: string;
}

export interface OrderLine {
  kind: LineKind;
  /** Stable within the box: `plan`, `addon:<line>`, `gift:<award>`, `perk:<perk>`, `credit:loyalty`... */
  key?: string;
  description: string;
  sku?: string;
  quantity: number;
  unitAmountMinor: number;
  amountMinor: number;
  /** What the line is: the plan variant, or the add-on (and the subscription's add-on line). */
  planId?: string;
  variantId?: string;
  addonId?: string;
  /** `<order id>:<line key>`: the stock hold this line owns (absent for discounts). */
  holdId?: string;
  stock?: LineStock;
  /** The variant the shopper chose, when another was sent instead (out of stock at the cut-off). */
  substitutedFor?: { sku: string; description: string; rule: 'second_choice' | 'merchant_rule' | 'shopper_choice' };
  /** Our price id the line is charged at. */
  priceId?: string;
  /** The pending Stripe invoice item billing this line on the cycle's invoice (add-ons, shipping, amounts off). */
  stripeInvoiceItemId?: string;
  grantedBy?: LineGrant;
}

/**
 * A line not in the box, not sent and not charged: out of stock at the cut-off, or an add-on of a box made
 * only at payment (it was never put on the invoice).
 */
export interface OmittedLine {
  description: string;
  sku: string;
  quantity: number;
  reason: 'out_of_stock' | 'not_billed';
}

/**
 * One box for one cycle of one subscription. Built and reserved at the cycle's cut-off (`reserved`), paid
 * when Stripe reports the invoice paid, or made at payment when nothing was reserved before (the first box).
 * The unique index on (subscription, cycle) is the last guard against a second order, whatever the delivery
 * of events; the sparse unique index on the Stripe invoice is the second.
 */
/** A box records the facts about itself in its own updates (src/events/fact-source.ts). */
export interface BoxOrder extends Partial<FactBearing> {
  _id: string;
  merchantId: string;
  subscriptionId: string;
  customerId: string;
  planId: string;
  cycleKey: string;
  /** The local date the box is due to ship (the cycle's charge date, in the merchant's zone). */
  shipOn: string;
  status: OrderStatus;
  lines: OrderLine[];
  omittedLines: OmittedLine[];
  /** What the box's lines add up to when built (what the invoice should ask). */
  amountDueMinor: number;
  amountPaidMinor: number;
  currency: string;
  stripeInvoiceId?: string;
  /** The invoice whose payment failed while this box waits (dunning). */
  heldForInvoiceId?: string;
  /** The address when the box was built, replaced by the one at payment: later changes do not move a paid box. */
  shippingAddress: PostalAddress;
  paidAt?: Date;
  shipment?: { carrier: string; trackingNumber: string; trackingUrl?: string; shippedAt: Date };
  /** Refunded on the payment so far (Stripe's `amount_refunded`, which only grows). */
  amountRefundedMinor: number;
  /** Credit notes on the invoice, one entry per credit note (voided ones keep their entry, marked). */
  creditNotes: Array<{ stripeCreditNoteId: string; amountMinor: number; refundMinor: number; status: 'issued' | 'void'; at: Date }>;
  cancellationReason?: string;
  /** Set once the payment's effects on the subscription (active again, dunning over) are recorded. */
  paymentApplied?: boolean;
  /** When a worker took on recording the payment's effects (a claim older than 10 minutes can be taken over). */
  paymentClaimedAt?: Date;
  history: Array<{ status: OrderStatus; at: Date }>;
  /** The shopper's rating of the box once delivered: 1 to 5, with an optional comment; rating again replaces it. */
  rating?: { score: number; comment?: string; ratedAt: Date };
  /** Set once a box built at its cut-off has all its lines: the shopper's, reserved, and what the retention engine added. */
  assembledAt?: Date;
  /**
   * The number of the last preparation attempt that claimed the box (one conditional `$inc` each): its holds
   * carry that number (src/inventory/stock.ts, `attemptHoldId`) and only that attempt may record its lines.
   */
  preparationAttempt?: number;
  createdAt: Date;
}

const LineSchema = new Schema<OrderLine>(
  {
    kind: { type: String, enum: LINE_KINDS, required: true },
    key: { type: String },
    description: { type: String, required: true },
    sku: { type: String },
    quantity: { type: Number, required: true },
    unitAmountMinor: { type: Number, required: true, validate: Number.isSafeInteger },
    amountMinor: { type: Number, required: true, validate: Number.isSafeInteger },
    planId: { type: String },
    variantId: { type: String },
    addonId: { type: String },
    holdId: { type: String },
    stock: { type: String, enum: LINE_STOCK_STATES },
    substitutedFor: { type: new Schema({ sku: String, description: String, rule: String }, { _id: false }) },
    priceId: { type: String },
    stripeInvoiceItemId: { type: String },
    grantedBy: { type: new Schema({ source: String, id: String, reason: String }, { _id: false }) },
  },
  { _id: false },
);

const BoxOrderSchema = new Schema<BoxOrder>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    customerId: { type: String, required: true },
    planId: { type: String, required: true },
    cycleKey: { type: String, required: true },
    shipOn: { type: String, required: true, match: /^\d{4}-\d{2}-\d{2}$/ },
    status: { type: String, enum: ORDER_STATUSES, required: true },
    lines: [LineSchema],
    omittedLines: [new Schema<OmittedLine>({ description: String, sku: String, quantity: Number, reason: String }, { _id: false })],
    amountDueMinor: { type: Number, required: true, validate: Number.isSafeInteger },
    amountPaidMinor: { type: Number, required: true, default: 0, validate: Number.isSafeInteger },
    currency: { type: String, required: true, match: /^[A-Z]{3}$/ },
    stripeInvoiceId: { type: String },
    heldForInvoiceId: { type: String },
    shippingAddress: { type: Schema.Types.Mixed, required: true },
    paidAt: { type: Date },
    shipment: {
      type: new Schema(
        {
          carrier: { type: String, required: true },
          trackingNumber: { type: String, required: true },
          trackingUrl: { type: String },
          shippedAt: { type: Date, required: true },
        },
        { _id: false },
      ),
    },
    amountRefundedMinor: { type: Number, required: true, default: 0, validate: Number.isSafeInteger },
    creditNotes: [
      new Schema(
        { stripeCreditNoteId: String, amountMinor: Number, refundMinor: Number, status: { type: String, enum: ['issued', 'void'] }, at: Date },
        { _id: false },
      ),
    ],
    cancellationReason: { type: String },
    paymentApplied: { type: Boolean },
    paymentClaimedAt: { type: Date },
    history: [new Schema({ status: { type: String, enum: ORDER_STATUSES, required: true }, at: { type: Date, required: true } }, { _id: false })],
    assembledAt: { type: Date },
    preparationAttempt: { type: Number },
    rating: {
      type: new Schema(
        { score: { type: Number, required: true, min: 1, max: 5 }, comment: { type: String, maxlength: 1000 }, ratedAt: { type: Date, required: true } },
        { _id: false },
      ),
    },
    createdAt: { type: Date, required: true },
  },
  { collection: 'orders', versionKey: false, minimize: false },
);
BoxOrderSchema.index({ subscriptionId: 1, cycleKey: 1 }, { unique: true });
// Sparse: a box reserved before its payment has no invoice yet (not a partial index: stand-ins read those wrongly).
BoxOrderSchema.index({ stripeInvoiceId: 1 }, { unique: true, sparse: true });
// The merchant's lists, newest first (src/orders/order.service.ts `listOrders`, the fulfilment pages): all, by
// status, by ship date, by plan, by both; without a status they ask for every status (`ORDER_STATUSES`), so
// these read one scan per status, merged in order.
BoxOrderSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });
BoxOrderSchema.index({ merchantId: 1, status: 1, createdAt: -1, _id: -1 });
BoxOrderSchema.index({ merchantId: 1, shipOn: 1, status: 1, createdAt: -1, _id: -1 });
BoxOrderSchema.index({ merchantId: 1, planId: 1, status: 1, createdAt: -1, _id: -1 });
BoxOrderSchema.index({ merchantId: 1, planId: 1, shipOn: 1, status: 1, createdAt: -1, _id: -1 });
// Boxes a person should look at: back-ordered (a line short of stock), cancelled for want of stock.
BoxOrderSchema.index({ merchantId: 1, 'lines.stock': 1, status: 1, createdAt: -1, _id: -1 });
BoxOrderSchema.index({ merchantId: 1, status: 1, cancellationReason: 1, createdAt: -1, _id: -1 });
// Spend over a period (loyalty tiers, analytics): paid boxes by when they were paid; one shopper's boxes.
BoxOrderSchema.index({ merchantId: 1, status: 1, paidAt: 1 });
BoxOrderSchema.index({ merchantId: 1, customerId: 1 });
// The rating request: boxes delivered in a window (the history entry that says so).
BoxOrderSchema.index({ merchantId: 1, status: 1, 'history.status': 1, 'history.at': 1 });
// A held box waits for its invoice (`invoice.voided` finds it); most boxes never wait.
BoxOrderSchema.index({ heldForInvoiceId: 1 }, { sparse: true });
// Boxes picked as affected by a mistake (make-good): a range of ship dates in (shipOn, _id) order, read a page
// at a time, narrowed to a SKU on one of their lines or to a plan.
BoxOrderSchema.index({ merchantId: 1, shipOn: 1, _id: 1 });
BoxOrderSchema.index({ merchantId: 1, 'lines.sku': 1, shipOn: 1, _id: 1 });
BoxOrderSchema.index({ merchantId: 1, planId: 1, shipOn: 1, _id: 1 });
// The renewal job's settlement sweep: orders whose stock does not follow their status yet.
BoxOrderSchema.index({ status: 1, 'lines.stock': 1 });
factSource(BoxOrderSchema, {
  subjectType: 'box',
  linkFields: ['customerId', 'subscriptionId'],
  links: (doc) => ({ merchantId: doc.merchantId as string, customerId: doc.customerId as string, subscriptionId: doc.subscriptionId as string }),
});

export const BoxOrderModel = model<BoxOrder>('BoxOrder', BoxOrderSchema);
