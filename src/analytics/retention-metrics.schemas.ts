import { z } from 'zod';
import { MetricsQuery } from './metrics.schemas';

/** The same query as the other metrics: a range of local months, a currency, a plan, JSON or CSV. */
export const RetentionMetricsQuery = MetricsQuery;
export type RetentionMetricsQuery = z.infer<typeof RetentionMetricsQuery>;

const Minor = z.number().int();
const Count = z.number().int();
const Rate = z.number().nullable().describe('A fraction rounded to 4 places (0.05 = 5%), null when there is nothing to divide by');
const Counts = z.record(z.string(), Count);

export const CohortMonth = z.strictObject({
  month: z.string(),
  offset: Count.describe('Months since the cohort’s month (0 = the month of the first paid box)'),
  active: Count.describe('Subscriptions of the cohort not cancelled by the end of this month'),
  activeRate: Rate.describe('active ÷ the cohort’s size'),
  paying: Count.describe('Subscriptions of the cohort with at least one box paid this month'),
  revenueMinor: Minor.describe('What the cohort’s boxes paid this month'),
});

export const Cohort = z.strictObject({
  cohort: z.string().describe('The local month of the subscriptions’ first paid box'),
  size: Count,
  revenueToDateMinor: Minor.describe('Everything the cohort has paid so far'),
  realisedLtvMinor: Minor.describe('revenueToDateMinor ÷ size, rounded half up'),
  months: z.array(CohortMonth),
});

export const CohortReport = z
  .strictObject({
    object: z.literal('cohort_report'),
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    currencies: z.array(z.strictObject({ currency: z.string(), cohorts: z.array(Cohort) })),
  })
  .meta({ id: 'CohortReport' });
export type CohortReport = z.infer<typeof CohortReport>;

export const LtvMonth = z.strictObject({
  month: z.string(),
  mrrMinor: Minor.describe('MRR at the end of the month'),
  subscribers: Count.describe('Subscribers at the end of the month'),
  arpaMinor: Minor.nullable().describe('mrrMinor ÷ subscribers, rounded half up; null without subscribers'),
  trailingCancelled: Count.describe('Subscribers cancelled in the window (those begun and ended in one month left out)'),
  trailingSubscribersAtStart: Count.describe('The subscribers at the start of each month of the window, added up'),
  trailingChurnRate: Rate.describe('trailingCancelled ÷ trailingSubscribersAtStart: the average monthly subscriber churn of the window'),
  predictedLtvMinor: Minor.nullable().describe('arpaMinor ÷ trailingChurnRate, rounded half up; null when the churn is 0 or unknown'),
});

export const LtvReport = z
  .strictObject({
    object: z.literal('ltv_report'),
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    method: z.string(),
    windowMonths: Count,
    currencies: z.array(
      z.strictObject({
        currency: z.string(),
        months: z.array(LtvMonth),
        cohorts: z.array(z.strictObject({ cohort: z.string(), size: Count, revenueToDateMinor: Minor, realisedLtvMinor: Minor })),
      }),
    ),
  })
  .meta({ id: 'LtvReport' });
export type LtvReport = z.infer<typeof LtvReport>;

export const CancellationMonth = z.strictObject({
  month: z.string(),
  cancelled: Count,
  voluntary: Count,
  involuntary: Count,
  reasons: Counts.describe('Cancellations per reason code (involuntary ones are `payment_failed`)'),
  saveOffersShown: Count.describe('Offers to stay shown in the shopper portal’s cancel flow (`subscription.save_offer_shown`)'),
  saveOffersAccepted: Count.describe('Offers to stay taken: a discount, or a skip or a pause taken as the offer'),
  saved: Count.describe('Subscriptions first saved this month'),
  savedMatured: Count.describe('Of those, the ones saved 90 days ago or more'),
  savedStillActiveAfter90Days: Count.describe('Of the matured, the ones not cancelled 90 days after the save'),
});

export const CancellationReport = z
  .strictObject({
    object: z.literal('cancellation_report'),
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    currencies: z.array(z.strictObject({ currency: z.string(), months: z.array(CancellationMonth) })),
  })
  .meta({ id: 'CancellationReport' });
export type CancellationReport = z.infer<typeof CancellationReport>;

export const DunningMonth = z.strictObject({
  month: z.string(),
  started: Count.describe('Dunnings started (first failed payment of an invoice)'),
  failedAttempts: Count.describe('Failed payments, first and retries'),
  recovered: Count.describe('Dunnings that ended paid this month'),
  endedUnpaid: Count.describe('Dunnings that ended unpaid this month'),
  recoveryRate: Rate.describe('recovered ÷ started, both counted this month'),
  resolvedRecoveryRate: Rate.describe('recovered ÷ (recovered + endedUnpaid): of the dunnings that ended this month, the share paid'),
  recoveredByAttempt: Counts.describe('Recovered, by the number of failed attempts before the payment'),
});

export const DunningReport = z
  .strictObject({
    object: z.literal('dunning_report'),
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    currencies: z.array(z.strictObject({ currency: z.string(), months: z.array(DunningMonth) })),
  })
  .meta({ id: 'DunningReport' });
export type DunningReport = z.infer<typeof DunningReport>;
