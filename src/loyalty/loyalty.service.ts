import { customerExists } from '../customers/customer.queries';
import { fact, recordFacts } from '../events/fact-source';
import { actors, type Actor } from '../events/fact-types';
import { merchantProfile } from '../merchants/merchant.queries';
import type { BoxOrder } from '../orders/box-order.model';
import { invalidInput, InvalidStateError, NotFoundError } from '../shared/errors';
import { newId } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { formatMoney, minorDigits } from '../shared/money';
import { decodeCursor, listPage } from '../shared/pagination';
import { readEveryTime, type RunMemo } from '../shared/run-memo';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { subscribedCustomerIds } from '../subscriptions/subscription.queries';
import { ledgerHead, postLedgerEntry } from './loyalty-ledger.service';
import { loyaltyAccountId, twelveMonthStanding } from './loyalty-standing.service';
import { LoyaltyAccountModel, LoyaltyEntryModel, LoyaltyProgramModel, type LoyaltyAccount, type LoyaltyEntry, type LoyaltyProgram } from './loyalty.model';
import type { LoyaltyAccountView, LoyaltyEntryView, LoyaltyProgramBody, LoyaltyProgramView } from './loyalty.schemas';

export interface LoyaltyDeps {
  clock: Clock;
  logger: Logger;
}

// ---------------------------------------------------------------------------------------------------------
// The programme
// ---------------------------------------------------------------------------------------------------------

export async function loyaltyProgramOf(merchantId: string): Promise<LoyaltyProgram | undefined> {
  const program = await LoyaltyProgramModel.findOne({ _id: merchantId, merchantId }).lean();
  return program?.enabled ? program : undefined;
}

function toProgramView(program: LoyaltyProgram): LoyaltyProgramView {
  return {
    object: 'loyalty_program',
    enabled: program.enabled,
    currency: program.currency,
    pointsPerUnit: program.pointsPerUnit,
    redemption: { points: program.redemption.points, creditMinor: program.redemption.creditMinor },
    autoApply: program.autoApply,
    expiry: program.expiry ? { afterMonths: program.expiry.afterMonths, noticeDays: program.expiry.noticeDays } : null,
    tierBasis: program.tierBasis,
    tiers: program.tiers.map((tier) => ({ key: tier.key, name: tier.name, threshold: tier.threshold, earnMultiplierPercent: tier.earnMultiplierPercent })),
    updatedAt: iso(program.updatedAt),
  };
}

export async function getLoyaltyProgram(merchantId: string): Promise<LoyaltyProgramView> {
  const program = await LoyaltyProgramModel.findOne({ _id: merchantId, merchantId }).lean();
  if (!program) throw new NotFoundError('No loyalty programme is set up yet.');
  return toProgramView(program);
}

/** Creates or replaces the merchant's programme. Credit is kept in the merchant's default currency. */
export async function putLoyaltyProgram(clock: Clock, merchantId: string, input: LoyaltyProgramBody): Promise<LoyaltyProgramView> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  const keys = input.tiers.map((tier) => tier.key);
  if (new Set(keys).size !== keys.length) throw invalidInput('tiers', 'tier keys must be unique');
  const thresholds = input.tiers.map((tier) => tier.threshold);
  if (thresholds.some((threshold, index) => index > 0 && threshold <= thresholds[index - 1]!)) {
    throw invalidInput('tiers', 'must be listed lowest first, with rising thresholds');
  }
  const now = clock.now();
  const program = await LoyaltyProgramModel.findOneAndUpdate(
    { _id: merchantId, merchantId },
    {
      $set: {
        enabled: input.enabled,
        currency: merchant.defaultCurrency,
        pointsPerUnit: input.pointsPerUnit,
        redemption: input.redemption,
        autoApply: input.autoApply,
        tierBasis: input.tierBasis,
        tiers: input.tiers,
        updatedAt: now,
        ...(input.expiry ? { expiry: input.expiry } : {}),
      },
      ...(input.expiry ? {} : { $unset: { expiry: 1 } }),
      $setOnInsert: { createdAt: now },
    },
    { upsert: true, returnDocument: 'after', lean: true },
  );
  return toProgramView(program!);
}

// ---------------------------------------------------------------------------------------------------------
// Earning
// ---------------------------------------------------------------------------------------------------------

