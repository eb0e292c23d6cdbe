import type { Addon } from '../addons/addon.model';
import { findAddon, findAddons } from '../addons/addon.queries';
import { fact, initialFacts, recordFacts } from '../events/fact-source';
import { actors, type Actor } from '../events/fact-types';
import { paidBoxCount, spendRanking, tierKeyOf } from '../loyalty/loyalty-standing.service';
import type { BoxOrder, OrderLine, OrderStatus } from '../orders/box-order.model';
import { builtCycles, findOrderOfCycle } from '../orders/order.queries';
import { cycleByKey, type Cycle } from '../shared/calendar';
import { isDuplicateKeyError } from '../shared/db';
import { batchShare, readEveryTime, type RunMemo } from '../shared/run-memo';
import type { Logger } from '../shared/logger';
import type { Clock } from '../shared/time';
import { BUILDING_STATUSES, isStatusIn, LIVE_STATUSES } from '../subscriptions/subscription-states';
import type { Subscription } from '../subscriptions/subscription.model';
import { findSubscription, isCycleCharged, nextChargedCycle, subscriptionPagesLockingBy, type BoxLine } from '../subscriptions/subscription.queries';
import { GiftAwardModel, type GiftAward } from './gift-award.model';
import { GiftCampaignModel, type GiftCampaign, type GiftGrant } from './gift-campaign.model';
import { appliesOn, chooseGiftAddon, gapStartKey, giftAwardId, isDrawn, isWithinGap, topSpenders as topSpendersOf } from './gift-rules';

export interface GiftDeps {
  clock: Clock;
  logger: Logger;
}

const HOUR_MS = 3_600_000;
/** A box granted a gift but never built this long after its charge (skipped, paused, unpaid) gives it back. */
const NOT_BUILT_GRACE_MS = 24 * HOUR_MS;
/** Order states where a built box still holds its gift. */
const HOLDING_STATUSES: readonly OrderStatus[] = ['reserved', 'paid', 'packed', 'shipped', 'held'];
/** Who acts when the job grants, heals and sweeps. */
const GIFTS_JOB = actors.job('gifts.attach-surprise-gifts');

// ---------------------------------------------------------------------------------------------------------
// Who is eligible: the same plan for the dry run and the job, so the dry run predicts the job
// ---------------------------------------------------------------------------------------------------------

/** A box that may get the campaign's gift, before the budgets and the gap among the picks themselves. */
export interface CandidateBox {
  /** What the picks need of the subscription (the plan keeps no more of it, so its memory is the window's boxes). */
  subscription: Pick<Subscription, '_id' | 'customerId'>;
  cycle: Cycle;
  /** The earliest cycle key the gap looks back to for this box. */
  gapStart: string;
}

export interface GiftPlan {
  /** Eligible boxes in the order gifts are given: earliest cut-off first, then by subscription id. */
  boxes: CandidateBox[];
  /** The add-on given in this run, or none when no gift add-on is active. */
  addon: Addon | undefined;
}

/**
 * The boxes of the campaign's merchant whose cut-off is after `now` and at or before `until`, that are not
 * built yet, have no surprise yet, had none within the gap, are charged on a date the campaign applies to,
 * and pass every eligibility filter and the seeded draw. Reads only the subscriptions whose box may lock by
 * `until` (by the renewal check's armed cut-off, as the upcoming-box reminder does), a page at a time, and
 * what each page's boxes need; only the top-spender rule reads the whole store (its ranking of spend).
 */
