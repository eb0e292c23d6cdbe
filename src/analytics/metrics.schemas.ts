import { z } from 'zod';
import { Currency, prefixedId } from '../shared/schemas';

/** A calendar month in the store's time zone. */
export const LocalMonth = z
  .string()
  .regex(/^(20[0-9]{2}|21[0-9]{2})-(0[1-9]|1[0-2])$/, { error: 'must be a month YYYY-MM between 2000 and 2199' })
  .describe('A month, YYYY-MM, in the store’s time zone');

export const MetricsQuery = z.strictObject({
  from: LocalMonth.optional().describe('The first month (default: 11 months before `to`)'),
  to: LocalMonth.optional().describe('The last month (default: this month)'),
  currency: Currency.optional().describe('Only this currency'),
  plan: prefixedId('plan').optional().describe('Only subscriptions of this plan (a subscription that moves plans is transferred)'),
  format: z.enum(['json', 'csv']).default('json').describe('`csv` answers text/csv, one row per currency and month'),
});
export type MetricsQuery = z.infer<typeof MetricsQuery>;

const Minor = z.number().int();
const Rate = z.number().nullable().describe('A fraction (0.05 = 5%), null when nothing was there to lose');

export const MrrMonth = z.strictObject({
  month: z.string(),
  startMrrMinor: Minor,
  newMinor: Minor,
  expansionMinor: Minor,
  contractionMinor: Minor,
  churnMinor: Minor,
  reactivationMinor: Minor,
  pausedMinor: Minor,
  resumedMinor: Minor,
  transferInMinor: Minor.describe('MRR of subscriptions that moved here from another plan or currency'),
  transferOutMinor: Minor.describe('MRR of subscriptions that moved from here to another plan or currency'),
  netChangeMinor: Minor,
  endMrrMinor: Minor,
});

export const MrrReport = z
  .strictObject({
    object: z.literal('mrr_report'),
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    currencies: z.array(z.strictObject({ currency: z.string(), mrrMinor: Minor.describe('MRR now'), months: z.array(MrrMonth) })),
  })
  .meta({ id: 'MrrReport' });
export type MrrReport = z.infer<typeof MrrReport>;

export const SubscriberMonth = z.strictObject({
  month: z.string(),
  startCount: z.number().int(),
  new: z.number().int(),
  reactivated: z.number().int().describe('Of the new: shoppers who had cancelled a subscription before'),
  cancelled: z.number().int(),
  transferIn: z.number().int(),
  transferOut: z.number().int(),
  endCount: z.number().int(),
});

export const SubscriberReport = z
  .strictObject({
    object: z.literal('subscriber_report'),
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    currencies: z.array(
      z.strictObject({
        currency: z.string(),
        current: z.strictObject({ active: z.number().int(), trialing: z.number().int(), pastDue: z.number().int(), paused: z.number().int() }),
        months: z.array(SubscriberMonth),
      }),
    ),
  })
  .meta({ id: 'SubscriberReport' });
export type SubscriberReport = z.infer<typeof SubscriberReport>;

export const ChurnMonth = z.strictObject({
  month: z.string(),
  subscribersAtStart: z.number().int(),
  cancelled: z.number().int(),
  voluntary: z.number().int(),
  involuntary: z.number().int(),
  cancelledSameMonth: z.number().int().describe('Of the cancelled: subscribers who started this month (not in the rate)'),
  subscriberChurnRate: Rate,
  mrrAtStartMinor: Minor,
  churnMinor: Minor,
  churnVoluntaryMinor: Minor,
  churnInvoluntaryMinor: Minor,
  churnSameMonthMinor: Minor,
  contractionMinor: Minor,
  expansionMinor: Minor,
  reactivationMinor: Minor,
  grossMrrChurnRate: Rate,
  netMrrChurnRate: Rate,
});

export const ChurnReport = z
  .strictObject({
    object: z.literal('churn_report'),
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    currencies: z.array(z.strictObject({ currency: z.string(), months: z.array(ChurnMonth) })),
  })
  .meta({ id: 'ChurnReport' });
export type ChurnReport = z.infer<typeof ChurnReport>;
