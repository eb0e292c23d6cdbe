import { findAddon } from '../addons/addon.queries';
import { fact, recordFacts } from '../events/fact-source';
import type { Actor } from '../events/fact-types';
import { adjustPoints, grantLoyaltyCredit, loyaltyProgramOf } from '../loyalty/loyalty.service';
import { grantFreeAddon } from '../offers/offer.service';
import { affectedBoxesPage, affectedSubscriptions, type AffectedBox, type AffectedBoxFilter } from '../orders/order.queries';
import { findPlan } from '../plans/plan.queries';
import { daysBetween } from '../shared/calendar';
import { isDuplicateKeyError } from '../shared/db';
import { invalidInput, InvalidStateError, NotFoundError } from '../shared/errors';
import { derivedId } from '../shared/ids';
import type { Clock } from '../shared/time';
import { findSubscription } from '../subscriptions/subscription.queries';
import { MakeGoodGrantModel, MakeGoodModel, type MakeGood, type MakeGoodGift, type MakeGoodGrant, type MakeGoodSkipReason } from './make-good.model';

/**
 * Owning a mistake (the merchant's make-good): the boxes a mistake affected are picked by ship dates, a SKU
 * and a plan; each affected subscription gets the make-good — points or credit on the loyalty ledger, or a
 * free extra waiting for its next box, each from the domain that owns it, keyed by the make-good and the
 * subscription — and the apology. Sending is one bulk action that can run again at any time (the same form
 * twice, or after a crash halfway): a grant per (make-good, subscription) is the guarantee that each
 * subscriber gets it once, and each send reports every subscription: given now, given before, or skipped
 * and why. Giving records `make_good.given` (the subscription's timeline); the apology follows that fact
 * through the messages outbox (src/listeners.ts), never from here.
 *
 * It lives with the retention engine because it is one more thing granted to a shopper for their coming
 * boxes, through the same ledgers (loyalty, free items) the box builder takes from.
 */
export interface MakeGoodDeps {
  clock: Clock;
  /** Who sends it: the merchant, through their page session or API key. */
  actor: Actor;
}

/** The most subscriptions one make-good reaches (it is sent in one request): more means narrowing the pick. */
export const MAX_AFFECTED_SUBSCRIPTIONS = 2_000;
/** The longest span of ship dates one make-good covers. */
export const MAX_SPAN_DAYS = 92;
/** Affected box ids kept per subscription (the first ones by ship date). */
const KEPT_ORDER_IDS = 24;

export interface MakeGoodInput {
  selection: AffectedBoxFilter;
  gift: MakeGoodGift;
  apology: { subject: string; body: string };
}

/** Outcome of one subscription in a send. */
export interface MakeGoodRow {
  subscriptionId: string;
  customerId: string;
  outcome: 'given' | 'already_given' | 'skipped';
  reason?: MakeGoodSkipReason;
}

export interface MakeGoodView {
  id: string;
  status: MakeGood['status'];
  selection: AffectedBoxFilter;
  gift: MakeGoodGift & { addonName?: string };
  planName?: string;
  apology: { subject: string; body: string };
  runs: number;
  createdAt: Date;
  lastRunAt?: Date;
  counts?: MakeGood['counts'];
}

const sourceOf = (makeGoodId: string, subscriptionId: string) => `make-good:${makeGoodId}:${subscriptionId}`;

/** The rules a make-good must meet before it is saved: a span of ship dates, a plan and an extra of the store, a ledger for points and credit. */
async function checkMakeGood(merchantId: string, input: MakeGoodInput): Promise<void> {
  const { selection, gift } = input;
  if (selection.toOn < selection.fromOn) throw invalidInput('toOn', 'must be on or after the first ship date');
  if (daysBetween(selection.fromOn, selection.toOn) > MAX_SPAN_DAYS)
    throw invalidInput('toOn', `must be at most ${MAX_SPAN_DAYS} days after the first ship date`);
  if (selection.planId && !(await findPlan(merchantId, selection.planId))) throw invalidInput('planId', 'is not one of your plans');
  if (gift.type === 'free_addon') {
    const addon = await findAddon(merchantId, gift.addonId);
    if (!addon || addon.status !== 'active') throw invalidInput('addonId', 'is not one of your extras on sale');
    return;
  }
  const program = await loyaltyProgramOf(merchantId);
  if (!program) throw invalidInput('kind', 'needs the loyalty programme, which is off: give a free extra instead, or turn the programme on');
  if (gift.type === 'credit' && gift.currency !== program.currency) {
    throw invalidInput('currency', `must be ${program.currency}: credit is kept in the loyalty programme's currency`);
  }
}

