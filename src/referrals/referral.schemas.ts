import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { AmountMinor, Instant } from '../shared/schemas';
import { HOLD_REASONS, REFERRAL_STATUSES } from './referral.model';

const WelcomeOfferInput = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('percent'), percentOff: z.number().int().min(1).max(100) }),
  z.strictObject({ type: z.literal('amount'), amountOffMinor: AmountMinor.min(1).describe('Off the first box, in the programme currency') }),
]);

const ReferrerRewardInput = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('points'), points: z.number().int().min(1).max(1_000_000) }),
  z.strictObject({ type: z.literal('credit'), creditMinor: AmountMinor.min(1).describe('Credit on the coming boxes, in the programme currency') }),
]);

export const ReferralProgramBody = z
  .strictObject({
    enabled: z.boolean(),
    welcomeOffer: WelcomeOfferInput.describe("The friend's offer on their first box"),
    referrerReward: ReferrerRewardInput.describe("The referrer's reward once the friend's first box is paid"),
    review: z
      .strictObject({
        maxReferralsPer30Days: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(10)
          .describe('From this many referrals in 30 days, a referrer’s next ones are held for review'),
      })
      .default({ maxReferralsPer30Days: 10 }),
  })
  .meta({ id: 'ReferralProgramInput' });
export type ReferralProgramBody = z.infer<typeof ReferralProgramBody>;

export const ReferralProgramView = z
  .strictObject({
    object: z.literal('referral_program'),
    enabled: z.boolean(),
    currency: z.string().describe("The merchant's default currency when the programme was saved: amounts are in it"),
    welcomeOffer: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('percent'), percentOff: z.number().int() }),
      z.strictObject({ type: z.literal('amount'), amountOffMinor: z.number().int() }),
    ]),
    referrerReward: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('points'), points: z.number().int() }),
      z.strictObject({ type: z.literal('credit'), creditMinor: z.number().int() }),
    ]),
    review: z.strictObject({ maxReferralsPer30Days: z.number().int() }),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'ReferralProgram' });
export type ReferralProgramView = z.infer<typeof ReferralProgramView>;

export const ReferralCodeView = z.strictObject({ object: z.literal('referral_code'), code: z.string(), customerId: z.string() }).meta({ id: 'ReferralCode' });
export type ReferralCodeView = z.infer<typeof ReferralCodeView>;

export const ReferralView = z
  .strictObject({
    id: z.string(),
    object: z.literal('referral'),
    code: z.string(),
    referrerCustomerId: z.string(),
    friendCustomerId: z.string(),
    friendSubscriptionId: z.string(),
    status: z.enum(REFERRAL_STATUSES),
    heldReasons: z.array(z.enum(HOLD_REASONS)).describe('Why the referral waits (or waited) for review'),
    welcomeOffer: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('percent'), percentOff: z.number().int() }),
      z.strictObject({ type: z.literal('amount'), amountOffMinor: z.number().int(), currency: z.string() }),
    ]),
    reward: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('points'), points: z.number().int(), currency: z.string() }),
      z.strictObject({ type: z.literal('credit'), creditMinor: z.number().int(), currency: z.string() }),
    ]),
    rewardedAt: Instant.nullable(),
    reviewedAt: Instant.nullable(),
    reviewNote: z.string().nullable(),
    createdAt: Instant,
  })
  .meta({ id: 'Referral' });
export type ReferralView = z.infer<typeof ReferralView>;

export const ReferralList = listSchema(ReferralView, 'ReferralList');
export const ListReferralsQuery = z.strictObject({ ...ListQuery, status: z.enum(REFERRAL_STATUSES).optional() });
export type ListReferralsQuery = z.infer<typeof ListReferralsQuery>;

export const ReferralParams = z.strictObject({ id: z.string().max(100) });

export const ReviewReferralBody = z
  .strictObject({ note: z.string().trim().min(1).max(500).optional().describe('Why, for the record') })
  .meta({ id: 'ReviewReferralRequest' });
export type ReviewReferralBody = z.infer<typeof ReviewReferralBody>;
