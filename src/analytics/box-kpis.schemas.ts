import { z } from 'zod';
import { Currency } from '../shared/schemas';
import { LocalMonth } from './metrics.schemas';

const Format = z.enum(['json', 'csv']).default('json').describe('`csv` answers text/csv, one row per month (or SKU, campaign, currency)');
const From = LocalMonth.optional().describe('The first month (default: 11 months before `to`)');
const To = LocalMonth.optional().describe('The last month (default: this month)');

export const BoxServiceQuery = z.strictObject({ from: From, to: To, format: Format });
export type BoxServiceQuery = z.infer<typeof BoxServiceQuery>;

export const GiftCostQuery = z.strictObject({ from: From, to: To, currency: Currency.optional().describe('Only campaigns in this currency'), format: Format });
export type GiftCostQuery = z.infer<typeof GiftCostQuery>;

export const LoyaltyLiabilityQuery = z.strictObject({ currency: Currency.optional().describe('Only this currency'), format: Format });
export type LoyaltyLiabilityQuery = z.infer<typeof LoyaltyLiabilityQuery>;

const Count = z.number().int();
const Rate = z.number().nullable().describe('A fraction rounded to 4 places (0.05 = 5%), null when there was nothing to count');
const Days = z.number().nullable().describe('Local days, null when no box shipped');

export const BoxServiceMonth = z.strictObject({
  month: z.string(),
  shipped: Count.describe('Boxes shipped this local month'),
  shippedOnTime: Count.describe('…on or before their promised ship date (local)'),
  shippedLate: Count,
  onTimeRate: Rate,
  averageDaysLate: z.number().nullable().describe('Of the late boxes, rounded to 2 places'),
  delivered: Count.describe('Boxes delivered this local month (each is asked for a rating)'),
  rated: Count.describe('…of which rated so far'),
  ratingResponseRate: Rate,
  averageRating: z.number().nullable().describe('The boxes’ latest ratings (1 to 5), rounded to 2 places'),
  signedUp: Count.describe('Subscriptions made this local month'),
  firstBoxShipped: Count.describe('…of which whose first box has shipped'),
  medianDaysToFirstBox: Days,
  p90DaysToFirstBox: Days,
});

export const BoxServiceReport = z
  .strictObject({
    object: z.literal('box_service_report'),
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    months: z.array(BoxServiceMonth),
  })
  .meta({ id: 'BoxServiceReport' });
export type BoxServiceReport = z.infer<typeof BoxServiceReport>;

export const SkuFill = z.strictObject({
  sku: z.string(),
  requestedUnits: Count.describe('Units asked for in boxes built at their cut-off in the range'),
  filledUnits: Count.describe('…sent as chosen'),
  substitutedUnits: Count.describe('…sent as another variant'),
  outOfStockUnits: Count.describe('…not sent (left out, or the box skipped)'),
  fillRate: Rate,
  substitutionRate: Rate,
  outOfStockRate: Rate,
  backOrderedUnits: Count.describe('Units of boxes made at payment that were not on hand (apart from the rates)'),
});

export const SkuFillReport = z
  .strictObject({ object: z.literal('sku_fill_report'), timezone: z.string(), from: z.string(), to: z.string(), skus: z.array(SkuFill) })
  .meta({ id: 'SkuFillReport' });
export type SkuFillReport = z.infer<typeof SkuFillReport>;

export const GiftCampaignCost = z.strictObject({
  campaignId: z.string(),
  currency: z.string(),
  granted: Count,
  delivered: Count,
  returned: Count.describe('Given back to the campaign (box cancelled, out of stock, not in the box)'),
  grantedCostMinor: Count,
  returnedCostMinor: Count,
  costMinor: Count.describe('grantedCostMinor − returnedCostMinor'),
});

export const GiftCostReport = z
  .strictObject({ object: z.literal('gift_cost_report'), timezone: z.string(), from: z.string(), to: z.string(), campaigns: z.array(GiftCampaignCost) })
  .meta({ id: 'GiftCostReport' });
export type GiftCostReport = z.infer<typeof GiftCostReport>;

export const LoyaltyLiabilityReport = z
  .strictObject({
    object: z.literal('loyalty_liability_report'),
    currencies: z.array(
      z.strictObject({
        currency: z.string().describe('The programme’s currency the entries were kept in'),
        points: Count.describe('Points outstanding now (not redeemed nor expired)'),
        creditMinor: Count.describe('Credit outstanding now (not yet applied to a box)'),
      }),
    ),
  })
  .meta({ id: 'LoyaltyLiabilityReport' });
export type LoyaltyLiabilityReport = z.infer<typeof LoyaltyLiabilityReport>;