function addMonths(at: Date, months: number): Date {
  const date = new Date(at.getTime());
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const last = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, last));
  return date;
}

/** When points earned now expire under the programme (never, without expiry). */
export function pointsExpiryFor(program: LoyaltyProgram, earnedAt: Date): Date | undefined {
  return program.expiry ? addMonths(earnedAt, program.expiry.afterMonths) : undefined;
}

/** Points for an amount paid: the programme's rate per whole currency unit, times the tier's multiplier, rounded down. */
export function pointsForAmount(program: LoyaltyProgram, amountMinor: number, multiplierPercent: number): number {
  if (amountMinor <= 0) return 0;
  const unit = 10 ** minorDigits(program.currency);
  return Math.floor((amountMinor * program.pointsPerUnit * multiplierPercent) / (unit * 100));
}

/**
 * The tier an account held when something happened at `at`: the last change before it (the tier as stored,
 * for an account without history). A change at the same instant came after it: an evaluation at the
 * moment of a payment already counts that payment.
 */
export function tierHeldAt(account: Pick<LoyaltyAccount, 'tierKey' | 'tierHistory'>, at: Date): string | undefined {
  if (account.tierHistory.length === 0) return account.tierKey;
  const change = account.tierHistory.filter((c) => c.at.getTime() < at.getTime()).at(-1);
  return change?.to ?? undefined;
}

async function multiplierFor(program: LoyaltyProgram, merchantId: string, customerId: string, at: Date): Promise<{ percent: number; tierName?: string }> {
  const account = await LoyaltyAccountModel.findOne({ _id: loyaltyAccountId(merchantId, customerId), merchantId }, { tierKey: 1, tierHistory: 1 }).lean();
  const tierKey = account ? tierHeldAt(account, at) : undefined;
  const tier = program.tiers.find((t) => t.key === tierKey);
  return tier ? { percent: tier.earnMultiplierPercent, tierName: tier.name } : { percent: 100 };
}

/**
 * Points for a paid box, once per invoice (`invoice:<id>`): a replayed or reordered `invoice.paid`, or the
 * `box.paid` fact followed again, finds the entry and adds nothing. Earned at the tier held when the payment
 * was recorded (`paidRecordedAt`, the time of the fact; now, when not given), however late this runs.
 */
export async function earnPointsForPaidBox(deps: LoyaltyDeps, order: BoxOrder, paidRecordedAt?: Date): Promise<LoyaltyEntry | undefined> {
  const program = await loyaltyProgramOf(order.merchantId);
  if (!program || !order.stripeInvoiceId || order.currency !== program.currency) return undefined;
  const multiplier = await multiplierFor(program, order.merchantId, order.customerId, paidRecordedAt ?? deps.clock.now());
  const points = pointsForAmount(program, order.amountPaidMinor, multiplier.percent);
  if (points <= 0) return undefined;
  const earnedAt = order.paidAt ?? deps.clock.now();
  const expiresAt = pointsExpiryFor(program, earnedAt);
  return postLedgerEntry(deps.clock, {
    merchantId: order.merchantId,
    customerId: order.customerId,
    source: `invoice:${order.stripeInvoiceId}`,
    kind: 'earn',
    points,
    currency: program.currency,
    description: `Box of ${order.shipOn}${multiplier.tierName ? ` (${multiplier.tierName}: ×${multiplier.percent / 100})` : ''}`,
    subscriptionId: order.subscriptionId,
    orderId: order._id,
    ...(expiresAt ? { expiresAt } : {}),
  });
}

/**
 * Points the merchant grants for an action of their choosing (a review, a survey) or takes back. The entry
 * records `loyalty.points_adjusted` (who did it, the points, the reason) in its insert; a retry with the same
 * key finds the entry and records nothing again.
 */
