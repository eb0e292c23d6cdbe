import { z } from 'zod';
import { PriceView, StripeSyncView } from '../plans/plan.schemas';
import { ListQuery, listSchema } from '../shared/pagination';
import { AmountMinor, Currency, Instant, LocalDate, StockAdjustment, StockUnits } from '../shared/schemas';

const Name = z.string().trim().min(1).max(120);
const Sku = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be 1-64 letters, digits, dots, dashes or underscores' });

export const CreateAddonBody = z
  .strictObject({
    name: Name,
    description: z.string().max(2000).optional(),
    sku: Sku,
    kind: z.enum(['one_time', 'recurring']).describe('once in the next box, or in every box'),
    priceMinor: AmountMinor,
    currency: Currency.optional().describe("Defaults to the merchant's default currency"),
    stock: StockUnits.nullable().optional().describe('Units on hand; null or absent: not tracked (always available)'),
    releasesOn: LocalDate.optional().describe('A new product: shoppers can add it from this local date; an early-access perk opens it before'),
  })
  .meta({ id: 'CreateAddonRequest' });
export type CreateAddonBody = z.infer<typeof CreateAddonBody>;

export const UpdateAddonBody = z
  .strictObject({
    name: Name.optional(),
    description: z.string().max(2000).optional(),
    priceMinor: AmountMinor.optional().describe('A new amount makes a new price; boxes already built keep theirs'),
    status: z.enum(['active', 'archived']).optional(),
    releasesOn: LocalDate.nullable().optional().describe('null: available to everyone now'),
  })
  .meta({ id: 'UpdateAddonRequest' });
export type UpdateAddonBody = z.infer<typeof UpdateAddonBody>;

export const AdjustStockBody = z
  .strictObject({
    adjustBy: StockAdjustment.describe('Units to add (received) or remove (damaged, counted); stock never goes below zero nor above 10,000,000'),
    reason: z.string().trim().min(1).max(200),
  })
  .meta({ id: 'AdjustStockRequest' });

export const AddonParams = z.strictObject({ id: z.string().max(100) });
export const ListAddonsQuery = z.strictObject({ ...ListQuery, status: z.enum(['active', 'archived']).optional() });

export const AddonView = z
  .strictObject({
    id: z.string(),
    object: z.literal('addon'),
    name: z.string(),
    description: z.string(),
    sku: z.string(),
    kind: z.enum(['one_time', 'recurring']),
    status: z.enum(['active', 'archived']),
    releasesOn: z.string().nullable(),
    price: PriceView,
    stock: z.strictObject({
      tracked: z.boolean(),
      onHand: z.number().int().nullable(),
      reserved: z.number().int().describe('Units promised to boxes not shipped yet'),
    }),
    stripe: StripeSyncView,
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'Addon' });
export type AddonView = z.infer<typeof AddonView>;

export const AddonList = listSchema(AddonView, 'AddonList');
