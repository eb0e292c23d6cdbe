import { addonHoldsOfOrder, addonStockPlace } from '../addons/addon.service';
import { skusHolding, variantHoldsOfOrder, variantStock, variantStockPlace } from '../inventory/stock-item.service';
import { attemptHoldId, consumeStock, parseAttemptHold, releaseStock, reserveStock, type StockPlace } from '../inventory/stock';
import type { Plan, PlanVariant } from '../plans/plan.model';
import type { BoxOrder, OmittedLine, OrderLine } from './box-order.model';

/**
 * Where a line's units are counted: the variant's stock item, or the add-on (an extra, a gift, a free item
 * from a perk or a reward). Amounts (discounts, credits, shipping) have none.
 */
function stockPlaceOf(merchantId: string, line: Pick<OrderLine, 'kind' | 'sku' | 'addonId'>): StockPlace | undefined {
  if (line.kind === 'plan' && line.sku) return variantStockPlace(merchantId, line.sku);
  if (line.addonId) return addonStockPlace(merchantId, line.addonId);
  return undefined;
}

/**
 * `cutoff`: the box is built before its charge; what is out of stock is substituted or left out, and a box
 * whose plan line cannot be filled at all does not ship (and is not charged).
 * `paid`: the box is paid already; what is not on hand is marked short, for the merchant to back-order.
 */
export type ReservationMode = 'cutoff' | 'paid';

export interface ReservationResult {
  lines: OrderLine[];
  omittedLines: OmittedLine[];
  /** No variant of the plan line could be reserved (cutoff mode): the box cannot ship. */
  unshippable: boolean;
}

interface Candidate {
  variant: PlanVariant;
  rule?: 'second_choice' | 'merchant_rule';
}

/** The variants that may fill a plan line, in order: theirs, their second choice, the merchant's substitutes. */
function candidatesFor(plan: Plan, variantId: string | undefined, secondChoiceVariantId: string | undefined): Candidate[] {
  const original = plan.variants.find((v) => v._id === variantId);
  if (!original) return [];
  const candidates: Candidate[] = [{ variant: original }];
  const seen = new Set([original._id]);
  const add = (variant: PlanVariant | undefined, rule: Candidate['rule']) => {
    if (!variant || variant.status !== 'active' || seen.has(variant._id)) return;
    seen.add(variant._id);
    candidates.push({ variant, rule });
  };
  add(
    plan.variants.find((v) => v._id === secondChoiceVariantId),
    'second_choice',
  );
  for (const sku of original.substituteSkus ?? [])
    add(
      plan.variants.find((v) => v.sku === sku),
      'merchant_rule',
    );
  return candidates;
}

/**
 * Whether a plan line of this variant could be filled now, as a paid box's would be: by the variant, the
 * shopper's second choice or the merchant's substitutes. A SKU whose stock is not counted always can. A
 * read, not a hold: the box takes its stock when it is built or paid.
 */
export async function canFillPlanLine(
  merchantId: string,
  plan: Plan,
  variantId: string,
  secondChoiceVariantId: string | undefined,
  quantity = 1,
): Promise<boolean> {
  for (const { variant } of candidatesFor(plan, variantId, secondChoiceVariantId)) {
    const stock = await variantStock(merchantId, variant.sku);
    if (!stock?.tracked || stock.onHand >= quantity) return true;
  }
  return false;
}

async function reservePlanLine(
  order: BoxOrder,
  line: OrderLine,
  plan: Plan,
  secondChoiceVariantId: string | undefined,
  mode: ReservationMode,
): Promise<OrderLine | undefined> {
  const holdId = line.holdId!;
  const candidates = candidatesFor(plan, line.variantId, secondChoiceVariantId);
  const fill = (candidate: Candidate, stock: 'reserved' | 'untracked'): OrderLine => {
    if (!candidate.rule) return { ...line, holdId, stock };
    return {
      ...line,
      holdId,
      stock,
      sku: candidate.variant.sku,
      variantId: candidate.variant._id,
      description: `${plan.name}: ${candidate.variant.name}`,
      substitutedFor: { sku: line.sku!, description: line.description, rule: candidate.rule },
    };
  };
  // The hold id is this attempt's own: an earlier attempt's holds are not adopted but given back by the claim
  // that began this one (src/orders/box-assembly.service.ts), whatever SKU they are at.
  for (const candidate of candidates) {
    const outcome = await reserveStock(variantStockPlace(order.merchantId, candidate.variant.sku), holdId, line.quantity);
    if (outcome !== 'short') return fill(candidate, outcome);
  }
  return mode === 'paid' ? { ...line, stock: 'short' } : undefined;
}

/**
 * Reserves stock for every line still `pending`, for one preparation attempt of the box (`attempt`, the number
 * its claim of the order gave it). Each hold is keyed by the order, the line and the attempt
 * (`attemptHoldId`), and a line held records that id: holds of two attempts are told apart, and an attempt
 * takes nothing twice. Returns the lines as they now stand.
 */
