import type { Plan } from '../plans/plan.model';
import { findPlan } from '../plans/plan.queries';
import type { BoxSelection, Subscription } from '../subscriptions/subscription.model';

/** What a subscription's box is, in the words and terms its messages give: plan, variant, price, how often. */
export interface BoxTerms {
  planName: string;
  variantName: string;
  price: { amountMinor: number; currency: string };
  cadence: { interval: 'week' | 'month'; intervalCount: number };
}

export function termsOf(plan: Plan | undefined, box: BoxSelection): BoxTerms | undefined {
  const variant = plan?.variants.find((v) => v._id === box.variantId);
  const cadence = plan?.cadences.find((c) => c.key === box.cadenceKey);
  const price = plan?.prices.find((p) => p._id === box.priceId);
  if (!plan || !variant || !cadence || !price) return undefined;
  return {
    planName: plan.name,
    variantName: variant.name,
    price: { amountMinor: price.amountMinor, currency: price.currency },
    cadence: { interval: cadence.interval, intervalCount: cadence.intervalCount },
  };
}

/** What a subscription's box is, in words and terms (undefined when its plan part is gone). */
export async function boxTermsOf(subscription: Pick<Subscription, 'merchantId' | 'box'>): Promise<BoxTerms | undefined> {
  return termsOf(await findPlan(subscription.merchantId, subscription.box.planId), subscription.box);
}