export async function planGiftCandidates(campaign: GiftCampaign, now: Date, until: Date): Promise<GiftPlan> {
  const { merchantId, eligibility } = campaign;
  const addons = await findAddons(merchantId, campaign.giftAddonIds);
  const addon = chooseGiftAddon(campaign.giftAddonIds, addons);

  let topSpenders: Set<string> | undefined;
  const boxes: CandidateBox[] = [];
  // Subscriptions whose boxes are built on schedule; a paused one's first box after its pause counts.
  for await (const page of subscriptionPagesLockingBy(merchantId, BUILDING_STATUSES, until, { planIds: eligibility.planIds })) {
    const found = await eligibleBoxesOf(campaign, candidateBoxesOf(campaign, page, now, until), async () => {
      topSpenders ??= topSpendersOf(await spendRanking(merchantId, now), eligibility.topSpendPercent!);
      return topSpenders;
    });
    for (const box of found) boxes.push(box);
  }
  boxes.sort((a, b) => a.cycle.cutoffAt.getTime() - b.cycle.cutoffAt.getTime() || compare(a.subscription._id, b.subscription._id));
  return { boxes, addon };
}

/** The page's boxes locking in `(now, until]` that are charged on a date the campaign applies to and drawn. */
function candidateBoxesOf(campaign: GiftCampaign, subscriptions: Subscription[], now: Date, until: Date): CandidateBox[] {
  const { selection } = campaign;
  const boxes: CandidateBox[] = [];
  for (const subscription of subscriptions) {
    for (
      let cycle = nextChargedCycle(subscription, now);
      cycle && cycle.cutoffAt.getTime() <= until.getTime();
      cycle = nextChargedCycle(subscription, cycle.chargeAt)
    ) {
      if (cycle.cutoffAt.getTime() <= now.getTime() || !appliesOn(campaign, cycle.chargeOn)) continue;
      if (selection.mode === 'random_share' && !isDrawn(selection.seed, selection.percent, subscription._id, cycle.cycleKey)) continue;
      boxes.push({
        subscription: { _id: subscription._id, customerId: subscription.customerId },
        cycle,
        gapStart: gapStartKey(subscription.schedule, cycle, campaign.minGapCycles),
      });
    }
  }
  return boxes;
}

/** Of a page's boxes: those not built, with no surprise within their gap, that pass the eligibility rules. */
async function eligibleBoxesOf(campaign: GiftCampaign, candidates: CandidateBox[], topSpenders: () => Promise<Set<string>>): Promise<CandidateBox[]> {
  const { merchantId, eligibility } = campaign;
  let boxes = candidates;
  if (boxes.length === 0) return boxes;

  // Built already (the cut-off came), or a surprise already decided for the box or within its gap.
  const subscriptionIds = [...new Set(boxes.map((box) => box.subscription._id))];
  const earliest = boxes.reduce((min, box) => (box.gapStart < min ? box.gapStart : min), boxes[0]!.gapStart);
  const [orders, awards] = await Promise.all([
    builtCycles(merchantId, subscriptionIds, earliest),
    GiftAwardModel.find(
      { merchantId, subscriptionId: { $in: subscriptionIds }, cycleKey: { $gte: earliest } },
      { subscriptionId: 1, cycleKey: 1, status: 1 },
    ).lean(),
  ]);
  const built = new Set(orders.map((order) => `${order.subscriptionId}:${order.cycleKey}`));
  const awardsOf = groupBy(awards, (award) => award.subscriptionId);
  boxes = boxes.filter((box) => {
    if (built.has(`${box.subscription._id}:${box.cycle.cycleKey}`)) return false;
    return !(awardsOf.get(box.subscription._id) ?? []).some(
      (award) => award.cycleKey === box.cycle.cycleKey || (award.status !== 'returned' && isWithinGap(award.cycleKey, box.gapStart, box.cycle)),
    );
  });

  if (eligibility.topSpendPercent !== undefined && boxes.length > 0) {
    const top = await topSpenders();
    boxes = boxes.filter((box) => top.has(box.subscription.customerId));
  }
  if (eligibility.tierKeys?.length && boxes.length > 0) {
    const tiers = new Map<string, string | undefined>();
    for (const customerId of new Set(boxes.map((box) => box.subscription.customerId))) tiers.set(customerId, await tierKeyOf(merchantId, customerId));
    boxes = boxes.filter((box) => eligibility.tierKeys!.includes(tiers.get(box.subscription.customerId) ?? ''));
  }
  if (eligibility.minPaidBoxes !== undefined && eligibility.minPaidBoxes > 0 && boxes.length > 0) {
    const tenure = new Map<string, number>();
    for (const id of new Set(boxes.map((box) => box.subscription._id))) tenure.set(id, await paidBoxCount(merchantId, id));
    boxes = boxes.filter((box) => (tenure.get(box.subscription._id) ?? 0) >= eligibility.minPaidBoxes!);
  }
  return boxes;
}