export async function reserveOrderLines(
  order: BoxOrder,
  plan: Plan,
  secondChoiceVariantId: string | undefined,
  mode: ReservationMode,
  attempt: number,
): Promise<ReservationResult> {
  const lines: OrderLine[] = [];
  const omittedLines = [...(order.omittedLines ?? [])];
  let unshippable = false;
  for (const pendingLine of order.lines) {
    if (pendingLine.stock !== 'pending' || !pendingLine.holdId) {
      lines.push(pendingLine);
      continue;
    }
    const line = { ...pendingLine, holdId: attemptHoldId(pendingLine.holdId, attempt, pendingLine.quantity) };
    if (line.kind === 'plan') {
      const filled = await reservePlanLine(order, line, plan, secondChoiceVariantId, mode);
      if (filled) lines.push(filled);
      else {
        unshippable = true;
        lines.push({ ...pendingLine, stock: 'short' });
      }
      continue;
    }
    const place = stockPlaceOf(order.merchantId, line)!;
    const outcome = await reserveStock(place, line.holdId, line.quantity);
    if (outcome !== 'short') lines.push({ ...line, stock: outcome });
    else if (mode === 'paid') lines.push({ ...pendingLine, stock: 'short' });
    else omittedLines.push({ description: line.description, sku: line.sku ?? '', quantity: line.quantity, reason: 'out_of_stock' });
  }
  return { lines, omittedLines, unshippable };
}

/**
 * Gives back every hold of an order's lines (the box will not be sent). Safe to repeat. A line still pending
 * holds nothing under its own id when the box was claimed by preparation attempts (`preparationAttempt`): what
 * those held is given back by `releaseStrayHolds`.
 */
export async function releaseOrderStock(order: Pick<BoxOrder, 'merchantId' | 'lines' | 'preparationAttempt'>): Promise<OrderLine[]> {
  const lines: OrderLine[] = [];
  for (const line of order.lines) {
    let place = stockPlaceOf(order.merchantId, line);
    if (line.kind === 'plan' && line.stock === 'pending' && line.holdId && order.preparationAttempt === undefined) {
      // A run that stopped may have held a substitute: the hold is wherever its id is. Two racing runs may have
      // held it at the variant and at a substitute: every one goes back (the first by the release below).
      const [holder, ...others] = await skusHolding(order.merchantId, line.holdId);
      for (const sku of others) await releaseStock(variantStockPlace(order.merchantId, sku), line.holdId, line.quantity);
      if (holder) place = variantStockPlace(order.merchantId, holder);
    }
    if (place && line.holdId && (line.stock === 'reserved' || line.stock === 'pending')) {
      await releaseStock(place, line.holdId, line.quantity);
      lines.push({ ...line, stock: 'released' });
    } else lines.push(line);
  }
  return lines;
}

/** The box shipped: its held units leave the warehouse. Safe to repeat. */
export async function consumeOrderStock(order: Pick<BoxOrder, 'merchantId' | 'lines'>): Promise<OrderLine[]> {
  const lines: OrderLine[] = [];
  for (const line of order.lines) {
    const place = stockPlaceOf(order.merchantId, line);
    if (place && line.holdId && line.stock === 'reserved') {
      await consumeStock(place, line.holdId, line.quantity);
      lines.push({ ...line, stock: 'consumed' });
    } else lines.push(line);
  }
  return lines;
}

/**
 * Gives back the holds of an order placed by its preparation attempts (`attemptHoldId`) that its lines do not
 * record as reserved: those of attempts before `below` (a new attempt's claim: an older attempt, alive or not,
 * can no longer record them), or all of them (the box is cancelled or shipped: any attempt still running loses
 * its write). A hold under a pending line's plain id (taken before attempts were numbered) counts as older than
 * any attempt. Each release pulls its hold id and restores the units only if it pulled one, so it is safe to
 * repeat and to race with the attempt itself. Returns how many holds went back.
 */
export async function releaseStrayHolds(order: Pick<BoxOrder, '_id' | 'merchantId' | 'lines'>, below = Number.POSITIVE_INFINITY): Promise<number> {
  const recorded = new Set(order.lines.filter((line) => line.stock === 'reserved' && line.holdId).map((line) => line.holdId!));
  const pendingQuantity = new Map(order.lines.filter((line) => line.stock === 'pending' && line.holdId).map((line) => [line.holdId!, line.quantity]));
  const stray = (holdId: string): { quantity: number } | undefined => {
    if (recorded.has(holdId)) return undefined;
    const hold = parseAttemptHold(holdId);
    if (hold) return hold.attempt < below ? hold : undefined;
    const quantity = pendingQuantity.get(holdId);
    return quantity === undefined ? undefined : { quantity };
  };
  const [variants, addons] = await Promise.all([variantHoldsOfOrder(order.merchantId, order._id), addonHoldsOfOrder(order.merchantId, order._id)]);
  const places = [
    ...variants.map(({ sku, holds }) => ({ place: variantStockPlace(order.merchantId, sku), holds })),
    ...addons.map(({ addonId, holds }) => ({ place: addonStockPlace(order.merchantId, addonId), holds })),
  ];
  let released = 0;
  for (const { place, holds } of places) {
    for (const holdId of holds) {
      const hold = stray(holdId);
      if (hold && (await releaseStock(place, holdId, hold.quantity))) released += 1;
    }
  }
  return released;
}
