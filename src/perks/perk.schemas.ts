import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { Currency, Instant, LocalDate } from '../shared/schemas';

const Id = z.string().min(1).max(100);

export const EligibilityInput = z
  .strictObject({
    planIds: z.array(Id).min(1).max(50).optional(),
    minPaidBoxes: z.number().int().min(0).max(1000).optional().describe('Paid boxes of the subscription before this one'),
    tierKeys: z.array(z.string().max(40)).min(1).max(10).optional(),
    startsOn: LocalDate.optional(),
    endsOn: LocalDate.optional(),
  })
  .meta({ id: 'Eligibility' });

export const PerkBenefitInput = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('free_addon'),
      addonId: Id,
      quantity: z.number().int().min(1).max(10).default(1),
      everyNthBox: z.number().int().min(1).max(100),
    }),
    z
      .strictObject({
        kind: z.literal('addon_discount'),
        percentOff: z.number().int().min(1).max(100).optional(),
        amountOffMinor: z
          .number()
          .int()
          .min(1)
          .max(100_000_000)
          .optional()
          .describe('In `currency`; never more than the add-ons cost. Boxes in another currency get none'),
        currency: Currency.optional().describe("The amount's currency; the store's default currency when left out. Only with amountOffMinor"),
      })
      .refine((b) => (b.percentOff === undefined) !== (b.amountOffMinor === undefined), 'give either percentOff or amountOffMinor')
      .refine((b) => b.currency === undefined || b.amountOffMinor !== undefined, { path: ['currency'], message: 'only goes with amountOffMinor' }),
    z.strictObject({ kind: z.literal('free_shipping') }),
    z.strictObject({ kind: z.literal('early_access'), addonIds: z.array(Id).min(1).max(50) }),
    z.strictObject({
      kind: z.literal('milestone_bonus'),
      boxNumbers: z.array(z.number().int().min(1).max(1000)).min(1).max(20).describe('The paid box numbers that earn it: [3, 6, 12]'),
      bonus: z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('points'), points: z.number().int().min(1).max(10_000_000) }),
        z.strictObject({ type: z.literal('free_addon'), addonId: Id, quantity: z.number().int().min(1).max(10).default(1) }),
        z.strictObject({
          type: z.literal('amount_off'),
          amountOffMinor: z.number().int().min(1).max(100_000_000).describe('In `currency`. Boxes in another currency get none'),
          currency: Currency.optional().describe("The amount's currency; the store's default currency when left out"),
        }),
      ]),
    }),
  ])
  .meta({ id: 'PerkBenefit' });

export const CreatePerkBody = z
  .strictObject({
    name: z.string().trim().min(1).max(80).describe('Shown to the shopper with what it gave them'),
    description: z.string().trim().max(500).optional(),
    eligibility: EligibilityInput.default({}),
    benefit: PerkBenefitInput,
  })
  .meta({ id: 'PerkInput' });
export type CreatePerkBody = z.infer<typeof CreatePerkBody>;

export const PerkParams = z.strictObject({ id: z.string().max(100) });
export const ListPerksQuery = z.strictObject({ ...ListQuery, status: z.enum(['active', 'archived']).optional() });

const EligibilityView = z.strictObject({
  planIds: z.array(z.string()).optional(),
  minPaidBoxes: z.number().int().optional(),
  tierKeys: z.array(z.string()).optional(),
  startsOn: z.string().optional(),
  endsOn: z.string().optional(),
});

export const PerkView = z
  .strictObject({
    id: z.string(),
    object: z.literal('perk'),
    name: z.string(),
    description: z.string().nullable(),
    status: z.enum(['active', 'archived']),
    eligibility: EligibilityView,
    benefit: z.record(z.string(), z.unknown()).describe('As created: see PerkBenefit'),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'Perk' });
export type PerkView = z.infer<typeof PerkView>;
export const PerkList = listSchema(PerkView, 'PerkList');
