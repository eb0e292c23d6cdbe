import { Schema, type Model } from 'mongoose';
import { MAX_STOCK_UNITS } from '../shared/schemas';

/**
 * Stock of one SKU. `onHand` is what can still be promised; `reserved` is promised to boxes not shipped
 * yet, one hold per box line in `holds`. Every change is one guarded single-document update, so stock never
 * goes below zero and a hold is taken or given back once, whatever the number of workers or repeats.
 */
export interface StockLevel {
  tracked: boolean;
  onHand: number;
  reserved: number;
  /**
   * Hold ids currently reserved here: `<order id>:<line key>`, and for a box line held by a preparation attempt
   * `<order id>:<line key>@<attempt>x<quantity>` (`attemptHoldId`).
   */
  holds: string[];
}

export const StockLevelSchema = new Schema<StockLevel>(
  {
    tracked: { type: Boolean, required: true },
    onHand: { type: Number, required: true, min: 0 },
    reserved: { type: Number, required: true, default: 0, min: 0 },
    holds: { type: [String], default: [] },
  },
  { _id: false },
);

/**
 * The filter that lets an adjustment of `onHand` by `adjustBy` through only when the result stays within
 * 0..MAX_STOCK_UNITS: a removal needs the units on hand, a receipt the room below the maximum. Used in the
 * same single-document update as the `$inc`, so concurrent adjustments can never cross either bound.
 */
export function stockAdjustmentGuard(adjustBy: number): Record<string, unknown> {
  return adjustBy < 0 ? { 'stock.onHand': { $gte: -adjustBy } } : { 'stock.onHand': { $lte: MAX_STOCK_UNITS - adjustBy } };
}

/** Why an adjustment of `adjustBy` cannot apply to `onHand` units, in the merchant's words. */
export function refusedAdjustment(onHand: number, adjustBy: number): string {
  return adjustBy < 0
    ? `Only ${onHand} on hand; cannot remove ${-adjustBy}.`
    : `Stock holds at most ${MAX_STOCK_UNITS} units on hand; with ${onHand} on hand, cannot add ${adjustBy}.`;
}

/** Reserved (or already held), untracked (no limit), or short (not enough on hand). */
export type HoldOutcome = 'reserved' | 'untracked' | 'short';

/** A document with a `stock` field, and the filter that finds the one holding a SKU (scoped by merchant). */
export interface StockPlace {
  /** Plan variants' stock items and add-ons share the `stock` shape. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any model whose documents have a `stock` field
  model: Model<any>;
  filter: Record<string, unknown>;
}

/** Takes `quantity` for `holdId`: once. A repeat finds the hold and answers `reserved` without taking more. */
export async function reserveStock(place: StockPlace, holdId: string, quantity: number): Promise<HoldOutcome> {
  const result = await place.model.updateOne(
    { ...place.filter, 'stock.tracked': true, 'stock.onHand': { $gte: quantity }, 'stock.holds': { $ne: holdId } },
    { $inc: { 'stock.onHand': -quantity, 'stock.reserved': quantity }, $push: { 'stock.holds': holdId } },
  );
  if (result.modifiedCount === 1) return 'reserved';
  const current = (await place.model.findOne(place.filter, { stock: 1 }).lean()) as { stock?: StockLevel } | null;
  if (!current?.stock?.tracked) return 'untracked';
  return current.stock.holds?.includes(holdId) ? 'reserved' : 'short';
}

/** Gives a hold back to `onHand` (the box will not be sent). False when there was no such hold. */
export async function releaseStock(place: StockPlace, holdId: string, quantity: number): Promise<boolean> {
  const result = await place.model.updateOne(
    { ...place.filter, 'stock.holds': holdId },
    { $inc: { 'stock.onHand': quantity, 'stock.reserved': -quantity }, $pull: { 'stock.holds': holdId } },
  );
  return result.modifiedCount === 1;
}

/** The held units left the warehouse (the box shipped): the hold ends without returning to `onHand`. */
export async function consumeStock(place: StockPlace, holdId: string, quantity: number): Promise<boolean> {
  const result = await place.model.updateOne(
    { ...place.filter, 'stock.holds': holdId },
    { $inc: { 'stock.reserved': -quantity }, $pull: { 'stock.holds': holdId } },
  );
  return result.modifiedCount === 1;
}

/**
 * The hold id a preparation attempt of a box places for one line: the line's own id, the attempt's number (one
 * per claim of the box, src/orders/box-assembly.service.ts) and the units held. Two attempts of one box never
 * share a hold id, so a retry tells an older attempt's holds from its own; the units let a hold that no line
 * records (a stale attempt's) be given back exactly.
 */
export function attemptHoldId(lineHoldId: string, attempt: number, quantity: number): string {
  return `${baseHoldId(lineHoldId)}@${attempt}x${quantity}`;
}

const ATTEMPT_HOLD = /^(.+)@(\d+)x(\d+)$/;

/** What an attempt's hold id says: the line's own id, the attempt and the units; undefined for any other hold id. */
export function parseAttemptHold(holdId: string): { base: string; attempt: number; quantity: number } | undefined {
  const match = ATTEMPT_HOLD.exec(holdId);
  return match ? { base: match[1]!, attempt: Number(match[2]), quantity: Number(match[3]) } : undefined;
}

/** A line's own hold id, without the attempt that held it. */
export function baseHoldId(holdId: string): string {
  return parseAttemptHold(holdId)?.base ?? holdId;
}

/** A filter on `stock.holds` that finds every hold of one order (its ids start with `<order id>:`). */
export function holdsOfOrderFilter(orderId: string): Record<string, unknown> {
  return { 'stock.holds': { $regex: `^${orderId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:` } };
}
