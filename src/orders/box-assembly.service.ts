import { shoppersByIds } from '../customers/customer.queries';
import { fact, initialFacts, recordFacts, type PendingFact } from '../events/fact-source';
import { actors, type Actor } from '../events/fact-types';
import { findPlan } from '../plans/plan.queries';
import type { Cycle } from '../shared/calendar';
import { isDuplicateKeyError } from '../shared/db';
import { derivedId } from '../shared/ids';
import { batchShare, readEveryTime, type RunMemo } from '../shared/run-memo';
import type { Clock } from '../shared/time';
import { boxContentsFor, type BoxLine } from '../subscriptions/box-contents';
import { boxAddressFor } from '../subscriptions/subscription.queries';
import type { Subscription } from '../subscriptions/subscription.model';
import { BoxOrderModel, type BoxOrder, type OmittedLine, type OrderLine, type OrderStatus } from './box-order.model';
import { releaseOrderStock, releaseStrayHolds, reserveOrderLines, type ReservationMode } from './order-stock.service';
import { baseHoldId, parseAttemptHold } from '../inventory/stock';

/**
 * Assembling one cycle's box, in one place, in the order that keeps every promise:
 *   1. the order is made once for (subscription, cycle) with the shopper's own lines (plan variant, add-ons,
 *      their discounts), not reserved yet;
 *   2. those lines are reserved: a variant out of stock becomes the second choice or the merchant's
 *      substitute, an add-on out of stock is left out (and not charged);
 *   3. only then does the retention layer add its lines (shipping, gift, free items, perks, offers, loyalty
 *      credit), from what the box really holds — so an amount off or a credit never outgrows the box — and
 *      its free items are reserved;
 *   4. the box is complete: `box.reserved` (and `box.adjusted` when it differs from what the shopper chose).
 * Every step is idempotent and guarded, so a run that stopped half way is finished by the next.
 */

/** What the retention layer adds to a box built at its cut-off, handed in by the composition root. */
export type BoxExtras = (input: { subscription: Subscription; cycle: Cycle; draft: BoxDraft; memo: RunMemo }) => Promise<BoxLine[]>;

/** The box as the shopper's own lines left it, for the retention layer to add to. */
export interface BoxDraft {
  orderId: string;
  merchantId: string;
  customerId: string;
  subscriptionId: string;
  cycleKey: string;
  shipOn: string;
  currency: string;
  /** The shopper's own lines that are in the box (reserved, substituted or not counted; not those left out). */
  lines: BoxLine[];
}

export interface AssemblyDeps {
  clock: Clock;
  extras?: BoxExtras | undefined;
  actor?: Actor;
  /** The reads that are the same for every box of the run (catalog, programme, perks…), made once (src/shared/run-memo.ts). */
  memo?: RunMemo | undefined;
  /**
   * The subscription's unpaid boxes, as the caller has just read them: a cycle with none there is taken for new,
   * and made without looking for it first (the upsert still finds one made meanwhile, or paid).
   */
  unpaid?: readonly Pick<BoxOrder, 'cycleKey'>[] | undefined;
}

const planOf = (memo: RunMemo, merchantId: string, planId: string) => memo(`plan:${merchantId}:${planId}`, () => findPlan(merchantId, planId));

const BUILD = actors.job('renewals.prepare-boxes');

/** The one id a cycle's box can have: a retry or a second worker finds the same order. */
export function boxOrderId(subscriptionId: string, cycleKey: string): string {
  return derivedId('ord', `${subscriptionId}:${cycleKey}`);
}

function toOrderLines(orderId: string, lines: BoxLine[]): OrderLine[] {
  return lines.map((line) => ({
    ...line,
    amountMinor: line.unitAmountMinor * line.quantity,
    // Lines with units (the plan variant, add-ons, gifts, free items) hold stock; amounts do not.
    ...(line.kind === 'plan' || line.addonId ? { holdId: `${orderId}:${line.key}`, stock: 'pending' as const } : {}),
  }));
}

const total = (lines: Array<Pick<OrderLine, 'amountMinor'>>): number => lines.reduce((sum, line) => sum + line.amountMinor, 0);

