import type { z } from 'zod';
import type { Actor } from '../../events/fact-types';
import { boxStatesOf, type BoxState } from '../../orders/order.queries';
import { ShipOrderBody } from '../../orders/order.schemas';
import { moveOrder } from '../../orders/order.service';
import { InvalidStateError, NotFoundError } from '../../shared/errors';
import type { Clock } from '../../shared/time';

/**
 * Bulk fulfilment from the merchant's pages: rows of a pasted CSV (or ticked boxes) applied one by one with the
 * orders service's own conditional moves, and a report of what happened to each row. A box named twice is
 * moved once; a box already moved is reported as such and left alone, so sending the same rows again changes
 * nothing and says so.
 */
export const MAX_BULK_ROWS = 2000;

/** A line of text as CSV cells: commas, double quotes around a cell, `""` for a quote inside one. */
export function csvRecords(text: string): Array<{ line: number; cells: string[] }> {
  const records: Array<{ line: number; cells: string[] }> = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let startLine = 1;
  const endRecord = () => {
    cells.push(cell);
    if (cells.some((value) => value.trim() !== '')) records.push({ line: startLine, cells: cells.map((value) => value.trim()) });
    cells = [];
    cell = '';
  };
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else {
        if (char === '\n') line += 1;
        cell += char;
      }
    } else if (char === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (char === ',') {
      cells.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i += 1;
      endRecord();
      line += 1;
      startLine = line;
    } else cell += char;
  }
  endRecord();
  return records;
}

/** A first row naming the columns (`orderId`, `order_id`, `Order ID`) is a header, not a box. */
function isHeader(cells: string[]): boolean {
  return cells[0]?.toLowerCase().replace(/[^a-z]/g, '') === 'orderid';
}

export type RowOutcome = 'done' | 'already' | 'not_found' | 'not_ready' | 'bad_row' | 'duplicate';

export interface RowReport {
  line: number;
  orderId: string;
  outcome: RowOutcome;
  detail: string;
}

interface BulkRow {
  line: number;
  orderId: string;
  problem?: string;
  shipment?: z.output<typeof ShipOrderBody>;
}

const SHIP_FIELD_WORDS: Record<string, string> = {
  carrier: 'the carrier is missing or longer than 60 characters',
  trackingNumber: 'the tracking number is missing or longer than 100 characters',
  trackingUrl: 'the tracking URL must be an http(s) address of at most 500 characters',
};

/** Rows of `orderId,carrier,trackingNumber[,trackingUrl]`, each checked with the API's own ship schema. */
export function readShipRows(text: string): BulkRow[] {
  const records = csvRecords(text);
  if (records[0] && isHeader(records[0].cells)) records.shift();
  return records.map(({ line, cells }) => {
    const orderId = cells[0] ?? '';
    if (!orderId) return { line, orderId, problem: 'the order id is missing' };
    if (orderId.length > 100) return { line, orderId: `${orderId.slice(0, 40)}…`, problem: 'the order id is longer than 100 characters' };
    if (cells.length < 3) return { line, orderId, problem: 'a row needs the order id, the carrier and the tracking number' };
    if (cells.length > 4) return { line, orderId, problem: 'a row has at most 4 columns: order id, carrier, tracking number, tracking URL' };
    const [, carrier, trackingNumber, trackingUrl] = cells;
    const parsed = ShipOrderBody.safeParse({ carrier, trackingNumber, ...(trackingUrl ? { trackingUrl } : {}) });
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0])))];
      return { line, orderId, problem: fields.map((field) => SHIP_FIELD_WORDS[field] ?? `${field} is not valid`).join('; ') };
    }
    return { line, orderId, shipment: parsed.data };
  });
}

/** Order ids, one a line (the first column of a CSV: a ship file pasted here works too). */
export function readOrderIds(text: string, ticked: string[]): BulkRow[] {
  const records = csvRecords(text);
  if (records[0] && isHeader(records[0].cells)) records.shift();
  const typed = records.map(({ line, cells }): BulkRow => {
    const orderId = cells[0] ?? '';
    if (!orderId) return { line, orderId, problem: 'the order id is missing' };
    if (orderId.length > 100) return { line, orderId: `${orderId.slice(0, 40)}…`, problem: 'the order id is longer than 100 characters' };
    return { line, orderId };
  });
  // Ticked boxes come first; they have no line in the text (0).
  return [...ticked.map((orderId) => ({ line: 0, orderId })), ...typed];
}

