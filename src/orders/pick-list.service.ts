import { BoxOrderModel, type BoxOrder } from './box-order.model';
import type { PickListView } from './order.schemas';

/** Boxes to pick for a ship date: paid or packed, not yet shipped. */
const TO_PICK: BoxOrder['status'][] = ['paid', 'packed'];

/** The pick list of a ship date: units per SKU, and each order's lines with where to send it. */
export async function buildPickList(merchantId: string, shipOn: string): Promise<PickListView> {
  // Oldest first, in the order of `{ merchantId, shipOn, status, createdAt, _id }` (one scan per status, merged).
  const orders = await BoxOrderModel.find({ merchantId, shipOn, status: { $in: TO_PICK } })
    .sort({ createdAt: 1, _id: 1 })
    .lean();
  const totals = new Map<string, { sku: string; description: string; quantity: number; shortQuantity: number }>();
  for (const order of orders) {
    for (const line of order.lines) {
      if (line.kind === 'discount' || !line.sku) continue;
      const total = totals.get(line.sku) ?? { sku: line.sku, description: line.description, quantity: 0, shortQuantity: 0 };
      total.quantity += line.quantity;
      if (line.stock === 'short') total.shortQuantity += line.quantity;
      totals.set(line.sku, total);
    }
  }
  return {
    object: 'pick_list',
    shipOn,
    orderCount: orders.length,
    skus: [...totals.values()].sort((a, b) => a.sku.localeCompare(b.sku)),
    orders: orders.map((order) => ({
      orderId: order._id,
      subscriptionId: order.subscriptionId,
      customerId: order.customerId,
      status: order.status,
      shippingAddress: order.shippingAddress,
      lines: order.lines
        .filter((line) => line.kind !== 'discount' && line.sku)
        .map((line) => ({ sku: line.sku!, description: line.description, quantity: line.quantity, stock: line.stock ?? null })),
    })),
  };
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