/**
 * Inserts the cycle's order with the shopper's own lines, not reserved yet, once: `$setOnInsert` on
 * (subscription, cycle), in one write that answers the order as stored. A box made at payment (nothing was
 * built at the cut-off) leaves out add-ons: they were never put on the invoice, and an unpaid extra is not
 * sent. `facts` are recorded with the insert (a box made paid or held is a fact at once). Returns the order as
 * stored and whether this call made it. `likelyNew` (the caller has seen no box of the cycle): no look for an
 * existing order before working out the contents. `claim` (a box built at its cut-off): the upsert also claims
 * the box for a new preparation attempt (`claimed`, its number in `preparationAttempt`), in the same write.
 */
export async function insertBoxOrder(
  clock: Clock,
  subscription: Subscription,
  cycle: Cycle,
  status: Extract<OrderStatus, 'reserved' | 'paid' | 'held'>,
  fields: Partial<Pick<BoxOrder, 'stripeInvoiceId' | 'amountPaidMinor' | 'paidAt' | 'heldForInvoiceId'>> = {},
  facts: (draft: { orderId: string; currency: string; amountDueMinor: number }) => PendingFact[] = () => [],
  options: { memo?: RunMemo | undefined; likelyNew?: boolean; claim?: boolean } = {},
): Promise<{ order: BoxOrder; inserted: boolean; claimed?: boolean; unnumbered?: boolean }> {
  const { merchantId } = subscription;
  const orderId = boxOrderId(subscription._id, cycle.cycleKey);
  const existingOrder = () => BoxOrderModel.findOne({ subscriptionId: subscription._id, cycleKey: cycle.cycleKey }).lean();
  if (!options.likelyNew) {
    const existing = await existingOrder();
    if (existing) return { order: existing, inserted: false };
  }
  let contents: Awaited<ReturnType<typeof boxContentsFor>>;
  let customer: ReturnType<Awaited<ReturnType<typeof shoppersByIds>>['get']>;
  const memo = options.memo ?? readEveryTime;
  try {
    [contents, customer] = await Promise.all([
      boxContentsFor(subscription, cycle, undefined, memo),
      // The batch's shoppers in one read (no box of the batch changes a shopper).
      batchShare(memo, 'customers', 'customerIds', merchantId, subscription.customerId, (ids) => shoppersByIds(merchantId, ids)),
    ]);
    if (!customer) throw new Error(`customer ${subscription.customerId} of subscription ${subscription._id} is missing`);
  } catch (error) {
    // Taken for new, but made already (paid at payment, say): that order stands as it is, whatever its plan became.
    const existing = options.likelyNew ? await existingOrder() : null;
    if (existing) return { order: existing, inserted: false };
    throw error;
  }
  const builtBeforeCharge = status === 'reserved';
  const lines = toOrderLines(
    orderId,
    contents.lines.filter((line) => builtBeforeCharge || line.kind !== 'addon'),
  );
  const omittedLines: OmittedLine[] = builtBeforeCharge
    ? []
    : contents.lines
        .filter((line) => line.kind === 'addon')
        .map((line) => ({ description: line.description, sku: line.sku ?? '', quantity: line.quantity, reason: 'not_billed' as const }));
  const now = clock.now();
  const amountDueMinor = total(lines);
  const pending = facts({ orderId, currency: contents.currency, amountDueMinor });
  const filter = { subscriptionId: subscription._id, cycleKey: cycle.cycleKey };
  const insert = {
    $setOnInsert: {
      _id: orderId,
      merchantId,
      customerId: subscription.customerId,
      planId: contents.box.planId,
      shipOn: cycle.chargeOn,
      status,
      lines,
      omittedLines,
      amountDueMinor,
      amountPaidMinor: 0,
      amountRefundedMinor: 0,
      creditNotes: [],
      currency: contents.currency,
      // The box's own address when the shopper sent this one elsewhere, else theirs.
      shippingAddress: boxAddressFor(subscription, cycle.cycleKey) ?? customer.shippingAddress,
      history: [{ status, at: now }],
      createdAt: now,
      ...fields,
      // Numbered from the start (the cut-off's upsert claims attempt 1 by its `$inc`): an order without the
      // field was made before attempts were numbered, and its lines may hold under their plain ids.
      ...(options.claim ? {} : { preparationAttempt: 0 }),
      // Without facts, no outbox here (the schema's default fills it): the write then has nothing to relay.
      ...(pending.length > 0 ? initialFacts(...pending) : {}),
    },
  };
  if (pending.length > 0) {
    // A box made with its facts (paid, held): the write that relays them inline, then the order as stored.
    const result = await BoxOrderModel.updateOne(filter, insert, { upsert: true });
    const order = await BoxOrderModel.findOne(filter).lean();
    if (!order) throw new Error(`order of ${subscription._id} ${cycle.cycleKey} vanished`);
    return { order, inserted: result.upsertedCount === 1 };
  }
  // A box built at its cut-off: one write that answers the order as stored (its facts come when it is assembled).
  if (options.claim) {
    // The claim only ever takes a box still to be built (`reserved`): a box paid or held meanwhile makes the
    // upsert meet the unique (subscription, cycle), and is answered as it is, unclaimed (its own reservation,
    // at payment, is an attempt of its own that a claim here would make lose its write).
    try {
      // (With the result's metadata, as below: the facts' relay then leaves this write alone — it records none.)
      const result = await BoxOrderModel.findOneAndUpdate(
        { ...filter, status: 'reserved' },
        { ...insert, $inc: { preparationAttempt: 1 } },
        { upsert: true, returnDocument: 'after', lean: true, includeResultMetadata: true },
      );
      const claimed = result.value as BoxOrder | null;
      if (!claimed) throw new Error(`order of ${subscription._id} ${cycle.cycleKey} vanished`);
      // Attempt 1 is the one that made it — unless the order was made before attempts were numbered (an earlier
      // `createdAt`): its lines may still hold under their plain ids, which this first claim gives back.
      const made = claimed.preparationAttempt === 1 && claimed.createdAt.getTime() === now.getTime();
      return { order: claimed, inserted: made, claimed: true, unnumbered: claimed.preparationAttempt === 1 && !made };
    } catch (error) {
      const existing = isDuplicateKeyError(error) ? await existingOrder() : null;
      if (existing) return { order: existing, inserted: false, claimed: false };
      throw error;
    }
  }
  const result = await BoxOrderModel.findOneAndUpdate(filter, insert, { upsert: true, returnDocument: 'after', lean: true, includeResultMetadata: true });
  const order = result.value as BoxOrder | null;
  if (!order) throw new Error(`order of ${subscription._id} ${cycle.cycleKey} vanished`);
  // The filter found the order when MongoDB says `updatedExisting` (the local stand-in answers no metadata after an insert).
  return { order, inserted: result.lastErrorObject?.updatedExisting !== true };
}

