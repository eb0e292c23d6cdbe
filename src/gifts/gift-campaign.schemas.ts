import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { AmountMinor, Currency, Instant, LocalDate } from '../shared/schemas';

const Money = z.strictObject({ amountMinor: z.number().int(), currency: z.string() });
const Id = z.string().min(1).max(100);
const uniqueIds = (ids: string[]) => new Set(ids).size === ids.length;

export const GiftCampaignParams = z.strictObject({ id: z.string().max(100) });

export const GiftEligibilityInput = z
  .strictObject({
    planIds: z.array(Id).min(1).max(50).refine(uniqueIds, { error: 'each plan once' }).optional().describe('Only subscribers of these plans'),
    minPaidBoxes: z.number().int().min(0).max(1000).optional().describe('Tenure: at least this many paid boxes on the subscription'),
    tierKeys: z.array(z.string().min(1).max(60)).min(1).max(20).optional().describe('Only shoppers holding one of these loyalty tiers'),
    topSpendPercent: z.number().int().min(1).max(100).optional().describe("Only the top X% of the merchant's shoppers by spend over the last 12 months"),
  })
  .meta({ id: 'GiftEligibility' });

export const GiftSelectionInput = z
  .discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('all') }),
    z.strictObject({
      mode: z.literal('random_share'),
      percent: z.number().int().min(1).max(100),
      seed: z.string().trim().min(1).max(100).optional().describe('Makes the draw repeatable; a random one is chosen when absent'),
    }),
  ])
  .describe('Everyone eligible, or a seeded random share of them');

export const CreateGiftCampaignBody = z
  .strictObject({
    name: z.string().trim().min(1).max(120),
    giftAddonIds: z
      .array(Id)
      .min(1)
      .max(10)
      .refine(uniqueIds, { error: 'each add-on once' })
      .describe('Your add-ons given as the gift, in order of preference (the first one active and in stock is given)'),
    unitCostMinor: AmountMinor.describe('What one gift costs you, counted against the cost budget'),
    currency: Currency.optional().describe("Of the costs; defaults to the merchant's default currency"),
    stockBudget: z.number().int().min(1).max(10_000).describe('How many gifts at most'),
    costBudgetMinor: AmountMinor.describe('What the gifts may cost at most'),
    eligibility: GiftEligibilityInput.optional(),
    selection: GiftSelectionInput.optional().describe('Defaults to everyone eligible'),
    minGapCycles: z.number().int().min(0).max(52).optional().describe('No gift to a subscription gifted in any of its previous K cycles (default 0)'),
    startsOn: LocalDate.describe("First charge date (merchant's zone) whose box may get a gift"),
    endsOn: LocalDate.optional().describe('Last charge date whose box may get a gift (inclusive)'),
    leadHours: z.number().int().min(1).max(720).optional().describe("How long before a box's cut-off it may be picked (default 48)"),
  })
  .refine((body) => body.endsOn === undefined || body.endsOn >= body.startsOn, { error: 'must not be before startsOn', path: ['endsOn'] })
  .meta({ id: 'CreateGiftCampaignRequest' });
export type CreateGiftCampaignBody = z.infer<typeof CreateGiftCampaignBody>;

export const DryRunGiftCampaignBody = z
  .strictObject({
    horizonDays: z.number().int().min(1).max(60).optional().describe("Look at the cut-offs this many days ahead instead of the campaign's lead time"),
  })
  .meta({ id: 'DryRunGiftCampaignRequest' });
export type DryRunGiftCampaignBody = z.infer<typeof DryRunGiftCampaignBody>;

export const ListGiftCampaignsQuery = z.strictObject({ ...ListQuery, status: z.enum(['draft', 'active', 'ended']).optional() });
export const ListGiftAwardsQuery = z.strictObject({ ...ListQuery });

export const GiftCampaignView = z
  .strictObject({
    id: z.string(),
    object: z.literal('gift_campaign'),
    name: z.string(),
    status: z.enum(['draft', 'active', 'ended']),
    giftAddonIds: z.array(z.string()),
    unitCost: Money,
    stockBudget: z.number().int(),
    costBudget: Money,
    remaining: z.strictObject({ count: z.number().int(), cost: Money }).describe('What is left of the budgets (gifts given back return to it)'),
    granted: z.number().int().describe('Gifts currently held against the budgets'),
    eligibility: z.strictObject({
      planIds: z.array(z.string()).nullable(),
      minPaidBoxes: z.number().int().nullable(),
      tierKeys: z.array(z.string()).nullable(),
      topSpendPercent: z.number().int().nullable(),
    }),
    selection: z.discriminatedUnion('mode', [
      z.strictObject({ mode: z.literal('all') }),
      z.strictObject({ mode: z.literal('random_share'), percent: z.number().int(), seed: z.string() }),
    ]),
    minGapCycles: z.number().int(),
    startsOn: z.string(),
    endsOn: z.string().nullable(),
    leadHours: z.number().int(),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'GiftCampaign' });
export type GiftCampaignView = z.infer<typeof GiftCampaignView>;

export const GiftCampaignList = listSchema(GiftCampaignView, 'GiftCampaignList');

export const GiftPickView = z.strictObject({
  subscriptionId: z.string(),
  customerId: z.string(),
  cycleKey: z.string(),
  cutoffAt: Instant,
  addonId: z.string(),
  description: z.string(),
});

export const GiftDryRunView = z
  .strictObject({
    object: z.literal('gift_campaign_dry_run'),
    campaignId: z.string(),
    from: Instant,
    until: Instant.describe('Boxes whose cut-off is after `from` and at or before this are looked at'),
    eligible: z.number().int().describe('Boxes eligible before the budgets are applied'),
    picks: z.array(GiftPickView).describe('Who would get what, in the order the job would give them'),
    remainingAfter: z.strictObject({ count: z.number().int(), cost: Money }),
  })
  .meta({ id: 'GiftCampaignDryRun' });
export type GiftDryRunView = z.infer<typeof GiftDryRunView>;

export const GiftAwardView = z
  .strictObject({
    id: z.string(),
    object: z.literal('gift_award'),
    campaignId: z.string(),
    subscriptionId: z.string(),
    customerId: z.string(),
    cycleKey: z.string(),
    addonId: z.string(),
    description: z.string(),
    status: z.enum(['granted', 'in_box', 'returned', 'delivered']),
    orderId: z.string().nullable(),
    returnReason: z.string().nullable(),
    createdAt: Instant,
  })
  .meta({ id: 'GiftAward' });
export type GiftAwardView = z.infer<typeof GiftAwardView>;

export const GiftAwardList = listSchema(GiftAwardView, 'GiftAwardList');
