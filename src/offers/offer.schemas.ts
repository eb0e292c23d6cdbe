import { z } from 'zod';
import { EligibilityInput } from '../perks/perk.schemas';
import { ListQuery, listSchema } from '../shared/pagination';
import { Instant } from '../shared/schemas';

const Id = z.string().min(1).max(100);
const Amount = z.number().int().min(1).max(100_000_000);

const YearlyRewardInput = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('points'), points: z.number().int().min(1).max(10_000_000) }),
  z.strictObject({ type: z.literal('credit'), creditMinor: Amount.describe('Credit on the coming boxes, in the loyalty currency') }),
  z.strictObject({ type: z.literal('free_addon'), addonId: Id, quantity: z.number().int().min(1).max(10).default(1) }),
]);

const THRESHOLD_BASIS =
  "What the threshold counts in the box built at its cut-off. `box_total` (the default): the plan at the shopper's price after the first-box discount (and any one-time save-offer discount), plus the add-ons in the box; not shipping, gifts, free items, perks, other offers or loyalty credit. `addons`: the add-ons in the box alone, at their price.";

export const CreateOfferBody = z
  .discriminatedUnion('kind', [
    z
      .strictObject({
        kind: z.literal('threshold'),
        name: z.string().trim().min(1).max(80),
        eligibility: EligibilityInput.default({}),
        basis: z.enum(['box_total', 'addons']).default('box_total').describe(THRESHOLD_BASIS),
        minSpendMinor: Amount.describe("What the box must reach, counted per `basis`, in the merchant's default currency (boxes in other currencies get none)"),
        amountOffMinor: Amount.describe(
          'The fixed amount saved, at most `minSpendMinor`; never more than what `basis` counts in the box, nor than the goods left to pay. One threshold offer per box: the one that saves most (the oldest on a tie).',
        ),
      })
      .refine((b) => b.amountOffMinor <= b.minSpendMinor, { error: 'must not be more than minSpendMinor', path: ['amountOffMinor'] }),
    z
      .strictObject({
        kind: z.literal('comeback'),
        name: z.string().trim().min(1).max(80),
        withinDays: z.number().int().min(1).max(365).describe('Days since the last subscription ended'),
        percentOff: z.number().int().min(1).max(100).optional(),
        amountOffMinor: Amount.optional(),
      })
      .refine((b) => (b.percentOff === undefined) !== (b.amountOffMinor === undefined), 'give either percentOff or amountOffMinor'),
    z.strictObject({
      kind: z.literal('birthday'),
      name: z.string().trim().min(1).max(80),
      eligibility: EligibilityInput.default({}),
      reward: YearlyRewardInput,
    }),
    z.strictObject({
      kind: z.literal('anniversary'),
      name: z.string().trim().min(1).max(80),
      eligibility: EligibilityInput.default({}),
      reward: YearlyRewardInput,
    }),
  ])
  .meta({ id: 'OfferInput' });
export type CreateOfferBody = z.infer<typeof CreateOfferBody>;

export const OfferParams = z.strictObject({ id: z.string().max(100) });
export const ListOffersQuery = z.strictObject({ ...ListQuery, kind: z.enum(['threshold', 'comeback', 'birthday', 'anniversary']).optional() });

export const OfferView = z
  .strictObject({
    id: z.string(),
    object: z.literal('offer'),
    name: z.string(),
    kind: z.enum(['threshold', 'comeback', 'birthday', 'anniversary']),
    status: z.enum(['active', 'archived']),
    currency: z.string(),
    eligibility: z.record(z.string(), z.unknown()),
    threshold: z
      .strictObject({ basis: z.enum(['box_total', 'addons']).describe(THRESHOLD_BASIS), minSpendMinor: z.number().int(), amountOffMinor: z.number().int() })
      .nullable(),
    comeback: z.strictObject({ withinDays: z.number().int(), percentOff: z.number().int().nullable(), amountOffMinor: z.number().int().nullable() }).nullable(),
    reward: z.record(z.string(), z.unknown()).nullable(),
    createdAt: Instant,
  })
  .meta({ id: 'Offer' });
export type OfferView = z.infer<typeof OfferView>;
export const OfferList = listSchema(OfferView, 'OfferList');
