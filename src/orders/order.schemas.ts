import { z } from 'zod';
import { PostalAddressView } from '../customers/customer.schemas';
import { ListQuery, listSchema } from '../shared/pagination';
import { Instant, LocalDate } from '../shared/schemas';
import { LINE_KINDS, LINE_STOCK_STATES, ORDER_STATUSES } from './box-order.model';

const Status = z.enum(ORDER_STATUSES);
const Money = z.strictObject({ amountMinor: z.number().int(), currency: z.string() });

export const OrderParams = z.strictObject({ id: z.string().max(100) });
export const ListOrdersQuery = z.strictObject({
  ...ListQuery,
  status: Status.optional(),
  subscriptionId: z.string().max(100).optional(),
  planId: z.string().max(100).optional(),
  shipOn: LocalDate.optional().describe("The box's ship date (its charge date, in the merchant's zone)"),
});

export const OrderView = z
  .strictObject({
    id: z.string(),
    object: z.literal('order'),
    subscriptionId: z.string(),
    customerId: z.string(),
    planId: z.string(),
    cycleKey: z.string(),
    shipOn: z.string().describe("The local date the box ships (its charge date, in the merchant's zone)"),
    status: Status,
    lines: z.array(
      z.strictObject({
        kind: z.enum(LINE_KINDS).describe('gift, perk, reward, credit and shipping lines come from perks, loyalty, offers and gift campaigns'),
        description: z.string(),
        sku: z.string().nullable(),
        quantity: z.number().int(),
        unitAmountMinor: z.number().int(),
        amountMinor: z.number().int(),
        stock: z.enum(LINE_STOCK_STATES).nullable().describe('Where the units stand; null for discounts'),
        substitutedFor: z
          .strictObject({ sku: z.string(), description: z.string(), rule: z.enum(['second_choice', 'merchant_rule', 'shopper_choice']) })
          .nullable()
          .describe('The variant chosen, when another was sent because it was out of stock at the cut-off'),
        grantedBy: z
          .strictObject({ source: z.enum(['perk', 'gift', 'loyalty', 'offer', 'reward']), id: z.string(), reason: z.string() })
          .nullable()
          .describe('Why the line is in the box: the perk, gift campaign, offer or loyalty credit that granted it'),
      }),
    ),
    omittedLines: z
      .array(z.strictObject({ description: z.string(), sku: z.string(), quantity: z.number().int(), reason: z.enum(['out_of_stock', 'not_billed']) }))
      .describe('Left out of the box: not sent and not charged'),
    amountDue: Money.describe("What the box's lines add up to"),
    amountPaid: Money,
    amountRefunded: Money,
    creditNotes: z.array(
      z.strictObject({
        stripeCreditNoteId: z.string(),
        amountMinor: z.number().int(),
        refundMinor: z.number().int(),
        status: z.enum(['issued', 'void']),
        at: Instant,
      }),
    ),
    stripeInvoiceId: z.string().nullable(),
    shippingAddress: PostalAddressView,
    paidAt: Instant.nullable(),
    shipment: z.strictObject({ carrier: z.string(), trackingNumber: z.string(), trackingUrl: z.string().nullable(), shippedAt: Instant }).nullable(),
    cancellationReason: z.string().nullable(),
    rating: z
      .strictObject({ score: z.number().int().min(1).max(5), comment: z.string().nullable(), ratedAt: Instant })
      .nullable()
      .describe("The shopper's rating once the box was delivered"),
    history: z.array(z.strictObject({ status: Status, at: Instant })),
    createdAt: Instant,
  })
  .meta({ id: 'Order' });
export type OrderView = z.infer<typeof OrderView>;

export const OrderList = listSchema(OrderView, 'OrderList');

export const ShipOrderBody = z
  .strictObject({
    carrier: z.string().trim().min(1).max(60),
    trackingNumber: z.string().trim().min(1).max(100),
    trackingUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(500)
      .optional(),
  })
  .meta({ id: 'ShipOrderRequest' });
export const CancelOrderBody = z.strictObject({ reason: z.string().trim().min(1).max(200) }).meta({ id: 'CancelOrderRequest' });
export const EmptyOrderBody = z.strictObject({}).meta({ id: 'EmptyOrderRequest' });

export const PickListQuery = z.strictObject({
  shipOn: LocalDate.describe('The ship date'),
  format: z.enum(['json', 'csv']).default('json'),
  part: z.enum(['lines', 'totals']).default('lines').describe('For CSV: one row per order line, or the totals per SKU'),
});

export const PickListView = z
  .strictObject({
    object: z.literal('pick_list'),
    shipOn: z.string(),
    orderCount: z.number().int(),
    skus: z.array(z.strictObject({ sku: z.string(), description: z.string(), quantity: z.number().int(), shortQuantity: z.number().int() })),
    orders: z.array(
      z.strictObject({
        orderId: z.string(),
        subscriptionId: z.string(),
        customerId: z.string(),
        status: Status,
        shippingAddress: PostalAddressView,
        lines: z.array(z.strictObject({ sku: z.string(), description: z.string(), quantity: z.number().int(), stock: z.enum(LINE_STOCK_STATES).nullable() })),
      }),
    ),
  })
  .meta({ id: 'PickList' });
export type PickListView = z.infer<typeof PickListView>;

export const RateBoxBody = z
  .strictObject({
    score: z.coerce
      .number({ error: 'Choose from 1 to 5 stars' })
      .int({ error: 'Choose from 1 to 5 stars' })
      .min(1, { error: 'Choose from 1 to 5 stars' })
      .max(5, { error: 'Choose from 1 to 5 stars' }),
    comment: z
      .string()
      .trim()
      .max(1000, { error: 'Keep it under 1000 characters' })
      .optional()
      .transform((value) => (value ? value : undefined)),
  })
  .meta({ id: 'RateBoxRequest' });
export type RateBoxBody = z.infer<typeof RateBoxBody>;