export async function adjustPoints(
  clock: Clock,
  merchantId: string,
  customerId: string,
  input: { points: number; reason: string },
  idempotencyKey: string | undefined,
  options: { actor?: Actor; subscriptionId?: string } = {},
): Promise<LoyaltyEntryView> {
  await requireCustomer(merchantId, customerId);
  const program = await requireProgram(merchantId);
  const expiresAt = input.points > 0 ? pointsExpiryFor(program, clock.now()) : undefined;
  const entry = await postLedgerEntry(clock, {
    merchantId,
    customerId,
    source: `adjust:${customerId}:${idempotencyKey ?? newId('adj')}`,
    kind: 'adjust',
    points: input.points,
    currency: program.currency,
    description: input.reason,
    ...(expiresAt ? { expiresAt } : {}),
    ...(options.subscriptionId ? { subscriptionId: options.subscriptionId } : {}),
    facts: [fact('loyalty.points_adjusted', options.actor ?? actors.system(), clock.now(), { points: input.points, reason: input.reason })],
  });
  return toEntryView(entry!);
}

/**
 * Credit the merchant gives a shopper for their coming boxes (a make-good for a mistake), in the programme's
 * currency: taken at the next cut-off up to the box's total, the rest carried over, like redeemed credit.
 * Once per source (the caller's key, e.g. `make-good:<action>:<subscription>`): a retry finds the entry.
 */
export async function grantLoyaltyCredit(
  clock: Clock,
  merchantId: string,
  customerId: string,
  input: { creditMinor: number; currency: string; reason: string },
  source: string,
  options: { subscriptionId?: string } = {},
): Promise<LoyaltyEntryView> {
  await requireCustomer(merchantId, customerId);
  const program = await requireProgram(merchantId);
  if (input.currency !== program.currency) throw invalidInput('currency', `must be ${program.currency}, the loyalty programme's currency`);
  if (!Number.isSafeInteger(input.creditMinor) || input.creditMinor <= 0) throw invalidInput('creditMinor', 'must be a positive amount');
  const entry = await postLedgerEntry(clock, {
    merchantId,
    customerId,
    source,
    kind: 'adjust',
    creditMinor: input.creditMinor,
    currency: program.currency,
    description: input.reason,
    ...(options.subscriptionId ? { subscriptionId: options.subscriptionId } : {}),
  });
  return toEntryView(entry!);
}

// ---------------------------------------------------------------------------------------------------------
// Redeeming and applying credit
// ---------------------------------------------------------------------------------------------------------

async function requireProgram(merchantId: string): Promise<LoyaltyProgram> {
  const program = await loyaltyProgramOf(merchantId);
  if (!program) throw new InvalidStateError('The loyalty programme is not enabled.');
  return program;
}

async function requireCustomer(merchantId: string, customerId: string): Promise<void> {
  if (!(await customerExists(merchantId, customerId))) throw new NotFoundError('No such customer.');
}

/**
 * Turns points into credit for the coming boxes, in whole blocks of the programme's rate. The credit is
 * applied at each cut-off, up to the box's total; what is left carries over to the next box. The entry records
 * `loyalty.points_redeemed` (who asked: the shopper or the merchant) in its insert; a retry with the same key
 * finds the entry and records nothing again. From a subscription's page, the entry (and its fact) names that
 * subscription, so the redemption shows on its timeline.
 */
export async function redeemPoints(
  clock: Clock,
  merchantId: string,
  customerId: string,
  points: number,
  idempotencyKey: string | undefined,
  options: { actor?: Actor; subscriptionId?: string } = {},
): Promise<LoyaltyEntryView> {
  await requireCustomer(merchantId, customerId);
  const program = await requireProgram(merchantId);
  if (points % program.redemption.points !== 0) {
    throw invalidInput('points', `must be a multiple of ${program.redemption.points}`);
  }
  const creditMinor = (points / program.redemption.points) * program.redemption.creditMinor;
  const entry = await postLedgerEntry(clock, {
    merchantId,
    customerId,
    source: `redeem:${customerId}:${idempotencyKey ?? newId('rdm')}`,
    kind: 'redeem',
    points: -points,
    creditMinor,
    currency: program.currency,
    description: `${points} points redeemed`,
    ...(options.subscriptionId ? { subscriptionId: options.subscriptionId } : {}),
    facts: [fact('loyalty.points_redeemed', options.actor ?? actors.system(), clock.now(), { points, creditMinor, currency: program.currency })],
  });
  return toEntryView(entry!);
}

/**
 * The loyalty credit a box built at its cut-off takes: with auto-apply, first the points blocks needed to
 * cover the box are redeemed; then the credit is taken up to `payableMinor`. Each step is a ledger entry
 * keyed by the order, so building the box again takes nothing twice; the amount is what the ledger took.
 */
