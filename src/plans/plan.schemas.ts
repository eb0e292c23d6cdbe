import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { AmountMinor, Currency, Instant, safeRecord } from '../shared/schemas';

const Name = z.string().trim().min(1).max(120);
const Slug = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, { error: 'must be lower-case letters, digits and dashes' });
const Sku = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be 1-64 letters, digits, dots, dashes or underscores' });
const VariantOptions = safeRecord(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, { error: 'option names are lower-case words' }), z.string().min(1).max(100))
  .refine((options) => Object.keys(options).length <= 10, { error: 'at most 10 options' })
  .describe('What the variant stands for, e.g. { "roast": "dark", "grind": "whole bean" }');

const Interval = z.enum(['week', 'month']);
const IntervalCount = z.number().int().min(1).max(52);
const maxCount = { week: 52, month: 12 } as const;

export const CadenceInput = z
  .strictObject({ interval: Interval, intervalCount: IntervalCount, priceMinor: AmountMinor })
  .refine((cadence) => cadence.intervalCount <= maxCount[cadence.interval], {
    error: 'at most every 52 weeks or every 12 months',
    path: ['intervalCount'],
  });

const SubstituteSkus = z
  .array(Sku)
  .max(10)
  .describe("The merchant's substitution rule: variants of this plan (by sku) to send, in this order, when this one is out of stock at the cut-off");

export const VariantInput = z.strictObject({ name: Name, sku: Sku, options: VariantOptions.optional(), substituteSkus: SubstituteSkus.optional() });

export const FirstBoxDiscount = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('percent'), percentOff: z.number().int().min(1).max(100) }),
  z.strictObject({ type: z.literal('amount'), amountOffMinor: AmountMinor.min(1) }),
]);

function uniqueBy<T>(items: T[], key: (item: T) => string): boolean {
  return new Set(items.map(key)).size === items.length;
}

export const CreatePlanBody = z
  .strictObject({
    name: Name,
    description: z.string().max(2000).optional(),
    slug: Slug.optional().describe('Unique per merchant; made from the name when absent'),
    currency: Currency.optional().describe("Defaults to the merchant's default currency"),
    variants: z.array(VariantInput).min(1).max(100),
    cadences: z.array(CadenceInput).min(1).max(20),
    trialDays: z.number().int().min(0).max(365).optional(),
    firstBoxDiscount: FirstBoxDiscount.optional(),
  })
  .superRefine((plan, ctx) => {
    if (!uniqueBy(plan.variants, (variant) => variant.sku)) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'each variant needs its own sku' });
    for (const variant of plan.variants) {
      for (const sku of variant.substituteSkus ?? []) {
        if (sku === variant.sku || !plan.variants.some((other) => other.sku === sku)) {
          ctx.addIssue({ code: 'custom', path: ['variants'], message: `substitute ${sku} of ${variant.sku} must be another variant of this plan` });
        }
      }
    }
    if (!uniqueBy(plan.cadences, (cadence) => `${cadence.interval}-${cadence.intervalCount}`)) {
      ctx.addIssue({ code: 'custom', path: ['cadences'], message: 'each cadence may be listed once' });
    }
    const cheapest = Math.min(...plan.cadences.map((cadence) => cadence.priceMinor));
    if (plan.firstBoxDiscount?.type === 'amount' && plan.firstBoxDiscount.amountOffMinor > cheapest) {
      ctx.addIssue({ code: 'custom', path: ['firstBoxDiscount', 'amountOffMinor'], message: 'must not exceed the lowest cadence price' });
    }
  })
  .meta({ id: 'CreatePlanRequest' });
export type CreatePlanBody = z.infer<typeof CreatePlanBody>;

export const UpdatePlanBody = z
  .strictObject({
    name: Name.optional(),
    description: z.string().max(2000).optional(),
    trialDays: z.number().int().min(0).max(365).optional(),
    firstBoxDiscount: FirstBoxDiscount.nullable().optional().describe('null removes it'),
    variants: z
      .array(
        z.strictObject({
          id: z.string().optional().describe('An existing variant to change; without it, a new variant'),
          name: Name.optional(),
          sku: Sku.optional(),
          options: VariantOptions.optional(),
          substituteSkus: SubstituteSkus.optional(),
          status: z.enum(['active', 'archived']).optional(),
        }),
      )
      .max(100)
      .optional()
      .describe('Variants to add or change; variants not listed stay as they are (archive, never delete)'),
    cadences: z
      .array(
        z.strictObject({
          interval: Interval,
          intervalCount: IntervalCount,
          priceMinor: AmountMinor.optional().describe('A new amount makes a new price for new subscribers; existing ones keep theirs'),
          status: z.enum(['active', 'archived']).optional(),
        }),
      )
      .max(20)
      .optional(),
  })
  .meta({ id: 'UpdatePlanRequest' });
export type UpdatePlanBody = z.infer<typeof UpdatePlanBody>;

export const PlanParams = z.strictObject({ id: z.string().max(100) });

export const ListPlansQuery = z.strictObject({ ...ListQuery, status: z.enum(['active', 'archived']).optional() });

export const PriceView = z.strictObject({
  id: z.string(),
  amountMinor: z.number().int(),
  currency: z.string(),
  stripePriceId: z.string().nullable(),
});

export const StripeSyncView = z.strictObject({
  productId: z.string().nullable(),
  state: z.enum(['pending', 'synced']),
  lastError: z.string().nullable(),
});

export const PlanView = z
  .strictObject({
    id: z.string(),
    object: z.literal('plan'),
    name: z.string(),
    description: z.string(),
    slug: z.string(),
    status: z.enum(['active', 'archived']),
    currency: z.string(),
    variants: z.array(
      z.strictObject({
        id: z.string(),
        name: z.string(),
        sku: z.string(),
        options: z.record(z.string(), z.string()),
        substituteSkus: z.array(z.string()),
        status: z.enum(['active', 'archived']),
      }),
    ),
    cadences: z.array(
      z.strictObject({
        key: z.string(),
        interval: Interval,
        intervalCount: z.number().int(),
        status: z.enum(['active', 'archived']),
        price: PriceView,
      }),
    ),
    trialDays: z.number().int(),
    firstBoxDiscount: FirstBoxDiscount.nullable(),
    stripe: StripeSyncView,
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'Plan' });
export type PlanView = z.infer<typeof PlanView>;

export const PlanList = listSchema(PlanView, 'PlanList');

export const MigratePricesBody = z
  .strictObject({ cadence: z.string().regex(/^(week|month)-\d{1,2}$/, { error: 'must be a cadence key such as month-1' }) })
  .meta({ id: 'MigratePricesRequest' });

export const MigratePricesResult = z
  .strictObject({ object: z.literal('price_migration'), migrated: z.number().int(), priceId: z.string() })
  .meta({ id: 'PriceMigration' });