/**
 * A new preparation attempt of the box: one conditional `$inc` of `preparationAttempt` on the order (while
 * `guard` holds), which answers the attempt's number; from then on no older attempt can record the box's
 * lines (their writes are conditional on their own number), so every hold of an older attempt that the
 * order does not record is given back now — a stale attempt still running that holds after this gives its
 * own back when its write is refused. Null when the box moved on (the guard no longer holds).
 */
async function claimPreparation(order: BoxOrder, guard: Record<string, unknown>): Promise<BoxOrder | null> {
  const claimed = await BoxOrderModel.findOneAndUpdate(
    { _id: order._id, status: order.status, ...guard },
    { $inc: { preparationAttempt: 1 } },
    { returnDocument: 'after', lean: true },
  );
  if (claimed) await releaseOlderAttempts(claimed, order.preparationAttempt === undefined);
  return claimed;
}

/**
 * After a claim: the holds of earlier attempts that the order as claimed does not record go back — and,
 * for an order made before attempts were numbered (`unnumbered`), holds under its pending lines' plain ids.
 */
async function releaseOlderAttempts(claimed: BoxOrder, unnumbered = false): Promise<void> {
  if ((claimed.preparationAttempt ?? 0) > 1 || unnumbered) await releaseStrayHolds(claimed, claimed.preparationAttempt);
}

/** An attempt lost the write recording its lines: the holds it placed go back (the order records none of them). */
async function releaseOwnHolds(merchantId: string, lines: OrderLine[], attempt: number): Promise<void> {
  const own = lines.filter((line) => line.stock === 'reserved' && line.holdId && parseAttemptHold(line.holdId)?.attempt === attempt);
  await releaseOrderStock({ merchantId, lines: own });
}

/**
 * Reserves the order's pending lines and records how they stand, as one preparation attempt: `attempt` when
 * the caller has claimed the box already (the cut-off's upsert), else a claim of its own. The write is
 * conditional on the attempt still being the box's and lines still pending, so it never overwrites a later
 * state (a box shipped meanwhile) nor records holds a later attempt has given back. `facts` come with that write.
 */