export async function takeLoyaltyCredit(
  clock: Clock,
  order: Pick<BoxOrder, '_id' | 'merchantId' | 'customerId' | 'subscriptionId' | 'currency' | 'shipOn'>,
  payableMinor: number,
  /** The run's reads (src/shared/run-memo.ts): the programme, once per run. */
  memo: RunMemo = readEveryTime,
): Promise<number> {
  const { merchantId } = order;
  const program = await memo(`loyalty-program:${merchantId}`, () => loyaltyProgramOf(merchantId));
  if (!program || order.currency !== program.currency) return 0;
  // A shopper with no ledger yet has nothing to take, and this box took nothing before.
  const head = await ledgerHead(order.merchantId, order.customerId);
  if (!head) return 0;
  const taken = await LoyaltyEntryModel.findOne({ merchantId: order.merchantId, source: `apply:${order._id}` }).lean();
  if (taken) return -taken.creditMinor;
  if (payableMinor <= 0) return 0;
  const credit = head.balanceCreditMinor;
  const redeemable = program.autoApply && head.balancePoints >= program.redemption.points;
  // No credit and no points to turn into it: nothing to take (the entry would be clamped to nothing and skipped).
  if (credit <= 0 && !redeemable) return 0;
  if (redeemable && credit < payableMinor) {
    const blocksNeeded = Math.ceil((payableMinor - credit) / program.redemption.creditMinor);
    const blocks = Math.min(blocksNeeded, Math.floor(head.balancePoints / program.redemption.points));
    await postLedgerEntry(
      clock,
      {
        merchantId: order.merchantId,
        customerId: order.customerId,
        source: `auto-redeem:${order._id}`,
        kind: 'redeem',
        points: -blocks * program.redemption.points,
        creditMinor: blocks * program.redemption.creditMinor,
        currency: program.currency,
        description: `${blocks * program.redemption.points} points redeemed automatically for the box of ${order.shipOn}`,
        orderId: order._id,
      },
      { clamp: true },
    );
  }
  const applied = await postLedgerEntry(
    clock,
    {
      merchantId: order.merchantId,
      customerId: order.customerId,
      source: `apply:${order._id}`,
      kind: 'apply',
      creditMinor: -payableMinor,
      currency: program.currency,
      description: `Credit applied to the box of ${order.shipOn}`,
      subscriptionId: order.subscriptionId,
      orderId: order._id,
    },
    { clamp: true },
  );
  return applied ? -applied.creditMinor : 0;
}

