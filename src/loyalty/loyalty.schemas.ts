import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { Instant, wholeNumber } from '../shared/schemas';
import { LEDGER_KINDS } from './loyalty.model';

const Money = z.strictObject({ amountMinor: z.number().int(), currency: z.string() });
const Key = z.string().regex(/^[a-z0-9_-]{1,40}$/, 'lower-case letters, digits, _ and -');

const Tier = z.strictObject({
  key: Key,
  name: z.string().trim().min(1).max(60),
  threshold: wholeNumber(0, 99_999_999_99).describe('Paid boxes, or spend in minor units, over the last 12 months (per `tierBasis`)'),
  earnMultiplierPercent: z.number().int().min(100).max(1000).describe('100 = the base rate, 150 = 1.5× points'),
});

export const LoyaltyProgramBody = z
  .strictObject({
    enabled: z.boolean(),
    pointsPerUnit: z.number().int().min(0).max(1000).describe('Points per whole unit of the currency paid for a box'),
    redemption: z.strictObject({
      points: z.number().int().min(1).max(1_000_000).describe('Points in one redeemable block'),
      creditMinor: z.number().int().min(1).max(1_000_000).describe('Credit one block gives, in minor units'),
    }),
    autoApply: z.boolean().describe('Redeem points for credit at each cut-off without the shopper asking'),
    expiry: z
      .strictObject({ afterMonths: z.number().int().min(1).max(120), noticeDays: z.number().int().min(1).max(90) })
      .nullable()
      .describe('Points expire this long after they are earned (oldest spent first); null: they never expire'),
    tierBasis: z.enum(['paid_boxes', 'spend']),
    tiers: z.array(Tier).max(10).describe('Lowest first; tiers are evaluated daily over a rolling 12 months'),
  })
  .meta({ id: 'LoyaltyProgramInput' });
export type LoyaltyProgramBody = z.infer<typeof LoyaltyProgramBody>;

export const LoyaltyProgramView = z
  .strictObject({
    object: z.literal('loyalty_program'),
    enabled: z.boolean(),
    currency: z.string(),
    pointsPerUnit: z.number().int(),
    redemption: z.strictObject({ points: z.number().int(), creditMinor: z.number().int() }),
    autoApply: z.boolean(),
    expiry: z.strictObject({ afterMonths: z.number().int(), noticeDays: z.number().int() }).nullable(),
    tierBasis: z.enum(['paid_boxes', 'spend']),
    tiers: z.array(z.strictObject({ key: z.string(), name: z.string(), threshold: z.number().int(), earnMultiplierPercent: z.number().int() })),
    updatedAt: Instant,
  })
  .meta({ id: 'LoyaltyProgram' });
export type LoyaltyProgramView = z.infer<typeof LoyaltyProgramView>;

export const LoyaltyEntryView = z
  .strictObject({
    id: z.string(),
    object: z.literal('loyalty_entry'),
    kind: z.enum(LEDGER_KINDS),
    source: z.string().describe('What the entry records, unique per merchant (`invoice:<id>`, `referral:<id>`, `apply:<order>`...)'),
    points: z.number().int(),
    credit: Money,
    balancePoints: z.number().int(),
    balanceCredit: Money,
    description: z.string(),
    expiresAt: Instant.nullable(),
    orderId: z.string().nullable(),
    createdAt: Instant,
  })
  .meta({ id: 'LoyaltyEntry' });
export type LoyaltyEntryView = z.infer<typeof LoyaltyEntryView>;

export const LoyaltyEntryList = listSchema(LoyaltyEntryView, 'LoyaltyEntryList');
export const ListLoyaltyEntriesQuery = z.strictObject({ ...ListQuery });

export const LoyaltyAccountView = z
  .strictObject({
    object: z.literal('loyalty_account'),
    customerId: z.string(),
    points: z.number().int(),
    credit: Money.describe('Redeemed and not yet applied: taken off the coming boxes'),
    tier: z.strictObject({ key: z.string(), name: z.string(), earnMultiplierPercent: z.number().int(), since: Instant.nullable() }).nullable(),
    tierHistory: z.array(z.strictObject({ from: z.string().nullable(), to: z.string().nullable(), at: Instant, reason: z.string() })),
    expiringSoon: z.strictObject({ points: z.number().int(), by: Instant }).nullable(),
  })
  .meta({ id: 'LoyaltyAccount' });
export type LoyaltyAccountView = z.infer<typeof LoyaltyAccountView>;

export const RedeemPointsBody = z.strictObject({ points: z.number().int().min(1).max(100_000_000) });
export const AdjustPointsBody = z.strictObject({
  points: z
    .number()
    .int()
    .min(-100_000_000)
    .max(100_000_000)
    .refine((n) => n !== 0, 'must not be 0'),
  reason: z.string().trim().min(1).max(200).describe('Shown to the shopper: "Wrote a review", "Goodwill"'),
});