/**
 * Saves the make-good as a draft under the id its form carries (`attempt`): sending the same form again
 * replaces the draft, and after it was sent, answers the one already sent (InvalidStateError).
 */
export async function draftMakeGood(deps: MakeGoodDeps, merchantId: string, attempt: string, input: MakeGoodInput): Promise<string> {
  await checkMakeGood(merchantId, input);
  const _id = derivedId('mkg', `${merchantId}:${attempt}`);
  const now = deps.clock.now();
  const selection = {
    fromOn: input.selection.fromOn,
    toOn: input.selection.toOn,
    ...(input.selection.sku ? { sku: input.selection.sku } : {}),
    ...(input.selection.planId ? { planId: input.selection.planId } : {}),
  };
  try {
    await MakeGoodModel.updateOne(
      { _id, merchantId, status: 'draft' },
      {
        $set: { selection, gift: input.gift, apology: input.apology, updatedAt: now },
        $setOnInsert: { runs: 0, createdBy: deps.actor, createdAt: now }, // _id, merchantId and status come from the filter
      },
      { upsert: true },
    );
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    throw new InvalidStateError('This make-good was sent already: it cannot be changed.');
  }
  return _id;
}

async function requireMakeGood(merchantId: string, makeGoodId: string): Promise<MakeGood> {
  const makeGood = await MakeGoodModel.findOne({ _id: makeGoodId, merchantId }).lean();
  if (!makeGood) throw new NotFoundError('No such make-good.');
  return makeGood;
}

export async function getMakeGood(merchantId: string, makeGoodId: string): Promise<MakeGoodView> {
  const makeGood = await requireMakeGood(merchantId, makeGoodId);
  const addonName = makeGood.gift.type === 'free_addon' ? (await findAddon(merchantId, makeGood.gift.addonId))?.name : undefined;
  const planName = makeGood.selection.planId ? (await findPlan(merchantId, makeGood.selection.planId))?.name : undefined;
  return {
    id: makeGood._id,
    status: makeGood.status,
    selection: makeGood.selection,
    gift: { ...makeGood.gift, ...(addonName ? { addonName } : {}) },
    ...(planName ? { planName } : {}),
    apology: makeGood.apology,
    runs: makeGood.runs,
    createdAt: makeGood.createdAt,
    ...(makeGood.lastRunAt ? { lastRunAt: makeGood.lastRunAt } : {}),
    ...(makeGood.counts ? { counts: makeGood.counts } : {}),
  };
}

/**
 * What sending it would reach: how many boxes and subscriptions (`tooMany` when more than one make-good
 * reaches), and one page of the boxes, by ship date.
 */
export async function previewMakeGood(
  merchantId: string,
  makeGoodId: string,
  page: { limit: number; after?: { shipOn: string; id: string } | undefined },
): Promise<{ boxCount: number; subscriptionCount: number; tooMany: boolean; boxes: AffectedBox[]; hasMore: boolean }> {
  const makeGood = await requireMakeGood(merchantId, makeGoodId);
  const [affected, boxes] = await Promise.all([
    affectedSubscriptions(merchantId, makeGood.selection, MAX_AFFECTED_SUBSCRIPTIONS),
    affectedBoxesPage(merchantId, makeGood.selection, page),
  ]);
  return {
    boxCount: affected.boxCount,
    subscriptionCount: affected.subscriptions.length,
    tooMany: affected.subscriptions.length > MAX_AFFECTED_SUBSCRIPTIONS,
    ...boxes,
  };
}