/** Tracks the picks of one run, so a subscription is not picked twice within the gap in the same run. */
function pickTracker() {
  const picked = new Map<string, string[]>();
  return {
    blocked: (box: CandidateBox) => (picked.get(box.subscription._id) ?? []).some((key) => isWithinGap(key, box.gapStart, box.cycle)),
    add: (box: CandidateBox) => picked.set(box.subscription._id, [...(picked.get(box.subscription._id) ?? []), box.cycle.cycleKey]),
  };
}

export interface GiftPick {
  subscriptionId: string;
  customerId: string;
  cycle: Cycle;
  addon: Addon;
}

/**
 * Who would get what if the job ran now over boxes whose cut-off is up to `until`: the job's plan, taken in
 * the job's order until a budget runs out. Writes nothing (works for a draft too).
 */
export async function simulateGiftPicks(
  campaign: GiftCampaign,
  now: Date,
  until: Date,
): Promise<{ eligible: number; picks: GiftPick[]; remainingAfter: GiftCampaign['remaining'] }> {
  const { boxes, addon } = await planGiftCandidates(campaign, now, until);
  const remaining = { ...campaign.remaining };
  const picks: GiftPick[] = [];
  const tracker = pickTracker();
  for (const box of boxes) {
    if (!addon || remaining.count < 1 || remaining.costMinor < campaign.unitCostMinor) break;
    if (tracker.blocked(box)) continue;
    tracker.add(box);
    remaining.count -= 1;
    remaining.costMinor -= campaign.unitCostMinor;
    picks.push({ subscriptionId: box.subscription._id, customerId: box.subscription.customerId, cycle: box.cycle, addon });
  }
  return { eligible: boxes.length, picks, remainingAfter: remaining };
}

// ---------------------------------------------------------------------------------------------------------
// The gifts.attach-surprise-gifts job
// ---------------------------------------------------------------------------------------------------------

export interface AttachSurpriseGiftsResult {
  /** Active campaigns looked at. */
  campaigns: number;
  /** Gifts granted by this run. */
  granted: number;
  /** Grants given back to their campaign by this run (box built meanwhile, cancelled, out of stock...). */
  returned: number;
  /** Awards whose box was looked at again (in the box, delivered, given back). */
  settled: number;
}

/**
 * For each active campaign: heal grants whose award was not written, then give the gift to each picked box
 * (earliest cut-off first) until a budget runs out, each grant one guarded update of the campaign document;
 * then settle awards whose box has moved on. Safe to run on several workers at once and to repeat: a box is
 * granted once per campaign, an award exists once per box, and neither budget goes below zero.
 */
export async function attachSurpriseGifts(
  deps: GiftDeps,
  options: { merchantId?: string; campaignId?: string; sweepBatchSize?: number } = {},
): Promise<AttachSurpriseGiftsResult> {
  const result: AttachSurpriseGiftsResult = { campaigns: 0, granted: 0, returned: 0, settled: 0 };
  const campaigns = await GiftCampaignModel.find({
    status: 'active',
    ...(options.merchantId ? { merchantId: options.merchantId } : {}),
    ...(options.campaignId ? { _id: options.campaignId } : {}),
  })
    .sort({ createdAt: 1, _id: 1 })
    .lean();
  for (const campaign of campaigns) {
    result.campaigns += 1;
    try {
      result.returned += await healGrants(deps, campaign);
      const outcome = await grantCampaignGifts(deps, campaign);
      result.granted += outcome.granted;
      result.returned += outcome.returned;
    } catch (error) {
      deps.logger.warn({ err: error, campaignId: campaign._id }, 'surprise gifts of a campaign not attached; retrying next run');
    }
  }
  const swept = await settleOpenGiftAwards(deps, {
    ...(options.merchantId ? { merchantId: options.merchantId } : {}),
    batchSize: options.sweepBatchSize ?? 500,
  });
  result.settled += swept.settled;
  result.returned += swept.returned;
  return result;
}

