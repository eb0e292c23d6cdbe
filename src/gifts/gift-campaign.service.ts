import { randomBytes } from 'node:crypto';
import { addonsNotOf } from '../addons/addon.queries';
import { merchantProfile } from '../merchants/merchant.queries';
import { plansNotOf } from '../plans/plan.queries';
import { isDuplicateKeyError } from '../shared/db';
import { invalidInput, InvalidStateError, NotFoundError } from '../shared/errors';
import { derivedId, newId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { GiftAwardModel, type GiftAward } from './gift-award.model';
import { GiftCampaignModel, type GiftCampaign, type GiftCampaignStatus } from './gift-campaign.model';
import type { CreateGiftCampaignBody, GiftAwardView, GiftCampaignView, GiftDryRunView } from './gift-campaign.schemas';
import { simulateGiftPicks } from './gift.service';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DEFAULT_LEAD_HOURS = 48;

export function toGiftCampaignView(campaign: Omit<GiftCampaign, 'grants'>): GiftCampaignView {
  const money = (amountMinor: number) => ({ amountMinor, currency: campaign.currency });
  const { eligibility, selection } = campaign;
  return {
    id: campaign._id,
    object: 'gift_campaign',
    name: campaign.name,
    status: campaign.status,
    giftAddonIds: campaign.giftAddonIds,
    unitCost: money(campaign.unitCostMinor),
    stockBudget: campaign.stockBudget,
    costBudget: money(campaign.costBudgetMinor),
    remaining: { count: campaign.remaining.count, cost: money(campaign.remaining.costMinor) },
    granted: campaign.stockBudget - campaign.remaining.count,
    eligibility: {
      planIds: eligibility?.planIds ?? null,
      minPaidBoxes: eligibility?.minPaidBoxes ?? null,
      tierKeys: eligibility?.tierKeys ?? null,
      topSpendPercent: eligibility?.topSpendPercent ?? null,
    },
    selection: selection.mode === 'random_share' ? { mode: 'random_share', percent: selection.percent, seed: selection.seed } : { mode: 'all' },
    minGapCycles: campaign.minGapCycles,
    startsOn: campaign.startsOn,
    endsOn: campaign.endsOn ?? null,
    leadHours: campaign.leadHours,
    createdAt: iso(campaign.createdAt),
    updatedAt: iso(campaign.updatedAt),
  };
}

function toGiftAwardView(award: GiftAward): GiftAwardView {
  return {
    id: award._id,
    object: 'gift_award',
    campaignId: award.campaignId,
    subscriptionId: award.subscriptionId,
    customerId: award.customerId,
    cycleKey: award.cycleKey,
    addonId: award.addonId,
    description: award.description,
    status: award.status,
    orderId: award.orderId ?? null,
    returnReason: award.returnReason ?? null,
    createdAt: iso(award.createdAt),
  };
}

async function findCampaign(merchantId: string, campaignId: string): Promise<GiftCampaign> {
  const campaign = await GiftCampaignModel.findOne({ _id: campaignId, merchantId }).lean();
  if (!campaign) throw new NotFoundError('No gift campaign with this id.');
  return campaign;
}

/** A new campaign, as a draft: nothing is given until it is activated. The gift add-ons and plans must be the merchant's. */
export async function createGiftCampaign(clock: Clock, merchantId: string, input: CreateGiftCampaignBody, idempotencyKey?: string): Promise<GiftCampaignView> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  const notYours = await addonsNotOf(merchantId, input.giftAddonIds);
  if (notYours.length > 0) throw invalidInput('giftAddonIds', `not your add-ons: ${notYours.join(', ')}`);
  if ((await plansNotOf(merchantId, input.eligibility?.planIds ?? [])).length > 0) throw invalidInput('eligibility.planIds', 'must all be your plans');
  const now = clock.now();
  const selection =
    input.selection?.mode === 'random_share'
      ? { mode: 'random_share' as const, percent: input.selection.percent, seed: input.selection.seed ?? randomBytes(8).toString('hex') }
      : { mode: 'all' as const };
  const eligibility = input.eligibility ?? {};
  const campaign: GiftCampaign = {
    _id: idempotencyKey ? derivedId('gcp', `${merchantId}:${idempotencyKey}`) : newId('gcp'),
    merchantId,
    name: input.name,
    status: 'draft',
    giftAddonIds: input.giftAddonIds,
    unitCostMinor: input.unitCostMinor,
    currency: input.currency ?? merchant.defaultCurrency,
    stockBudget: input.stockBudget,
    costBudgetMinor: input.costBudgetMinor,
    remaining: { count: input.stockBudget, costMinor: input.costBudgetMinor },
    eligibility: {
      ...(eligibility.planIds ? { planIds: eligibility.planIds } : {}),
      ...(eligibility.minPaidBoxes !== undefined ? { minPaidBoxes: eligibility.minPaidBoxes } : {}),
      ...(eligibility.tierKeys ? { tierKeys: eligibility.tierKeys } : {}),
      ...(eligibility.topSpendPercent !== undefined ? { topSpendPercent: eligibility.topSpendPercent } : {}),
    },
    selection,
    minGapCycles: input.minGapCycles ?? 0,
    startsOn: input.startsOn,
    ...(input.endsOn ? { endsOn: input.endsOn } : {}),
    leadHours: input.leadHours ?? DEFAULT_LEAD_HOURS,
    grants: [],
    createdAt: now,
    updatedAt: now,
  };
  try {
    await GiftCampaignModel.create(campaign);
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // the same Idempotency-Key: the campaign made before
  }
  return toGiftCampaignView(await findCampaign(merchantId, campaign._id));
}

