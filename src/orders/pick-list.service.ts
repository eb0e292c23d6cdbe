import { BoxOrderModel, type BoxOrder } from './box-order.model';
import { decodeCursor, encodeCursor, type Cursor } from '../shared/pagination';
import type { PickListView } from './order.schemas';

/** Boxes to pick for a ship date: paid or packed, not yet shipped. */
const TO_PICK: BoxOrder['status'][] = ['paid', 'packed'];

const toPick = (merchantId: string, shipOn: string) => ({ merchantId, shipOn, status: { $in: TO_PICK } });

type PickListOrder = PickListView['orders'][number];
type PickListTotal = PickListView['skus'][number];

function pickListOrder(order: BoxOrder): PickListOrder {
  return {
    orderId: order._id,
    subscriptionId: order.subscriptionId,
    customerId: order.customerId,
    status: order.status,
    shippingAddress: order.shippingAddress,
    lines: order.lines
      .filter((line) => line.kind !== 'discount' && line.sku)
      .map((line) => ({ sku: line.sku!, description: line.description, quantity: line.quantity, stock: line.stock ?? null })),
  };
}

/** Units per SKU of a ship date's boxes to pick, counted in the database (the boxes themselves are not read here). */
export async function pickListTotals(merchantId: string, shipOn: string): Promise<{ orderCount: number; skus: PickListTotal[] }> {
  const [orderCount, skus] = await Promise.all([
    BoxOrderModel.countDocuments(toPick(merchantId, shipOn)),
    BoxOrderModel.aggregate<PickListTotal>([
      { $match: toPick(merchantId, shipOn) },
      { $unwind: '$lines' },
      { $match: { 'lines.kind': { $ne: 'discount' }, 'lines.sku': { $type: 'string', $ne: '' } } },
      {
        $group: {
          _id: '$lines.sku',
          description: { $first: '$lines.description' },
          quantity: { $sum: '$lines.quantity' },
          shortQuantity: { $sum: { $cond: [{ $eq: ['$lines.stock', 'short'] }, '$lines.quantity', 0] } },
        },
      },
      { $project: { _id: 0, sku: '$_id', description: 1, quantity: 1, shortQuantity: 1 } },
    ]),
  ]);
  return { orderCount, skus: skus.sort((a, b) => a.sku.localeCompare(b.sku)) };
}

/** After a box of the list (oldest first: `{ createdAt, _id }`), for the next page. */
function afterBox(cursor: Cursor | undefined): Record<string, unknown> {
  if (!cursor) return {};
  return { $or: [{ createdAt: { $gt: cursor.createdAt } }, { createdAt: cursor.createdAt, _id: { $gt: cursor.id } }] };
}

/**
 * A page of a ship date's boxes to pick, oldest first after `after` (a cursor this function gave), in the
 * order of the index `{ merchantId, shipOn, status, createdAt, _id }` (one scan per status, merged).
 */
export async function pickListOrders(
  merchantId: string,
  shipOn: string,
  page: { limit: number; after?: string | undefined },
): Promise<{ orders: PickListOrder[]; nextAfter: string | null }> {
  const orders = await BoxOrderModel.find({ ...toPick(merchantId, shipOn), ...afterBox(decodeCursor(page.after)) })
    .sort({ createdAt: 1, _id: 1 })
    .limit(page.limit + 1)
    .lean();
  const shown = orders.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return { orders: shown.map(pickListOrder), nextAfter: orders.length > page.limit && last ? encodeCursor(last) : null };
}

/** The whole pick list of a ship date (the API and the CSV), in the same order: units per SKU, and each order's lines with where to send it. */
export async function buildPickList(merchantId: string, shipOn: string): Promise<PickListView> {
  const [totals, orders] = await Promise.all([
    pickListTotals(merchantId, shipOn),
    BoxOrderModel.find(toPick(merchantId, shipOn)).sort({ createdAt: 1, _id: 1 }).lean(),
  ]);
  return { object: 'pick_list', shipOn, orderCount: totals.orderCount, skus: totals.skus, orders: orders.map(pickListOrder) };
}

/** A spreadsheet cell: quoted when needed, and never read as a formula (a value starting with = + - @ is prefixed). */
function cell(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csv(rows: Array<Array<string | number>>): string {
  return `${rows.map((row) => row.map(cell).join(',')).join('\r\n')}\r\n`;
}

/** CSV of the SKU totals, or of every order line (one row per line, with the address to ship to). */
export function pickListCsv(pickList: PickListView, part: 'lines' | 'totals'): string {
  if (part === 'totals') {
    return csv([['sku', 'description', 'quantity', 'short_quantity'], ...pickList.skus.map((t) => [t.sku, t.description, t.quantity, t.shortQuantity])]);
  }
  const rows: Array<Array<string | number>> = [
    ['order_id', 'sku', 'description', 'quantity', 'stock', 'line1', 'line2', 'city', 'region', 'postal_code', 'country'],
  ];
  for (const order of pickList.orders) {
    const a = order.shippingAddress;
    for (const line of order.lines) {
      rows.push([
        order.orderId,
        line.sku,
        line.description,
        line.quantity,
        line.stock ?? '',
        a.line1,
        a.line2 ?? '',
        a.city,
        a.region ?? '',
        a.postalCode,
        a.country,
      ]);
    }
  }
  return csv(rows);
}