export async function reserveBox(
  order: BoxOrder,
  subscription: Pick<Subscription, 'secondChoiceVariantId'>,
  mode: ReservationMode,
  facts: (reserved: Pick<BoxOrder, 'lines' | 'omittedLines'>) => PendingFact[] = () => [],
  memo: RunMemo = readEveryTime,
  attempt?: number,
) {
  if (!order.lines.some((line) => line.stock === 'pending')) return { order, unshippable: false };
  let claimed = order;
  if (attempt === undefined) {
    const mine = await claimPreparation(order, { 'lines.stock': 'pending' });
    if (!mine) return { order: (await BoxOrderModel.findById(order._id).lean()) ?? order, unshippable: false };
    claimed = mine;
  }
  const number = attempt ?? claimed.preparationAttempt!;
  const plan = await planOf(memo, order.merchantId, order.planId);
  if (!plan) throw new Error(`plan ${order.planId} of order ${order._id} is missing`);
  const result = await reserveOrderLines(claimed, plan, subscription.secondChoiceVariantId, mode, number);
  const updated = await BoxOrderModel.findOneAndUpdate(
    { _id: order._id, status: order.status, preparationAttempt: number, 'lines.stock': 'pending' },
    recordFacts(
      { $set: { lines: result.lines, omittedLines: result.omittedLines, ...(order.status === 'reserved' ? { amountDueMinor: total(result.lines) } : {}) } },
      ...facts(result),
    ),
    { returnDocument: 'after', lean: true },
  );
  if (updated) return { order: updated, unshippable: result.unshippable };
  // The box moved meanwhile (cancelled, paid, or claimed by a later attempt): the order records none of the
  // holds this attempt took, and they go back.
  await releaseOwnHolds(order.merchantId, result.lines, number);
  const current = await BoxOrderModel.findById(order._id).lean();
  return { order: current ?? order, unshippable: false };
}

/** What the box's lines say differs from what the shopper chose: substitutions and lines left out. */
export function adjustmentsOf(order: Pick<BoxOrder, 'lines' | 'omittedLines'>) {
  return {
    substituted: order.lines
      .filter((line) => line.substitutedFor)
      .map((line) => ({
        chosen: line.substitutedFor!.description,
        chosenSku: line.substitutedFor!.sku,
        sent: line.description,
        sku: line.sku ?? null,
        rule: line.substitutedFor!.rule,
      })),
    omitted: (order.omittedLines ?? [])
      .filter((line) => line.reason === 'out_of_stock')
      .map((line) => ({ description: line.description, sku: line.sku, quantity: line.quantity, reason: line.reason })),
  };
}

/** What `box.reserved` says of the box: its lines as built, and (for the fill-rate analytics) what each line was chosen as and what was left out. */
export function boxSummary(order: Pick<BoxOrder, 'cycleKey' | 'shipOn' | 'lines' | 'currency' | 'omittedLines'>, amountDueMinor: number) {
  return {
    cycleKey: order.cycleKey,
    shipOn: order.shipOn,
    amountDueMinor,
    currency: order.currency,
    lines: order.lines.map((line) => ({
      kind: line.kind,
      description: line.description,
      sku: line.sku ?? null,
      quantity: line.quantity,
      amountMinor: line.amountMinor,
      ...(line.grantedBy ? { grantedBy: line.grantedBy.source } : {}),
      // The SKU the shopper chose, when another was sent instead.
      ...(line.substitutedFor ? { chosenSku: line.substitutedFor.sku } : {}),
    })),
    // Lines out of stock at the cut-off, left out (not sent, not charged).
    omitted: (order.omittedLines ?? [])
      .filter((line) => line.reason === 'out_of_stock')
      .map((line) => ({ description: line.description, sku: line.sku, quantity: line.quantity })),
  };
}

/**
 * Builds the cycle's box at its cut-off (steps 1 to 4 above). `unshippable` when no variant of the plan line
 * can be sent: the caller skips the cycle and cancels the box. A box already assembled is returned as it is.
 */
