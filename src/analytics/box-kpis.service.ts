import type { Fact } from '../events/fact.model';
import type { FactType } from '../events/fact-types';
import { factsInOrder } from '../events/fact-replay';
import { merchantProfile } from '../merchants/merchant.queries';
import { daysBetween, localDateOf } from '../shared/calendar';
import { isDuplicateKeyError } from '../shared/db';
import {
  applyUpdate,
  BucketBatch,
  foldFacts,
  REBUILD_BATCH,
  replaceWhole,
  StateBatch,
  type FoldedProjection,
  type RebuildBatch,
} from './rebuild-batch.service';
import { upsertOnce } from './upsert-once';
import { BoxKpiBucketModel, BoxKpiOrderModel, FirstBoxModel, FirstBoxWaitsModel, type BoxKpiFamily, type BoxKpiOrder, type FirstBox } from './box-kpis.model';
import { changesBetween, contribute, MAX_REV_ATTEMPTS, updateAtRev, writePending, type BucketChange, type Contributions } from './pending-buckets';

/**
 * The box-service KPIs (docs/analytics.md, "Box service"), kept from the facts by the `analytics.project-box-kpis`
 * listener and rebuilt by replaying them:
 * - shipping: each `box.shipped`, on time or late against the box's promised `shipOn`, on the local day it shipped;
 * - SKUs: the units each box asked for at its cut-off (`box.reserved`: sent as chosen, substituted, left out;
 *   a box cancelled there for want of stock, `box.cancelled` `out_of_stock`), and units back-ordered at payment;
 * - ratings: each box delivered, and its rating now, on the local day it was delivered;
 * - gifts: each campaign's gifts granted, delivered and given back, with their cost;
 * - the first box: from a subscription's creation to its first box shipped, per subscription, and counted per
 *   month of sign-up and number of days (`FirstBoxWaits`, what the report reads).
 * Every write is a single-document update a replayed fact leaves alone: a bucket is guarded on the fact's id, a
 * box's state on the fact's place in its sequence. Buckets are written first, the box's state last, so a worker
 * that dies in between leaves the fact to its retry, which adds nothing twice. The first box is the other way
 * round (src/analytics/pending-buckets.ts): the subscription's document first, conditional on its `rev` and
 * carrying the changes to the waits, then the waits.
 */

export const BOX_KPI_FACTS = [
  'subscription.created',
  'box.reserved',
  'box.back_ordered',
  'box.cancelled',
  'box.shipped',
  'box.delivered',
  'box.rated',
  'gift.granted',
  'gift.delivered',
  'gift.returned',
] as const satisfies readonly FactType[];

const ORDER_FACTS: readonly string[] = ['box.reserved', 'box.back_ordered', 'box.cancelled', 'box.delivered', 'box.rated'];