async function grantCampaignGifts(deps: GiftDeps, campaign: GiftCampaign): Promise<{ granted: number; returned: number }> {
  const now = deps.clock.now();
  const { boxes, addon } = await planGiftCandidates(campaign, now, new Date(now.getTime() + campaign.leadHours * HOUR_MS));
  let granted = 0;
  let returned = 0;
  if (!addon) {
    if (boxes.length > 0) deps.logger.warn({ campaignId: campaign._id }, 'gift campaign has no active add-on to give');
    return { granted, returned };
  }
  const tracker = pickTracker();
  for (const box of boxes) {
    if (tracker.blocked(box)) continue;
    const grant: GiftGrant = {
      key: giftAwardId(box.subscription._id, box.cycle.cycleKey),
      subscriptionId: box.subscription._id,
      customerId: box.subscription.customerId,
      cycleKey: box.cycle.cycleKey,
      addonId: addon._id,
      at: now,
    };
    const taken = await GiftCampaignModel.updateOne(
      {
        _id: campaign._id,
        status: 'active',
        'remaining.count': { $gte: 1 },
        'remaining.costMinor': { $gte: campaign.unitCostMinor },
        'grants.key': { $ne: grant.key },
      },
      { $inc: { 'remaining.count': -1, 'remaining.costMinor': -campaign.unitCostMinor }, $push: { grants: grant }, $set: { updatedAt: now } },
    );
    if (taken.modifiedCount === 1) {
      granted += 1;
      tracker.add(box);
      returned += await recordAward(deps, campaign, grant);
      continue;
    }
    // Not taken: another worker granted this box (go on), or the campaign ended or ran out (stop).
    if (await GiftCampaignModel.exists({ _id: campaign._id, 'grants.key': grant.key })) {
      tracker.add(box);
      continue;
    }
    const current = await GiftCampaignModel.findById(campaign._id, { status: 1, remaining: 1 }).lean();
    if (!current || current.status !== 'active' || current.remaining.count < 1 || current.remaining.costMinor < campaign.unitCostMinor) break;
  }
  if (granted > 0) deps.logger.info({ campaignId: campaign._id, granted }, 'surprise gifts granted');
  return { granted, returned };
}

/**
 * Writes the award of a grant (once: `$setOnInsert` on the box's id), then makes the two agree: a box
 * another campaign gifted first, or whose gift was given back for good, returns this grant; a box built
 * meanwhile is settled against its order. Returns how many grants were given back.
 */
async function recordAward(
  deps: GiftDeps,
  campaign: Pick<GiftCampaign, '_id' | 'merchantId' | 'unitCostMinor' | 'currency'>,
  grant: GiftGrant,
): Promise<number> {
  const addon = await findAddon(campaign.merchantId, grant.addonId);
  const now = deps.clock.now();
  const description = addon?.name ?? 'A surprise gift';
  const award = await upsertAward({
    _id: grant.key,
    merchantId: campaign.merchantId,
    campaignId: campaign._id,
    subscriptionId: grant.subscriptionId,
    customerId: grant.customerId,
    cycleKey: grant.cycleKey,
    addonId: grant.addonId,
    description,
    sku: addon?.sku ?? '',
    status: 'granted',
    createdAt: now,
    ...initialFacts(
      fact('gift.granted', GIFTS_JOB, now, {
        campaignId: campaign._id,
        cycleKey: grant.cycleKey,
        addonId: grant.addonId,
        description,
        // What the gift costs the merchant (the campaign's unit cost), for the gift-cost analytics.
        unitCostMinor: campaign.unitCostMinor,
        currency: campaign.currency,
      }),
    ),
  });
  if (award.campaignId !== campaign._id || award.status === 'returned') {
    return (await returnGrant(campaign, grant.key)) ? 1 : 0;
  }
  const order = await findOrderOfCycle(campaign.merchantId, grant.subscriptionId, grant.cycleKey);
  if (!order) return 0;
  return (await settleAwardsOfOrder(deps, order, GIFTS_JOB)).returned;
}