/** Why this subscription cannot have the make-good now, if it cannot. */
async function skipReasonFor(makeGood: MakeGood, row: { subscriptionId: string; currency: string }): Promise<MakeGoodSkipReason | undefined> {
  const subscription = await findSubscription(makeGood.merchantId, row.subscriptionId);
  if (!subscription) return 'subscription_not_found';
  if (subscription.status === 'cancelled') return 'subscription_cancelled';
  const gift = makeGood.gift;
  if (gift.type === 'free_addon') {
    const addon = await findAddon(makeGood.merchantId, gift.addonId);
    return addon && addon.status === 'active' ? undefined : 'extra_unavailable';
  }
  const program = await loyaltyProgramOf(makeGood.merchantId);
  if (!program) return 'no_loyalty_programme';
  if (gift.type === 'credit' && (row.currency !== gift.currency || program.currency !== gift.currency)) return 'currency_mismatch';
  return undefined;
}

/** The make-good as its fact and the apology read it (the extra named). */
async function giftInWords(makeGood: MakeGood): Promise<Record<string, unknown>> {
  const gift = makeGood.gift;
  if (gift.type === 'points') return { type: 'points', points: gift.points };
  if (gift.type === 'credit') return { type: 'credit', creditMinor: gift.amountMinor, currency: gift.currency };
  const addon = await findAddon(makeGood.merchantId, gift.addonId);
  return { type: 'free_addon', addonId: gift.addonId, addonName: addon?.name ?? 'An extra', quantity: gift.quantity };
}

/**
 * One subscription's make-good, in a send (`run`): its grant is made once (unique per make-good and
 * subscription); given already, it is reported so and nothing is written; otherwise the make-good is given
 * through its owner's service under a key of the make-good and subscription (so a crash after that and
 * before the grant is marked gives nothing twice), and the grant is marked given with `make_good.given` in
 * the same update, guarded by `pending`, so the fact — and the apology after it — is recorded once.
 */
export async function giveMakeGoodTo(
  deps: MakeGoodDeps,
  makeGood: MakeGood,
  row: { subscriptionId: string; customerId: string; currency: string; orderIds: string[] },
  run: number,
): Promise<MakeGoodRow> {
  const _id = derivedId('mgg', `${makeGood._id}:${row.subscriptionId}`);
  const now = deps.clock.now();
  const base = { subscriptionId: row.subscriptionId, customerId: row.customerId };
  try {
    await MakeGoodGrantModel.updateOne(
      { _id, merchantId: makeGood.merchantId },
      {
        $setOnInsert: {
          makeGoodId: makeGood._id,
          subscriptionId: row.subscriptionId,
          customerId: row.customerId,
          orderIds: row.orderIds.slice(0, KEPT_ORDER_IDS),
          status: 'pending',
          lastRun: run,
          createdAt: now,
        },
      },
      { upsert: true },
    );
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // made at the same moment by another send
  }
  const grant = (await MakeGoodGrantModel.findOne({ _id, merchantId: makeGood.merchantId }).lean())!;
  if (grant.status === 'given') return { ...base, outcome: 'already_given' };

  const reason = await skipReasonFor(makeGood, row);
  if (reason) {
    await MakeGoodGrantModel.updateOne({ _id, merchantId: makeGood.merchantId, status: 'pending' }, { $set: { lastRun: run, skipReason: reason } });
    return { ...base, outcome: 'skipped', reason };
  }

  const gift = makeGood.gift;
  const source = sourceOf(makeGood._id, row.subscriptionId);
  const why = `Make-good: ${makeGood.apology.subject}`;
  if (gift.type === 'points') {
    await adjustPoints(deps.clock, makeGood.merchantId, row.customerId, { points: gift.points, reason: why }, source, {
      actor: deps.actor,
      subscriptionId: row.subscriptionId,
    });
  } else if (gift.type === 'credit') {
    await grantLoyaltyCredit(deps.clock, makeGood.merchantId, row.customerId, { creditMinor: gift.amountMinor, currency: gift.currency, reason: why }, source, {
      subscriptionId: row.subscriptionId,
    });
  } else {
    await grantFreeAddon(deps.clock, {
      merchantId: makeGood.merchantId,
      customerId: row.customerId,
      subscriptionId: row.subscriptionId,
      source,
      reason: why,
      addonId: gift.addonId,
      quantity: gift.quantity,
      makeGoodId: makeGood._id,
    });
  }

  const given = await MakeGoodGrantModel.updateOne(
    { _id, merchantId: makeGood.merchantId, status: 'pending' },
    recordFacts(
      { $set: { status: 'given', givenInRun: run, givenAt: now, lastRun: run }, $unset: { skipReason: 1 } },
      fact('make_good.given', deps.actor, now, {
        makeGoodId: makeGood._id,
        subject: makeGood.apology.subject,
        body: makeGood.apology.body,
        gift: await giftInWords(makeGood),
        boxes: grant.orderIds.length,
      }),
    ),
  );
  return { ...base, outcome: given.modifiedCount === 1 ? 'given' : 'already_given' };
}

