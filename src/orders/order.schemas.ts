import { z } from 'zod';
import { PostalAddressInput } from '../customers/customer.schemas';
import { ListQuery, listSchema } from '../shared/pagination';
import { Instant } from '../shared/schemas';

const Status = z.enum(['paid', 'packed', 'shipped', 'delivered', 'held', 'cancelled', 'refunded']);

export const OrderParams = z.strictObject({ id: z.string().max(100) });
export const ListOrdersQuery = z.strictObject({ ...ListQuery, status: Status.optional(), subscriptionId: z.string().max(100).optional() });

export const OrderView = z
  .strictObject({
    id: z.string(),
    object: z.literal('order'),
    subscriptionId: z.string(),
    customerId: z.string(),
    cycleKey: z.string(),
    status: Status,
    lines: z.array(
      z.strictObject({
        kind: z.enum(['plan', 'addon', 'discount']),
        description: z.string(),
        sku: z.string().nullable(),
        quantity: z.number().int(),
        unitAmountMinor: z.number().int(),
        amountMinor: z.number().int(),
      }),
    ),
    amountPaid: z.strictObject({ amountMinor: z.number().int(), currency: z.string() }),
    stripeInvoiceId: z.string(),
    shippingAddress: PostalAddressInput,
    paidAt: Instant,
    shipment: z.strictObject({ carrier: z.string(), trackingNumber: z.string(), trackingUrl: z.string().nullable(), shippedAt: Instant }).nullable(),
    cancellationReason: z.string().nullable(),
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
    trackingUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(500).optional(),
  })
  .meta({ id: 'ShipOrderRequest' });
export const CancelOrderBody = z.strictObject({ reason: z.string().trim().min(1).max(200) }).meta({ id: 'CancelOrderRequest' });
export const EmptyOrderBody = z.strictObject({}).meta({ id: 'EmptyOrderRequest' });
