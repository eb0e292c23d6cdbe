import { newId } from '../shared/ids';
import { MerchantModel, type Merchant } from './merchant.model';
import { PlanModel, type Plan } from '../plans/plan.model';

export const DEMO_MERCHANT_EMAIL = 'demo@boxcycle.example';

type PlanSeed = Pick<Plan, 'slug' | 'name' | 'description'> & {
  variants: Array<{ key: string; name: string; sku: string }>;
  cadences: Plan['cadences'];
};

const DEMO_PLANS: PlanSeed[] = [
  {
    slug: 'single-origin-coffee',
    name: 'Single-origin coffee box',
    description: 'Two 250 g bags of freshly roasted single-origin coffee.',
    variants: [
      { key: 'whole-bean', name: 'Whole bean, 2 × 250 g', sku: 'COF-WB-500' },
      { key: 'filter', name: 'Ground for filter, 2 × 250 g', sku: 'COF-GF-500' },
      { key: 'espresso', name: 'Ground for espresso, 2 × 250 g', sku: 'COF-GE-500' },
    ],
    cadences: [
      { interval: 'week', intervalCount: 2, priceMinor: 2400, currency: 'USD' },
      { interval: 'month', intervalCount: 1, priceMinor: 2600, currency: 'USD' },
    ],
  },
  {
    slug: 'daily-vitamins',
    name: 'Daily vitamin box',
    description: 'A month of daily vitamin packs.',
    variants: [
      { key: 'essentials', name: 'Daily essentials, 30 packs', sku: 'VIT-ESS-30' },
      { key: 'active', name: 'Active lifestyle, 30 packs', sku: 'VIT-ACT-30' },
    ],
    cadences: [
      { interval: 'month', intervalCount: 1, priceMinor: 3900, currency: 'USD' },
      { interval: 'month', intervalCount: 3, priceMinor: 10500, currency: 'USD' },
    ],
  },
];

export interface DemoSeedResult {
  merchant: Merchant;
  plans: Plan[];
}

/**
 * Makes sure the demo merchant and its two boxes exist. Idempotent and safe to run from several processes
 * at once: each document is created with `$setOnInsert` on its natural key (merchant email; merchant + plan
 * slug), so a second run finds them and changes nothing.
 */
export async function seedDemoMerchant(): Promise<DemoSeedResult> {
  const merchant = await MerchantModel.findOneAndUpdate(
    { email: DEMO_MERCHANT_EMAIL },
    {
      $setOnInsert: {
        _id: newId('mer'),
        name: 'Demo Roasters & Co.',
        defaultCurrency: 'USD',
        timezone: 'America/New_York',
      },
    },
    { upsert: true, returnDocument: 'after', lean: true },
  ).orFail();

  const plans: Plan[] = [];
  for (const seed of DEMO_PLANS) {
    const plan = await PlanModel.findOneAndUpdate(
      { merchantId: merchant._id, slug: seed.slug },
      {
        $setOnInsert: {
          _id: newId('plan'),
          name: seed.name,
          description: seed.description,
          status: 'active',
          variants: seed.variants.map((variant) => ({ _id: newId('var'), name: variant.name, sku: variant.sku })),
          cadences: seed.cadences,
        },
      },
      { upsert: true, returnDocument: 'after', lean: true },
    ).orFail();
    plans.push(plan);
  }
  return { merchant, plans };
}