export async function getGiftCampaign(merchantId: string, campaignId: string): Promise<GiftCampaignView> {
  return toGiftCampaignView(await findCampaign(merchantId, campaignId));
}

export async function listGiftCampaigns(
  merchantId: string,
  query: { limit: number; startingAfter?: string | undefined; status?: GiftCampaignStatus | undefined },
) {
  const campaigns = await GiftCampaignModel.find(
    { merchantId, ...(query.status ? { status: query.status } : {}), ...afterCursor(decodeCursor(query.startingAfter)) },
    { grants: 0 },
  )
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(campaigns, query.limit, (campaign) => toGiftCampaignView(campaign));
}

/** Moves a campaign draft → active or (draft | active) → ended; asking for the state it is in changes nothing. */
async function moveCampaign(clock: Clock, merchantId: string, campaignId: string, to: 'active' | 'ended'): Promise<GiftCampaignView> {
  const campaign = await findCampaign(merchantId, campaignId);
  if (campaign.status === to) return toGiftCampaignView(campaign);
  const from: GiftCampaignStatus[] = to === 'active' ? ['draft'] : ['draft', 'active'];
  if (!from.includes(campaign.status)) throw new InvalidStateError(`A ${campaign.status} gift campaign cannot be made ${to}.`);
  const now = clock.now();
  const result = await GiftCampaignModel.updateOne(
    { _id: campaignId, merchantId, status: campaign.status },
    { $set: { status: to, updatedAt: now, ...(to === 'active' ? { activatedAt: now } : { endedAt: now }) } },
  );
  if (result.matchedCount === 0) throw new InvalidStateError('The gift campaign changed meanwhile; read it again.');
  return toGiftCampaignView(await findCampaign(merchantId, campaignId));
}

export function activateGiftCampaign(clock: Clock, merchantId: string, campaignId: string): Promise<GiftCampaignView> {
  return moveCampaign(clock, merchantId, campaignId, 'active');
}

/** No more gifts are given; gifts already granted stay with their boxes. */
export function endGiftCampaign(clock: Clock, merchantId: string, campaignId: string): Promise<GiftCampaignView> {
  return moveCampaign(clock, merchantId, campaignId, 'ended');
}

/**
 * Who would get what at the coming cut-offs (within the campaign's lead time, or `horizonDays`), as the
 * job would give them with the budgets left, the gap and the selection. Writes nothing.
 */
export async function dryRunGiftCampaign(
  clock: Clock,
  merchantId: string,
  campaignId: string,
  input: { horizonDays?: number | undefined },
): Promise<GiftDryRunView> {
  const campaign = await findCampaign(merchantId, campaignId);
  const now = clock.now();
  const until = new Date(now.getTime() + (input.horizonDays !== undefined ? input.horizonDays * DAY_MS : campaign.leadHours * HOUR_MS));
  const { eligible, picks, remainingAfter } = await simulateGiftPicks(campaign, now, until);
  return {
    object: 'gift_campaign_dry_run',
    campaignId: campaign._id,
    from: iso(now),
    until: iso(until),
    eligible,
    picks: picks.map((pick) => ({
      subscriptionId: pick.subscriptionId,
      customerId: pick.customerId,
      cycleKey: pick.cycle.cycleKey,
      cutoffAt: iso(pick.cycle.cutoffAt),
      addonId: pick.addon._id,
      description: pick.addon.name,
    })),
    remainingAfter: { count: remainingAfter.count, cost: { amountMinor: remainingAfter.costMinor, currency: campaign.currency } },
  };
}

/** Who got what from the campaign, newest first. */
export async function listGiftAwards(merchantId: string, campaignId: string, query: { limit: number; startingAfter?: string | undefined }) {
  await findCampaign(merchantId, campaignId);
  const awards = await GiftAwardModel.find({ merchantId, campaignId, ...afterCursor(decodeCursor(query.startingAfter)) })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(awards, query.limit, toGiftAwardView);
}