/**
 * Sends the make-good: every affected subscription, each given it once whatever the number of sends, and
 * a row per subscription saying what this send did. Safe to send again (a double submit, a retry after a
 * crash halfway): what was given is reported as given before, and the rest is given now.
 */
export async function sendMakeGood(deps: MakeGoodDeps, merchantId: string, makeGoodId: string): Promise<{ run: number; rows: MakeGoodRow[] }> {
  const current = await requireMakeGood(merchantId, makeGoodId);
  const affected = await affectedSubscriptions(merchantId, current.selection, MAX_AFFECTED_SUBSCRIPTIONS);
  if (affected.subscriptions.length > MAX_AFFECTED_SUBSCRIPTIONS) {
    throw new InvalidStateError(`This reaches more than ${MAX_AFFECTED_SUBSCRIPTIONS} subscriptions: narrow the ship dates, or pick a SKU or a plan.`);
  }
  const started = await MakeGoodModel.findOneAndUpdate(
    { _id: makeGoodId, merchantId },
    { $inc: { runs: 1 }, $set: { status: 'sending', lastRunAt: deps.clock.now() } },
    { returnDocument: 'after', lean: true },
  );
  const makeGood = started!;
  const run = makeGood.runs;
  const rows: MakeGoodRow[] = [];
  for (const row of affected.subscriptions) rows.push(await giveMakeGoodTo(deps, makeGood, row, run));
  const counts = {
    given: rows.filter((r) => r.outcome === 'given').length,
    alreadyGiven: rows.filter((r) => r.outcome === 'already_given').length,
    skipped: rows.filter((r) => r.outcome === 'skipped').length,
  };
  await MakeGoodModel.updateOne({ _id: makeGoodId, merchantId, runs: run }, { $set: { status: 'sent', finishedAt: deps.clock.now(), counts } });
  return { run, rows };
}

/** A subscription in the report: as in a send, or `not_yet` when a send stopped before it came to it. */
export interface MakeGoodReportRow {
  subscriptionId: string;
  customerId: string;
  outcome: MakeGoodRow['outcome'] | 'not_yet';
  reason?: MakeGoodSkipReason;
  givenAt?: Date;
  orderIds: string[];
}

/**
 * The per-subscription report of a make-good as of its latest send, one page at a time (by subscription):
 * given in that send, given in an earlier one, or skipped with the reason.
 */
export async function makeGoodReport(
  merchantId: string,
  makeGoodId: string,
  page: { limit: number; after?: string | undefined },
): Promise<{ run: number; rows: MakeGoodReportRow[]; hasMore: boolean }> {
  const makeGood = await requireMakeGood(merchantId, makeGoodId);
  const grants: MakeGoodGrant[] = await MakeGoodGrantModel.find({
    merchantId,
    makeGoodId,
    ...(page.after ? { subscriptionId: { $gt: page.after } } : {}),
  })
    .sort({ subscriptionId: 1 })
    .limit(page.limit + 1)
    .lean();
  const rows = grants.slice(0, page.limit).map((grant) => ({
    subscriptionId: grant.subscriptionId,
    customerId: grant.customerId,
    orderIds: grant.orderIds,
    ...(grant.status === 'given'
      ? { outcome: grant.givenInRun === makeGood.runs ? ('given' as const) : ('already_given' as const), ...(grant.givenAt ? { givenAt: grant.givenAt } : {}) }
      : grant.skipReason
        ? { outcome: 'skipped' as const, reason: grant.skipReason }
        : { outcome: 'not_yet' as const }),
  }));
  return { run: makeGood.runs, rows, hasMore: grants.length > page.limit };
}