async function upsertAward(award: GiftAward): Promise<GiftAward> {
  const { _id, ...fields } = award;
  try {
    const stored = await GiftAwardModel.findOneAndUpdate({ _id }, { $setOnInsert: fields }, { upsert: true, returnDocument: 'after', lean: true });
    if (stored) return stored;
  } catch (error) {
    // Two workers inserting the same box at once: the other one's is the award.
    if (!isDuplicateKeyError(error)) throw error;
  }
  const existing = await GiftAwardModel.findOne({ subscriptionId: award.subscriptionId, cycleKey: award.cycleKey }).lean();
  if (!existing) throw new Error(`gift award ${_id} neither written nor found`);
  return existing;
}

/**
 * Grants whose award is missing (a run stopped between the two writes) get it now; grants for a box whose
 * award is another campaign's, or was given back, are returned. Returns how many were returned.
 */
async function healGrants(deps: GiftDeps, campaign: GiftCampaign): Promise<number> {
  if (campaign.grants.length === 0) return 0;
  const awards = await GiftAwardModel.find({ _id: { $in: campaign.grants.map((grant) => grant.key) } }, { campaignId: 1, status: 1 }).lean();
  const byId = new Map(awards.map((award) => [award._id, award]));
  let returned = 0;
  for (const grant of campaign.grants) {
    const award = byId.get(grant.key);
    if (!award) returned += await recordAward(deps, campaign, grant);
    else if (award.campaignId !== campaign._id || award.status === 'returned') returned += (await returnGrant(campaign, grant.key)) ? 1 : 0;
  }
  return returned;
}

/** Gives a grant back to its campaign's budgets: once (guarded by the grant being there). */
async function returnGrant(campaign: Pick<GiftCampaign, '_id' | 'unitCostMinor'>, key: string): Promise<boolean> {
  const result = await GiftCampaignModel.updateOne(
    { _id: campaign._id, 'grants.key': key },
    { $inc: { 'remaining.count': 1, 'remaining.costMinor': campaign.unitCostMinor }, $pull: { grants: { key } } },
  );
  return result.modifiedCount === 1;
}

/**
 * The grant goes back to the campaign, then the award says so, with `gift.returned` (a stop between the two
 * is finished next time: the award is still open, and the grant is given back once).
 */
async function returnAward(deps: { clock: Clock }, award: GiftAward, reason: string, actor: Actor, orderId?: string): Promise<boolean> {
  const campaign = await GiftCampaignModel.findById(award.campaignId, { unitCostMinor: 1, currency: 1 }).lean();
  const given = campaign ? await returnGrant(campaign, award._id) : false;
  const now = deps.clock.now();
  await GiftAwardModel.updateOne(
    { _id: award._id, status: { $in: ['granted', 'in_box'] } },
    recordFacts(
      { $set: { status: 'returned', returnReason: reason, returnedAt: now, ...(orderId ? { orderId } : {}) } },
      fact('gift.returned', actor, now, {
        campaignId: award.campaignId,
        cycleKey: award.cycleKey,
        reason,
        orderId: orderId ?? null,
        // The cost that goes back to the campaign (null when the campaign is gone), for the gift-cost analytics.
        unitCostMinor: campaign?.unitCostMinor ?? null,
        currency: campaign?.currency ?? null,
      }),
    ),
  );
  return given;
}

// ---------------------------------------------------------------------------------------------------------
// The box: its gift line, and the award following the order
// ---------------------------------------------------------------------------------------------------------

