import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { Currency, Instant, wholeNumber } from '../shared/schemas';

/** A promo code as typed: A–Z, 0–9 and dashes, 3–32 characters, in any case (stored in upper case). */
export const PromoCodeText = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9-]{3,32}$/, { error: 'must be 3-32 letters, digits or dashes' })
  .transform((code) => code.toUpperCase())
  .describe('Case-insensitive: A–Z, 0–9 and dashes, 3–32 characters');

const DURATION =
  "How long the discount lasts: `once` (one box), `repeating` (`durationInBoxes` boxes) or `forever` (every box). The boxes are the calendar's, from the first box the code is applied to (the first box at sign-up, else the first box whose cut-off has not passed): a box skipped or paused among them uses its place.";

export const CreatePromoCodeBody = z
  .strictObject({
    code: PromoCodeText,
    description: z.string().trim().min(1).max(200).describe('What the shopper gets, in words; shown on the lines of the boxes it discounts'),
    percentOff: wholeNumber(1, 100).optional().describe('A percentage off each box it covers (the plan and the add-ons)'),
    amountOffMinor: wholeNumber(1, 100_000_000).optional().describe('An amount off each box it covers, in minor units of `currency`; never more than the box'),
    currency: Currency.optional().describe(
      "The currency of `amountOffMinor` (the store's default when absent); boxes paid in another currency cannot use the code",
    ),
    duration: z.enum(['once', 'repeating', 'forever']).default('once').describe(DURATION),
    durationInBoxes: wholeNumber(2, 52).optional().describe('For `repeating`: how many boxes'),
    firstBoxOnly: z.boolean().default(false).describe('Only for new subscribers, when they subscribe (never on an existing subscription)'),
    maxRedemptions: wholeNumber(1, 10_000_000).optional().describe('How many subscriptions can use it across the store; no limit when absent'),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('After this instant no one can apply it (subscriptions that did keep their discount)'),
  })
  .superRefine((body, ctx) => {
    if ((body.percentOff === undefined) === (body.amountOffMinor === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give either percentOff or amountOffMinor', path: ['percentOff'] });
    }
    if (body.currency !== undefined && body.amountOffMinor === undefined) {
      ctx.addIssue({ code: 'custom', message: 'goes with amountOffMinor only', path: ['currency'] });
    }
    if (body.duration === 'repeating' && body.durationInBoxes === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required for a repeating code', path: ['durationInBoxes'] });
    }
    if (body.duration !== 'repeating' && body.durationInBoxes !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'goes with duration: repeating only', path: ['durationInBoxes'] });
    }
  })
  .meta({ id: 'CreatePromoCodeRequest' });
export type CreatePromoCodeBody = z.infer<typeof CreatePromoCodeBody>;

export const PromoCodeParams = z.strictObject({ id: z.string().max(100) });

export const ListPromoCodesQuery = z.strictObject({
  ...ListQuery,
  status: z.enum(['active', 'archived']).optional().describe('Only active (not archived; an expired code is still active) or archived codes'),
});

export const PromoCodeView = z
  .strictObject({
    id: z.string(),
    object: z.literal('promo_code'),
    code: z.string(),
    description: z.string(),
    percentOff: z.number().int().nullable(),
    amountOff: z.strictObject({ amountMinor: z.number().int(), currency: z.string() }).nullable(),
    duration: z.enum(['once', 'repeating', 'forever']).describe(DURATION),
    durationInBoxes: z.number().int().nullable(),
    firstBoxOnly: z.boolean(),
    maxRedemptions: z.number().int().nullable(),
    redemptionCount: z.number().int().describe('Subscriptions that used it (each counted once)'),
    expiresAt: Instant.nullable(),
    status: z.enum(['active', 'archived']),
    usable: z.boolean().describe('Whether it can be applied now: active, not expired, not used up'),
    archivedAt: Instant.nullable(),
    stripe: z
      .strictObject({
        state: z.enum(['pending', 'synced']),
        couponId: z.string().nullable(),
        promotionCodeId: z.string().nullable(),
        active: z.boolean().describe('Whether the Stripe promotion code can still be redeemed'),
        lastError: z.string().nullable(),
      })
      .describe('Its Stripe coupon and promotion code; `pending` while the catalog sync job retries'),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'PromoCode' });
export type PromoCodeView = z.infer<typeof PromoCodeView>;
export const PromoCodeList = listSchema(PromoCodeView, 'PromoCodeList');

export const PromoCodeRedemptionView = z
  .strictObject({
    id: z.string(),
    object: z.literal('promo_code_redemption'),
    promoCodeId: z.string(),
    subscriptionId: z.string(),
    customerId: z.string(),
    redeemedAt: Instant,
  })
  .meta({ id: 'PromoCodeRedemption' });
export const PromoCodeRedemptionList = listSchema(PromoCodeRedemptionView, 'PromoCodeRedemptionList');
export const ListRedemptionsQuery = z.strictObject({ ...ListQuery });