interface Change {
  family: BoxKpiFamily;
  key: string;
  currency: string;
  day: string;
  inc: Record<string, number>;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

function add(changes: Change[], where: Omit<Change, 'inc'>, field: string, amount: number): void {
  if (amount === 0) return;
  let change = changes.find((c) => c.family === where.family && c.key === where.key && c.currency === where.currency && c.day === where.day);
  if (!change) {
    change = { ...where, inc: {} };
    changes.push(change);
  }
  change.inc[`n.${field}`] = (change.inc[`n.${field}`] ?? 0) + amount;
}

/** Adds a fact's effect to one bucket, once: the update is guarded on the fact's absence from it. */
async function applyToBucket(merchantId: string, factId: string, change: Change): Promise<void> {
  const _id = `${merchantId}:${change.day}:${change.family}:${change.key}:${change.currency}`;
  await upsertOnce(() =>
    BoxKpiBucketModel.updateOne(
      { _id, factIds: { $ne: factId } },
      {
        $inc: change.inc,
        $push: { factIds: factId },
        $setOnInsert: { merchantId, day: change.day, month: change.day.slice(0, 7), family: change.family, key: change.key, currency: change.currency },
      },
      { upsert: true },
    ),
  );
}

interface DemandLine {
  sku: string;
  quantity: number;
  outcome: 'filled' | 'substituted' | 'outOfStock';
}

/** What a box built at its cut-off asked for, per line with a SKU: sent as chosen, substituted, or left out. */
function demandOfReservedBox(data: Record<string, unknown>): DemandLine[] {
  const lines = Array.isArray(data.lines) ? (data.lines as Array<Record<string, unknown>>) : [];
  const omitted = Array.isArray(data.omitted) ? (data.omitted as Array<Record<string, unknown>>) : [];
  const demand: DemandLine[] = [];
  for (const line of lines) {
    const sku = str(line.chosenSku) ?? str(line.sku);
    const quantity = int(line.quantity);
    if (!sku || !quantity || quantity <= 0) continue;
    demand.push({ sku, quantity, outcome: str(line.chosenSku) ? 'substituted' : 'filled' });
  }
  for (const line of omitted) {
    const sku = str(line.sku);
    const quantity = int(line.quantity);
    if (sku && quantity && quantity > 0) demand.push({ sku, quantity, outcome: 'outOfStock' });
  }
  return demand;
}

/** The changes a box's fact makes, given the box's state before it; and the state after. */
function orderChanges(fact: Fact, day: string, before: BoxKpiOrder | null): { changes: Change[]; after: Partial<BoxKpiOrder> } {
  const changes: Change[] = [];
  const after: Partial<BoxKpiOrder> = {};
  const data = fact.data;
  const sku = (key: string) => ({ family: 'sku' as const, key, currency: '', day });
  switch (fact.type) {
    case 'box.reserved':
      if (before?.demandCounted) break;
      for (const line of demandOfReservedBox(data)) {
        add(changes, sku(line.sku), 'requestedUnits', line.quantity);
        add(changes, sku(line.sku), `${line.outcome}Units`, line.quantity);
      }
      after.demandCounted = true;
      break;
    case 'box.cancelled': {
      // Nothing of the plan could be sent at the cut-off: the box was skipped for want of stock.
      const unitSku = str(data.sku);
      const quantity = int(data.quantity);
      if (data.reason !== 'out_of_stock' || before?.demandCounted || !unitSku || !quantity) break;
      add(changes, sku(unitSku), 'requestedUnits', quantity);
      add(changes, sku(unitSku), 'outOfStockUnits', quantity);
      after.demandCounted = true;
      break;
    }
    case 'box.back_ordered':
      for (const line of Array.isArray(data.short) ? (data.short as Array<Record<string, unknown>>) : []) {
        const unitSku = str(line.sku);
        const quantity = int(line.quantity);
        if (unitSku && quantity) add(changes, sku(unitSku), 'backOrderedUnits', quantity);
      }
      break;
    case 'box.delivered':
      if (before?.deliveredOn) break;
      add(changes, { family: 'rating', key: 'all', currency: '', day }, 'delivered', 1);
      after.deliveredOn = day;
      break;
    case 'box.rated': {
      const score = int(data.score);
      // A box delivered before the projection followed its facts has no day to count its rating on.
      if (!before?.deliveredOn || score === undefined) break;
      const where = { family: 'rating' as const, key: 'all', currency: '', day: before.deliveredOn };
      if (before.score === undefined) add(changes, where, 'rated', 1);
      add(changes, where, 'scoreSum', score - (before.score ?? 0));
      after.score = score;
      break;
    }
    default:
      break;
  }
  return { changes, after };
}

/** A box's state after one of its facts (the changes' `after` on what it was). */
function nextOrder(fact: Fact, before: BoxKpiOrder | undefined, after: Partial<BoxKpiOrder>): BoxKpiOrder {
  return { ...(before ?? { _id: fact.subjectId, merchantId: fact.merchantId, demandCounted: false }), ...after, lastSeq: fact.seq };
}

/** A box fact: the buckets first, then the box's state (guarded on its sequence). */
async function applyOrderFact(fact: Fact, day: string): Promise<void> {
  const before = await BoxKpiOrderModel.findById(fact.subjectId).lean();
  if (before && before.lastSeq >= fact.seq) return;
  const { changes, after } = orderChanges(fact, day, before);
  for (const change of changes) await applyToBucket(fact.merchantId, fact._id, change);
  const { _id, merchantId, ...next } = nextOrder(fact, before ?? undefined, after);
  try {
    await BoxKpiOrderModel.updateOne(
      { _id, lastSeq: { $lt: fact.seq } },
      {
        $set: { ...after, lastSeq: next.lastSeq },
        $setOnInsert: { merchantId, ...(after.demandCounted === undefined ? { demandCounted: next.demandCounted } : {}) },
      },
      { upsert: true },
    );
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // applied meanwhile
  }
}

/** Shipped on or before the promised local date is on time; later is late, by so many days. */
function shippingChanges(fact: Fact, day: string): Change[] {
  const changes: Change[] = [];
  const where = { family: 'shipping' as const, key: 'all', currency: '', day };
  const promised = str(fact.data.shipOn);
  add(changes, where, 'shipped', 1);
  if (!promised) return changes;
  const late = daysBetween(promised, day);
  if (late <= 0) add(changes, where, 'onTime', 1);
  else {
    add(changes, where, 'late', 1);
    add(changes, where, 'daysLateSum', late);
  }
  return changes;
}

function giftChanges(fact: Fact, day: string): Change[] {
  const changes: Change[] = [];
  const campaignId = str(fact.data.campaignId);
  if (!campaignId) return changes;
  const currency = str(fact.data.currency) ?? '';
  const cost = int(fact.data.unitCostMinor) ?? 0;
  const where = { family: 'gift' as const, key: campaignId, currency, day };
  if (fact.type === 'gift.granted') {
    add(changes, where, 'granted', 1);
    add(changes, where, 'grantedCostMinor', cost);
  } else if (fact.type === 'gift.delivered') {
    // Delivered carries no cost: it is counted on the campaign with no currency, and read by campaign.
    add(changes, where, 'delivered', 1);
  } else if (fact.type === 'gift.returned') {
    add(changes, where, 'returned', 1);
    add(changes, where, 'returnedCostMinor', cost);
  }
  return changes;
}

/** The subscription a first-box fact is about. */
function firstBoxSubject(fact: Fact): string | undefined {
  return fact.type === 'subscription.created' ? fact.subjectId : fact.subscriptionId;
}

/** The local days from sign-up to the first box shipped, once both are known. */
function daysToFirstShip(doc: Pick<FirstBox, 'signedUpOn' | 'firstShippedAt'>, timezone: string): number | undefined {
  return doc.signedUpOn && doc.firstShippedAt ? daysBetween(doc.signedUpOn, localDateOf(doc.firstShippedAt, timezone)) : undefined;
}

type WaitKind = 'firstBoxWait';

/**
 * What a subscription adds to the first-box waits of its month of sign-up (src/analytics/box-kpis.model.ts,
 * `FirstBoxWaits`): 1 signed up, and 1 at its number of days once its first box has shipped. Nothing before
 * its sign-up is known (a subscription made before the facts existed is never counted).
 */
function waitsOf(doc: FirstBox | undefined): Contributions<WaitKind> {
  const out: Contributions<WaitKind> = new Map();
  if (!doc?.signedUpMonth) return out;
  const _id = `${doc.merchantId}:${doc.signedUpMonth}`;
  const fields = { merchantId: doc.merchantId, month: doc.signedUpMonth };
  contribute(out, 'firstBoxWait', _id, fields, 'signedUp', 1);
  if (doc.daysToFirstShip !== undefined) contribute(out, 'firstBoxWait', _id, fields, `days.${doc.daysToFirstShip}`, 1);
  return out;
}

const waitsModel = (): typeof FirstBoxWaitsModel => FirstBoxWaitsModel;

/**
 * The rules of the first box, for the listener and the rebuild: the update a sign-up or a shipment makes to its
 * subscription's document (the earliest of each counts, so the facts may come in any order), the document after
 * it, and what that changes in the waits. Undefined when it changes nothing (a replay, a later shipment).
 */
function foldFirstBox(
  fact: Fact,
  subscriptionId: string,
  timezone: string,
  before: FirstBox | undefined,
): { update: Record<string, unknown>; after: FirstBox; changes: Array<BucketChange<WaitKind>> } | undefined {
  const set: Partial<FirstBox> = {};
  if (fact.type === 'subscription.created') {
    if (before?.signedUpAt && before.signedUpAt.getTime() <= fact.at.getTime()) return undefined;
    const day = localDateOf(fact.at, timezone);
    Object.assign(set, { signedUpAt: fact.at, signedUpOn: day, signedUpMonth: day.slice(0, 7) });
  } else {
    if (before?.firstShippedAt && before.firstShippedAt.getTime() <= fact.at.getTime()) return undefined;
    set.firstShippedAt = fact.at;
  }
  const days = daysToFirstShip({ ...before, ...set }, timezone);
  if (days !== undefined) set.daysToFirstShip = days;
  const update = { $set: set, $inc: { rev: 1 }, $setOnInsert: { merchantId: fact.merchantId } };
  // As the database applies it: `pending` by the schema's default when the document is new.
  const after = applyUpdate<FirstBox>(before ?? { _id: subscriptionId, merchantId: fact.merchantId, pending: [] }, update, before === undefined);
  return { update, after, changes: changesBetween(waitsOf(before), waitsOf(after)) };
}

/**
 * The first box: the subscription's document by an update conditional on its `rev`, carrying the changes to
 * the waits in `pending`; then the waits, each guarded on the fact's id, and the changes pulled. A fact that
 * changes nothing (a replay, or the retry of a worker that died before the waits) writes what is pending.
 */
async function applyFirstBox(fact: Fact, timezone: string): Promise<void> {
  const subscriptionId = firstBoxSubject(fact);
  if (!subscriptionId) return;
  for (let attempt = 0; attempt < MAX_REV_ATTEMPTS; attempt += 1) {
    const before = (await FirstBoxModel.findById(subscriptionId).lean()) ?? undefined;
    const folded = foldFirstBox(fact, subscriptionId, timezone, before);
    if (!folded) return writePending(FirstBoxModel, subscriptionId, before?.pending ?? [], waitsModel);
    const entry = folded.changes.length > 0 ? { factId: fact._id, changes: folded.changes } : undefined;
    if (!(await updateAtRev(FirstBoxModel, subscriptionId, before?.rev, entry ? { ...folded.update, $push: { pending: entry } } : folded.update))) continue;
    if (entry) await writePending(FirstBoxModel, subscriptionId, [entry], waitsModel);
    return;
  }
  throw new Error(`analytics: the first box of ${subscriptionId} kept changing while ${fact._id} was applied`);
}

/** Applies one fact to the box-service projections, once (replays and retries change nothing). */
export async function applyFactToBoxKpis(fact: Fact): Promise<void> {
  if (!(BOX_KPI_FACTS as readonly string[]).includes(fact.type)) return;
  const merchant = await merchantProfile(fact.merchantId);
  const timezone = merchant?.timezone ?? 'UTC';
  const day = localDateOf(fact.at, timezone);
  if (fact.type === 'subscription.created') return applyFirstBox(fact, timezone);
  if (fact.type === 'box.shipped') {
    for (const change of shippingChanges(fact, day)) await applyToBucket(fact.merchantId, fact._id, change);
    return applyFirstBox(fact, timezone);
  }
  if (fact.type.startsWith('gift.')) {
    for (const change of giftChanges(fact, day)) await applyToBucket(fact.merchantId, fact._id, change);
    return;
  }
  if (ORDER_FACTS.includes(fact.type)) await applyOrderFact(fact, day);
}

/**
 * Drops a store's box-service projections and replays their facts in order, folded in memory with the
 * listener's rules and written in bulk (src/analytics/rebuild-batch.service.ts; run it with the workers
 * stopped, as `rebuildAnalytics` says); returns how many facts it replayed.
 */
export async function rebuildBoxKpis(merchantId: string, batch: RebuildBatch = REBUILD_BATCH): Promise<number> {
  await Promise.all([
    BoxKpiBucketModel.deleteMany({ merchantId }),
    BoxKpiOrderModel.deleteMany({ merchantId }),
    FirstBoxModel.deleteMany({ merchantId }),
    FirstBoxWaitsModel.deleteMany({ merchantId }),
  ]);
  const timezone = (await merchantProfile(merchantId))?.timezone ?? 'UTC';
  const buckets = new BucketBatch(BoxKpiBucketModel);
  const orders = new StateBatch<BoxKpiOrder>(BoxKpiOrderModel, replaceWhole);
  const firstBoxes = new StateBatch<FirstBox>(FirstBoxModel, replaceWhole);
  const waits = new BucketBatch(FirstBoxWaitsModel);
  const toBucket = (fact: Fact, change: Change): void =>
    buckets.add(
      `${merchantId}:${change.day}:${change.family}:${change.key}:${change.currency}`,
      { merchantId, day: change.day, month: change.day.slice(0, 7), family: change.family, key: change.key, currency: change.currency },
      change.inc,
      fact._id,
    );
  const foldFirstBoxFact = (fact: Fact): void => {
    const subscriptionId = firstBoxSubject(fact);
    if (!subscriptionId) return;
    const folded = foldFirstBox(fact, subscriptionId, timezone, firstBoxes.get(subscriptionId));
    if (!folded) return;
    for (const change of folded.changes) waits.add(change._id, change.fields, Object.fromEntries(change.inc), fact._id);
    firstBoxes.set(folded.after);
  };
  const folded: FoldedProjection = {
    load: async (facts) => {
      await orders.load(facts.filter((f) => ORDER_FACTS.includes(f.type)).map((f) => f.subjectId));
      await firstBoxes.load(facts.filter((f) => f.type === 'subscription.created' || f.type === 'box.shipped').flatMap((f) => firstBoxSubject(f) ?? []));
    },
    apply: (fact) => {
      const day = localDateOf(fact.at, timezone);
      if (fact.type === 'subscription.created') foldFirstBoxFact(fact);
      else if (fact.type === 'box.shipped') {
        for (const change of shippingChanges(fact, day)) toBucket(fact, change);
        foldFirstBoxFact(fact);
      } else if (fact.type.startsWith('gift.')) for (const change of giftChanges(fact, day)) toBucket(fact, change);
      else if (ORDER_FACTS.includes(fact.type)) {
        const before = orders.get(fact.subjectId);
        if (!before || before.lastSeq < fact.seq) {
          const { changes, after } = orderChanges(fact, day, before ?? null);
          for (const change of changes) toBucket(fact, change);
          orders.set(nextOrder(fact, before, after));
        }
      }
      return Promise.resolve();
    },
    flush: () => Promise.all([buckets.flush(), orders.flush(), firstBoxes.flush(), waits.flush()]),
  };
  return foldFacts(factsInOrder(merchantId, BOX_KPI_FACTS, batch.page), batch, [{ facts: BOX_KPI_FACTS, folded }]);
}