/**
 * The surprise line of a cycle's box, for the box build at the cut-off: the gift granted for (subscription,
 * cycle), free, with the add-on (so its stock is reserved like any add-on's) and why it is there.
 */
export async function giftLinesFor(subscription: Subscription, cycle: Cycle, memo: RunMemo = readEveryTime): Promise<BoxLine[]> {
  const { merchantId } = subscription;
  // The cycle's awards of the whole batch in one read: only this subscription's box turns its award.
  const award = await batchShare(memo, `gift-awards:${cycle.cycleKey}`, 'subscriptionIds', merchantId, subscription._id, async (ids) => {
    const awards = await GiftAwardModel.find({
      _id: { $in: ids.map((id) => giftAwardId(id, cycle.cycleKey)) },
      merchantId,
      status: { $in: ['granted', 'in_box'] },
    }).lean();
    return new Map(awards.map((found) => [found.subscriptionId, found]));
  });
  if (!award) return [];
  const [addon, campaign] = await Promise.all([
    findAddon(subscription.merchantId, award.addonId),
    GiftCampaignModel.findOne({ _id: award.campaignId, merchantId: subscription.merchantId }, { name: 1 }).lean(),
  ]);
  if (!addon) return [];
  return [
    {
      kind: 'gift',
      key: giftLineKey(award),
      description: award.description,
      sku: addon.sku,
      quantity: 1,
      unitAmountMinor: 0,
      addonId: award.addonId,
      grantedBy: { source: 'gift', id: award.campaignId, reason: `A surprise gift: ${campaign?.name ?? 'thank you for being with us'}` },
    },
  ];
}

function giftLineKey(award: Pick<GiftAward, '_id'>): string {
  return `gift:${award._id}`;
}

/** The award's line in the order: by its key, or the hold id made from the key, or the gift of that campaign. */
function giftLineOf(order: BoxOrder, award: GiftAward): OrderLine | undefined {
  const key = giftLineKey(award);
  return order.lines.find(
    (line) =>
      line.key === key ||
      line.holdId === `${order._id}:${key}` ||
      (line.kind === 'gift' && line.addonId === award.addonId && line.grantedBy?.source === 'gift' && line.grantedBy.id === award.campaignId),
  );
}

function leftWarehouse(order: BoxOrder): boolean {
  return Boolean(order.shipment) || order.history.some((entry) => entry.status === 'shipped' || entry.status === 'delivered');
}

/**
 * Brings the box's award in line with its order; idempotent, for the listeners of the box's facts and the sweep.
 * - the box holds the gift line (reserved, paid, packed, shipped, held): `in_box`;
 * - the order was cancelled, or refunded before it left: the grant goes back to the campaign (`returned`);
 * - the box was built without the gift (out of stock at the cut-off, or built before the grant): `returned`;
 * - delivered (or refunded after it left): `delivered`, with `gift.delivered` (whose listener thanks the
 *   shopper of a delivered box).
 */
export async function settleGiftsOfOrder(deps: { clock: Clock }, order: BoxOrder, actor: Actor = actors.system()): Promise<void> {
  await settleAwardsOfOrder(deps, order, actor);
}