type Move = 'packed' | 'shipped' | 'delivered';

/** Statuses a box is in once the move has happened (or gone past it). */
const ALREADY: Record<Move, string[]> = {
  packed: ['packed', 'shipped', 'delivered'],
  shipped: ['shipped', 'delivered'],
  delivered: ['delivered'],
};

const NOT_READY_WORDS: Record<string, string> = {
  reserved: 'this box is not paid yet',
  held: 'this box is held: its payment is failing',
  cancelled: 'this box was cancelled',
  refunded: 'this box was refunded',
  paid: 'this box is not shipped yet',
  packed: 'this box is not shipped yet',
};

const DONE_WORDS: Record<Move, string> = { packed: 'Packed', shipped: 'Shipped', delivered: 'Delivered' };

function trackingOf(box: Pick<BoxState, 'shipment'>): string {
  return box.shipment ? ` (${box.shipment.carrier} ${box.shipment.trackingNumber})` : '';
}

function alreadyWords(box: BoxState): string {
  return `Already ${box.status}${trackingOf(box)}: nothing changed`;
}

async function eachLimited<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next]!;
      next += 1;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Applies a move to every row: a bad row is reported with its reason, a box named again is reported as a
 * duplicate of the row that moved it, another store's box is "not found" exactly like a missing one.
 */
export async function applyBulkMove(deps: { clock: Clock; actor: Actor }, merchantId: string, to: Move, rows: BulkRow[]): Promise<RowReport[]> {
  const reports: RowReport[] = rows.map((row) => ({ line: row.line, orderId: row.orderId, outcome: 'bad_row', detail: row.problem ?? '' }));
  const firstRow = new Map<string, number>();
  const toApply: number[] = [];
  rows.forEach((row, index) => {
    if (row.problem) return;
    const first = firstRow.get(row.orderId);
    if (first !== undefined) {
      const firstLine = rows[first]!.line;
      reports[index] = {
        ...reports[index]!,
        outcome: 'duplicate',
        detail: firstLine ? `The same box as line ${firstLine}: applied once` : 'The same box as one ticked: applied once',
      };
      return;
    }
    firstRow.set(row.orderId, index);
    toApply.push(index);
  });
  const boxes = new Map(
    (
      await boxStatesOf(
        merchantId,
        toApply.map((index) => rows[index]!.orderId),
      )
    ).map((box) => [box._id, box]),
  );
  const report = (index: number, outcome: RowOutcome, detail: string) => {
    reports[index] = { ...reports[index]!, outcome, detail };
  };
  const judge = (index: number, box: BoxState | undefined) => {
    if (!box) return report(index, 'not_found', 'No box of your store has this id');
    if (ALREADY[to].includes(box.status)) return report(index, 'already', alreadyWords(box));
    return report(index, 'not_ready', `Not ${to}: ${NOT_READY_WORDS[box.status] ?? `it is ${box.status}`}`);
  };
  await eachLimited(toApply, 8, async (index) => {
    const row = rows[index]!;
    const box = boxes.get(row.orderId);
    if (!box || ALREADY[to].includes(box.status)) return judge(index, box);
    const shipment = row.shipment;
    try {
      const moved = await moveOrder(
        deps,
        merchantId,
        row.orderId,
        to,
        to === 'shipped' && shipment
          ? {
              shipment: {
                carrier: shipment.carrier,
                trackingNumber: shipment.trackingNumber,
                ...(shipment.trackingUrl ? { trackingUrl: shipment.trackingUrl } : {}),
                shippedAt: deps.clock.now(),
              },
            }
          : {},
      );
      const tracking = moved.shipment && to === 'shipped' ? ` (${moved.shipment.carrier} ${moved.shipment.trackingNumber})` : '';
      report(index, 'done', `${DONE_WORDS[to]}${tracking}`);
    } catch (error) {
      if (!(error instanceof InvalidStateError || error instanceof NotFoundError)) throw error;
      // Moved meanwhile (another tab, the API): say where it stands now.
      judge(index, (await boxStatesOf(merchantId, [row.orderId]))[0]);
    }
  });
  return reports;
}

/** How many rows ended each way. */
export function tally(reports: RowReport[]): Record<RowOutcome, number> {
  const counts: Record<RowOutcome, number> = { done: 0, already: 0, not_found: 0, not_ready: 0, bad_row: 0, duplicate: 0 };
  for (const row of reports) counts[row.outcome] += 1;
  return counts;
}