export async function assembleBoxAtCutoff(deps: AssemblyDeps, subscription: Subscription, cycle: Cycle): Promise<{ order: BoxOrder; unshippable: boolean }> {
  const actor = deps.actor ?? BUILD;
  const memo = deps.memo ?? readEveryTime;
  const likelyNew = deps.unpaid !== undefined && !deps.unpaid.some((box) => box.cycleKey === cycle.cycleKey);
  const made = await insertBoxOrder(deps.clock, subscription, cycle, 'reserved', {}, () => [], { memo, likelyNew, claim: true });
  const settled = (order: BoxOrder) => ({ order, unshippable: order.status === 'cancelled' && order.cancellationReason === 'out_of_stock' });
  if (made.order.status !== 'reserved' || made.order.assembledAt) return settled(made.order);
  // This preparation's attempt: claimed by the upsert that made (or found) the order, or by a claim of its own
  // when the order was found first; older attempts' holds the order does not record go back.
  let inserted = made.order;
  if (made.claimed) await releaseOlderAttempts(inserted, made.unnumbered);
  else {
    const claimed = await claimPreparation(inserted, { assembledAt: { $exists: false } });
    if (!claimed) return settled((await BoxOrderModel.findById(inserted._id).lean()) ?? inserted);
    inserted = claimed;
  }
  const attempt = inserted.preparationAttempt!;
  const { order: reserved, unshippable } = await reserveBox(inserted, subscription, 'cutoff', () => [], memo, attempt);
  // A plan line found short by an earlier run (which stopped before skipping) means the same.
  if (unshippable || reserved.lines.some((line) => line.kind === 'plan' && line.stock === 'short')) return { order: reserved, unshippable: true };
  // Moved on, or claimed by a later attempt (which finishes it): this attempt stops here.
  if (reserved.status !== 'reserved' || reserved.assembledAt || reserved.preparationAttempt !== attempt) return { order: reserved, unshippable: false };

  // Step 3: the retention layer adds to the box as reserved; its free items are reserved in turn.
  const own: BoxLine[] = reserved.lines
    .filter((line) => line.stock !== 'short' && line.stock !== 'released')
    .map((line) => ({ ...line, key: line.key ?? (line.holdId ? baseHoldId(line.holdId).slice(reserved._id.length + 1) : line.kind) }));
  const added = deps.extras
    ? await deps.extras({
        subscription,
        cycle,
        draft: {
          orderId: reserved._id,
          merchantId: reserved.merchantId,
          customerId: reserved.customerId,
          subscriptionId: reserved.subscriptionId,
          cycleKey: reserved.cycleKey,
          shipOn: reserved.shipOn,
          currency: reserved.currency,
          lines: own,
        },
        memo,
      })
    : [];
  const extraLines = toOrderLines(
    reserved._id,
    added.filter((line) => !reserved.lines.some((existing) => existing.key === line.key)),
  );
  const plan = extraLines.some((line) => line.stock === 'pending') ? await planOf(memo, reserved.merchantId, reserved.planId) : undefined;
  const extras = plan
    ? await reserveOrderLines({ ...reserved, lines: extraLines, omittedLines: [] }, plan, subscription.secondChoiceVariantId, 'cutoff', attempt)
    : { lines: extraLines, omittedLines: [] as OmittedLine[], unshippable: false };
  const lines = [...reserved.lines, ...extras.lines];
  const omittedLines = [...(reserved.omittedLines ?? []), ...extras.omittedLines];
  const amountDueMinor = total(lines);
  const now = deps.clock.now();
  const complete = { ...reserved, lines, omittedLines };
  const adjustments = adjustmentsOf(complete);
  const facts = [fact('box.reserved', actor, now, boxSummary(complete, amountDueMinor))];
  if (adjustments.substituted.length > 0 || adjustments.omitted.length > 0)
    facts.push(fact('box.adjusted', actor, now, { cycleKey: reserved.cycleKey, shipOn: reserved.shipOn, ...adjustments }));
  const assembled = await BoxOrderModel.findOneAndUpdate(
    { _id: reserved._id, status: 'reserved', assembledAt: { $exists: false }, preparationAttempt: attempt },
    recordFacts({ $set: { lines, omittedLines, amountDueMinor, assembledAt: now } }, ...facts),
    { returnDocument: 'after', lean: true },
  );
  if (assembled) return { order: assembled, unshippable: false };
  // Claimed by a later attempt, or the box moved on: the holds this attempt took for extras go back.
  await releaseOwnHolds(reserved.merchantId, extras.lines, attempt);
  const current = await BoxOrderModel.findById(reserved._id).lean();
  return { order: current ?? reserved, unshippable: false };
}