/** A box not sent gives back the credit it took (once: `restore:<order>`). */
export async function restoreLoyaltyCredit(clock: Clock, order: BoxOrder): Promise<void> {
  if (order.status !== 'cancelled') return;
  const line = order.lines.find((l) => l.kind === 'credit' && l.grantedBy?.source === 'loyalty');
  if (!line || line.amountMinor >= 0) return;
  await postLedgerEntry(clock, {
    merchantId: order.merchantId,
    customerId: order.customerId,
    source: `restore:${order._id}`,
    kind: 'restore',
    creditMinor: -line.amountMinor,
    currency: order.currency,
    description: `Credit given back: the box of ${order.shipOn} was not sent`,
    subscriptionId: order.subscriptionId,
    orderId: order._id,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Tiers
// ---------------------------------------------------------------------------------------------------------

/** The tier a standing earns: the highest whose threshold it reaches (none below the first). */
export function tierFor(program: LoyaltyProgram, standing: { paidBoxes: number; spendMinor: number }): LoyaltyProgram['tiers'][number] | undefined {
  const metric = program.tierBasis === 'paid_boxes' ? standing.paidBoxes : standing.spendMinor;
  return [...program.tiers].reverse().find((tier) => metric >= tier.threshold);
}

/** In words, for the shopper: "3 paid boxes", "$104.00 spent" in the last 12 months. */
function describeStanding(program: LoyaltyProgram, standing: { paidBoxes: number; spendMinor: number }): string {
  return program.tierBasis === 'paid_boxes'
    ? `${standing.paidBoxes} paid boxes in the last 12 months`
    : `${formatMoney(standing.spendMinor, program.currency)} spent in the last 12 months`;
}

const MAINTAIN_JOB = actors.job('loyalty.maintain-accounts');

/** The shopper's account, made on first need (empty history, no tier). */
async function ensureAccount(merchantId: string, customerId: string, now: Date): Promise<string> {
  const _id = loyaltyAccountId(merchantId, customerId);
  await LoyaltyAccountModel.updateOne({ _id }, { $setOnInsert: { merchantId, customerId, tierHistory: [], createdAt: now } }, { upsert: true });
  return _id;
}

/**
 * Re-evaluates one shopper's tier from their last 12 months; a change is recorded with its reason, and the
 * `loyalty.tier_changed` fact with it (a message listener tells the shopper). Conditional on the tier read,
 * so two workers record one change.
 */
export async function evaluateTier(
  deps: LoyaltyDeps,
  program: LoyaltyProgram,
  customerId: string,
  actor: Actor = MAINTAIN_JOB,
): Promise<'promoted' | 'demoted' | 'unchanged'> {
  const now = deps.clock.now();
  const merchantId = program.merchantId;
  const _id = await ensureAccount(merchantId, customerId, now);
  const account = await LoyaltyAccountModel.findOne({ _id, merchantId }).lean();
  const standing = await twelveMonthStanding(merchantId, customerId, now, program.currency);
  const tier = tierFor(program, standing);
  const from = account?.tierKey ?? null;
  const to = tier?.key ?? null;
  if (from === to) {
    await LoyaltyAccountModel.updateOne({ _id }, { $set: { evaluatedAt: now } });
    return 'unchanged';
  }
  const rank = (key: string | null) => (key === null ? -1 : program.tiers.findIndex((t) => t.key === key));
  const direction = rank(to) > rank(from) ? 'promoted' : 'demoted';
  // Promoted: the tier reached. Demoted: the tier just above the new one (gold → silver fell below Gold).
  const named = direction === 'promoted' ? tier : program.tiers[rank(to) + 1];
  const reason = `${direction === 'promoted' ? 'Reached' : 'Fell below'} ${named?.name ?? 'the first tier'}: ${describeStanding(program, standing)}`;
  const updated = await LoyaltyAccountModel.findOneAndUpdate(
    { _id, merchantId, tierKey: from ?? { $exists: false } },
    recordFacts(
      {
        ...(to ? { $set: { tierKey: to, tierSince: now, evaluatedAt: now } } : { $unset: { tierKey: 1, tierSince: 1 }, $set: { evaluatedAt: now } }),
        $push: { tierHistory: { from, to, at: now, reason } },
      },
      fact('loyalty.tier_changed', actor, now, { from, to, direction, tier: tier?.name ?? null, reason }),
    ),
    { returnDocument: 'after', lean: true },
  );
  if (!updated) return 'unchanged'; // another worker recorded it
  return direction;
}

// ---------------------------------------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------------------------------------

/**
 * Points expire oldest first: what is due to expire by `at` is what was earned with an expiry up to `at`,
 * less everything spent or expired so far (spending uses the oldest points first).
 */
export function pointsDueToExpire(entries: Pick<LoyaltyEntry, 'points' | 'expiresAt'>[], at: Date): number {
  const earnedBy = entries.filter((e) => e.points > 0 && e.expiresAt && e.expiresAt.getTime() <= at.getTime()).reduce((sum, e) => sum + e.points, 0);
  const spent = entries.filter((e) => e.points < 0).reduce((sum, e) => sum - e.points, 0);
  return Math.max(0, earnedBy - spent);
}

/**
 * Expires what is due for one shopper (keyed by the newest lot that expired, so two workers write one
 * entry), and records once per lot that points expire within the notice period (`loyalty.points_expiring`
 * on their account, guarded by the earliest expiry announced so far: a message listener tells them).
 */
export async function expireShopperPoints(
  deps: LoyaltyDeps,
  program: LoyaltyProgram,
  customerId: string,
  actor: Actor = MAINTAIN_JOB,
): Promise<{ expired: number; noticed: number }> {
  if (!program.expiry) return { expired: 0, noticed: 0 };
  const now = deps.clock.now();
  const merchantId = program.merchantId;
  const entries = await LoyaltyEntryModel.find({ merchantId, customerId, points: { $ne: 0 } }, { points: 1, expiresAt: 1 }).lean();
  let expired = 0;
  const due = pointsDueToExpire(entries, now);
  if (due > 0) {
    const lot = Math.max(...entries.filter((e) => e.points > 0 && e.expiresAt && e.expiresAt <= now).map((e) => e.expiresAt!.getTime()));
    const entry = await postLedgerEntry(
      deps.clock,
      {
        merchantId,
        customerId,
        source: `expire:${customerId}:${new Date(lot).toISOString()}`,
        kind: 'expire',
        points: -due,
        currency: program.currency,
        description: `${due} points expired`,
      },
      { clamp: true },
    );
    expired = entry ? -entry.points : 0;
  }
  const noticeBy = new Date(now.getTime() + program.expiry.noticeDays * 24 * 3_600_000);
  const after = await LoyaltyEntryModel.find({ merchantId, customerId, points: { $ne: 0 } }, { points: 1, expiresAt: 1 }).lean();
  const soon = pointsDueToExpire(after, noticeBy);
  if (soon > 0) {
    const first = new Date(
      Math.min(...after.filter((e) => e.points > 0 && e.expiresAt && e.expiresAt > now && e.expiresAt <= noticeBy).map((e) => e.expiresAt!.getTime())),
    );
    const _id = await ensureAccount(merchantId, customerId, now);
    await LoyaltyAccountModel.updateOne(
      { _id, merchantId, $or: [{ expiryNoticedFor: { $exists: false } }, { expiryNoticedFor: { $lt: first } }] },
      recordFacts(
        { $set: { expiryNoticedFor: first } },
        fact('loyalty.points_expiring', actor, now, { points: soon, expiresAt: first.toISOString(), expiresOn: first.toISOString().slice(0, 10) }),
      ),
    );
  }
  return { expired, noticed: soon > 0 ? 1 : 0 };
}

/**
 * The loyalty.maintain-accounts job: for every enabled programme, each shopper with a ledger or a box is
 * re-evaluated for their tier, and their points expired (with notice) when the programme says so.
 */
export async function maintainLoyaltyAccounts(deps: LoyaltyDeps): Promise<{ evaluated: number; changed: number; expired: number }> {
  const totals = { evaluated: 0, changed: 0, expired: 0 };
  const programs = await LoyaltyProgramModel.find({ enabled: true }).lean();
  for (const program of programs) {
    const customerIds = new Set<string>([
      ...(await subscribedCustomerIds(program.merchantId)),
      ...(await LoyaltyAccountModel.distinct('customerId', { merchantId: program.merchantId })),
    ]);
    for (const customerId of [...customerIds].sort()) {
      try {
        if (program.tiers.length > 0) {
          const outcome = await evaluateTier(deps, program, customerId);
          if (outcome !== 'unchanged') totals.changed += 1;
        }
        totals.expired += (await expireShopperPoints(deps, program, customerId)).expired;
        totals.evaluated += 1;
      } catch (error) {
        deps.logger.warn({ err: error, merchantId: program.merchantId, customerId }, 'loyalty account not maintained; next run retries');
      }
    }
  }
  return totals;
}

// ---------------------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------------------

export function toEntryView(entry: LoyaltyEntry): LoyaltyEntryView {
  return {
    id: entry._id,
    object: 'loyalty_entry',
    kind: entry.kind,
    source: entry.source,
    points: entry.points,
    credit: { amountMinor: entry.creditMinor, currency: entry.currency },
    balancePoints: entry.balancePoints,
    balanceCredit: { amountMinor: entry.balanceCreditMinor, currency: entry.currency },
    description: entry.description,
    expiresAt: iso(entry.expiresAt ?? null),
    orderId: entry.orderId ?? null,
    createdAt: iso(entry.at),
  };
}

export async function getLoyaltyAccount(clock: Clock, merchantId: string, customerId: string): Promise<LoyaltyAccountView> {
  await requireCustomer(merchantId, customerId);
  const [program, head, account, merchant] = await Promise.all([
    LoyaltyProgramModel.findOne({ _id: merchantId, merchantId }).lean(),
    ledgerHead(merchantId, customerId),
    LoyaltyAccountModel.findOne({ _id: loyaltyAccountId(merchantId, customerId), merchantId }).lean(),
    merchantProfile(merchantId),
  ]);
  const currency = program?.currency ?? head?.currency ?? merchant!.defaultCurrency;
  const tier = program?.tiers.find((t) => t.key === account?.tierKey);
  let expiring: { points: number; by: string } | null = null;
  if (program?.expiry) {
    const by = new Date(clock.now().getTime() + program.expiry.noticeDays * 24 * 3_600_000);
    const entries = await LoyaltyEntryModel.find({ merchantId, customerId, points: { $ne: 0 } }, { points: 1, expiresAt: 1 }).lean();
    const points = pointsDueToExpire(entries, by);
    if (points > 0) expiring = { points, by: iso(by) };
  }
  return {
    object: 'loyalty_account',
    customerId,
    points: head?.balancePoints ?? 0,
    credit: { amountMinor: head?.balanceCreditMinor ?? 0, currency },
    tier: tier ? { key: tier.key, name: tier.name, earnMultiplierPercent: tier.earnMultiplierPercent, since: iso(account?.tierSince ?? null) } : null,
    tierHistory: (account?.tierHistory ?? []).map((change) => ({
      from: change.from ?? null,
      to: change.to ?? null,
      at: iso(change.at),
      reason: change.reason,
    })),
    expiringSoon: expiring,
  };
}

/** Where a shopper stands in the programme: what points are worth, their tier, and how far the next one is. */
export interface LoyaltyProgress {
  currency: string;
  /** Points per whole unit of the currency paid for a box, before the tier's multiplier. */
  pointsPerUnit: number;
  /** Every `points` redeemed give `creditMinor` of credit. */
  redemption: { points: number; creditMinor: number };
  /** What tiers are held by, over the last 12 months. */
  basis: 'paid_boxes' | 'spend';
  standing: { paidBoxes: number; spendMinor: number };
  tier: { key: string; name: string; earnMultiplierPercent: number } | null;
  /**
   * The tier above the one held, and how much more of the basis reaches it (paid boxes, or minor units of
   * spend); 0 when the standing reaches it already and the daily evaluation has yet to move the shopper up.
   */
  nextTier: { key: string; name: string; earnMultiplierPercent: number; threshold: number; remaining: number } | null;
}

/**
 * The shopper's progress in the programme (for their rewards page); undefined when the merchant runs none.
 * The tier is the one held (as evaluated daily); the standing is counted now.
 */
export async function getLoyaltyProgress(clock: Clock, merchantId: string, customerId: string): Promise<LoyaltyProgress | undefined> {
  await requireCustomer(merchantId, customerId);
  const program = await loyaltyProgramOf(merchantId);
  if (!program) return undefined;
  const [account, standing] = await Promise.all([
    LoyaltyAccountModel.findOne({ _id: loyaltyAccountId(merchantId, customerId), merchantId }, { tierKey: 1 }).lean(),
    twelveMonthStanding(merchantId, customerId, clock.now(), program.currency),
  ]);
  const held = program.tiers.findIndex((t) => t.key === account?.tierKey);
  const tier = held >= 0 ? program.tiers[held]! : undefined;
  const next = program.tiers[held + 1];
  const metric = program.tierBasis === 'paid_boxes' ? standing.paidBoxes : standing.spendMinor;
  return {
    currency: program.currency,
    pointsPerUnit: program.pointsPerUnit,
    redemption: { points: program.redemption.points, creditMinor: program.redemption.creditMinor },
    basis: program.tierBasis,
    standing,
    tier: tier ? { key: tier.key, name: tier.name, earnMultiplierPercent: tier.earnMultiplierPercent } : null,
    nextTier: next
      ? {
          key: next.key,
          name: next.name,
          earnMultiplierPercent: next.earnMultiplierPercent,
          threshold: next.threshold,
          remaining: Math.max(0, next.threshold - metric),
        }
      : null,
  };
}

export async function listLoyaltyEntries(merchantId: string, customerId: string, query: { limit: number; startingAfter?: string | undefined }) {
  await requireCustomer(merchantId, customerId);
  const cursor = decodeCursor(query.startingAfter);
  const entries = await LoyaltyEntryModel.find({ merchantId, customerId, ...(cursor ? { seq: { $lt: Number(cursor.id) } } : {}) })
    .sort({ seq: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(
    entries.map((entry) => ({ ...entry, createdAt: entry.at, _id: String(entry.seq), entry })),
    query.limit,
    (row) => toEntryView(row.entry),
  );
}