/** `settleGiftsOfOrder`, saying how many grants it gave back. */
async function settleAwardsOfOrder(deps: { clock: Clock }, order: BoxOrder, actor: Actor): Promise<{ returned: number }> {
  const awards = await GiftAwardModel.find({ merchantId: order.merchantId, subscriptionId: order.subscriptionId, cycleKey: order.cycleKey }).lean();
  let returned = 0;
  for (const award of awards) {
    if (award.status === 'returned' || award.status === 'delivered') continue;
    const gone = leftWarehouse(order);
    if (order.status === 'cancelled' || (order.status === 'refunded' && !gone)) {
      if (await returnAward(deps, award, order.status === 'cancelled' ? 'order_cancelled' : 'order_refunded', actor, order._id)) returned += 1;
      continue;
    }
    if (!giftLineOf(order, award)) {
      const omitted = (order.omittedLines ?? []).some(
        (line) => line.reason === 'out_of_stock' && line.sku === award.sku && line.description === award.description,
      );
      if (await returnAward(deps, award, omitted ? 'out_of_stock' : 'not_in_box', actor, order._id)) returned += 1;
      continue;
    }
    if (order.status === 'delivered' || order.status === 'refunded') {
      const now = deps.clock.now();
      await GiftAwardModel.updateOne(
        { _id: award._id, status: { $in: ['granted', 'in_box'] } },
        recordFacts(
          { $set: { status: 'delivered', orderId: order._id, deliveredAt: now } },
          fact('gift.delivered', actor, now, {
            campaignId: award.campaignId,
            cycleKey: award.cycleKey,
            orderId: order._id,
            shipOn: order.shipOn,
            description: award.description,
            // A box refunded after it left counts the gift as delivered, but is not thanked for.
            boxStatus: order.status,
          }),
        ),
      );
      continue;
    }
    if (HOLDING_STATUSES.includes(order.status) && award.status === 'granted') {
      await GiftAwardModel.updateOne({ _id: award._id, status: 'granted' }, { $set: { status: 'in_box', orderId: order._id } });
    }
  }
  return { returned };
}

/** What the thank-you for a gift says: the award and its campaign's name (a read for the message listener). */
export async function giftForThanks(merchantId: string, awardId: string): Promise<{ award: GiftAward; campaignName: string | null } | undefined> {
  const award = await GiftAwardModel.findOne({ _id: awardId, merchantId }).lean();
  if (!award) return undefined;
  const campaign = await GiftCampaignModel.findOne({ _id: award.campaignId, merchantId }, { name: 1 }).lean();
  return { award, campaignName: campaign?.name ?? null };
}

/**
 * The sweep: awards not final yet are settled against their box's order when it exists; a gift whose box
 * will not be built (cancelled subscription, cycle no longer charged at its cut-off, or no box a day after
 * the charge) goes back to its campaign. Each award looked at is stamped `sweptAt`, and the least recently
 * swept come first, so a batch never sticks on the same boxes (e.g. paid boxes a merchant never marks
 * delivered).
 */
export async function settleOpenGiftAwards(
  deps: GiftDeps,
  options: { merchantId?: string; batchSize?: number } = {},
): Promise<{ settled: number; returned: number }> {
  const open = await GiftAwardModel.find({
    ...(options.merchantId ? { merchantId: options.merchantId } : {}),
    status: { $in: ['granted', 'in_box'] },
  })
    .sort({ sweptAt: 1, _id: 1 })
    .limit(options.batchSize ?? 500)
    .lean();
  const now = deps.clock.now();
  let settled = 0;
  let returned = 0;
  for (const award of open) {
    try {
      await GiftAwardModel.updateOne({ _id: award._id }, { $set: { sweptAt: now } });
      const order = await findOrderOfCycle(award.merchantId, award.subscriptionId, award.cycleKey);
      if (order) {
        returned += (await settleAwardsOfOrder(deps, order, GIFTS_JOB)).returned;
        settled += 1;
        continue;
      }
      if (award.status !== 'granted') continue;
      const subscription = await findSubscription(award.merchantId, award.subscriptionId);
      const cycle = subscription ? cycleByKey(subscription.schedule, award.cycleKey) : undefined;
      const notComing =
        !subscription ||
        !cycle ||
        !isStatusIn(subscription.status, LIVE_STATUSES) ||
        (now.getTime() >= cycle.cutoffAt.getTime() && !isCycleCharged(subscription, cycle)) ||
        now.getTime() > cycle.chargeAt.getTime() + NOT_BUILT_GRACE_MS;
      if (notComing) {
        if (await returnAward(deps, award, 'box_not_built', GIFTS_JOB)) returned += 1;
        settled += 1;
      }
    } catch (error) {
      deps.logger.warn({ err: error, awardId: award._id }, 'gift award not settled; retrying next run');
    }
  }
  return { settled, returned };
}

// ---------------------------------------------------------------------------------------------------------

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
