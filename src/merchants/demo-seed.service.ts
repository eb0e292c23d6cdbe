import { createHash } from 'node:crypto';
import { newId } from '../shared/ids';
import { installationSecret } from '../shared/installation-secret';
import { hashPassword } from '../shared/password';
import { MerchantModel, type Merchant } from './merchant.model';
import type { Plan } from '../plans/plan.model';
import type { CreatePlanBody } from '../plans/plan.schemas';
import { ensureSeededPlan } from '../plans/plan.service';
import type { Clock } from '../shared/time';

export const DEMO_MERCHANT_EMAIL = 'demo@boxcycle.example';
/** The demo store's storefront: /shop/demo-roasters. */
export const DEMO_STORE_HANDLE = 'demo-roasters';

const DEMO_PLANS: Array<CreatePlanBody & { slug: string }> = [
  {
    slug: 'single-origin-coffee',
    name: 'Single-origin coffee box',
    description: 'Two 250 g bags of freshly roasted single-origin coffee.',
    variants: [
      { name: 'Whole bean, 2 × 250 g', sku: 'COF-WB-500', options: { grind: 'whole bean', size: '500g' } },
      { name: 'Ground for filter, 2 × 250 g', sku: 'COF-GF-500', options: { grind: 'filter', size: '500g' } },
      { name: 'Ground for espresso, 2 × 250 g', sku: 'COF-GE-500', options: { grind: 'espresso', size: '500g' } },
    ],
    cadences: [
      { interval: 'week', intervalCount: 2, priceMinor: 2400 },
      { interval: 'month', intervalCount: 1, priceMinor: 2600 },
    ],
    firstBoxDiscount: { type: 'percent', percentOff: 50 },
  },
  {
    slug: 'daily-vitamins',
    name: 'Daily vitamin box',
    description: 'A month of daily vitamin packs.',
    variants: [
      { name: 'Daily essentials, 30 packs', sku: 'VIT-ESS-30', options: { pack: 'essentials' } },
      { name: 'Active lifestyle, 30 packs', sku: 'VIT-ACT-30', options: { pack: 'active' } },
    ],
    cadences: [
      { interval: 'month', intervalCount: 1, priceMinor: 3900 },
      { interval: 'month', intervalCount: 3, priceMinor: 10500 },
    ],
    trialDays: 14,
  },
];

export interface DemoSeedResult {
  merchant: Merchant;
  plans: Plan[];
}

/**
 * Makes sure the demo merchant and its two boxes exist. Idempotent and safe to run from several processes
 * at once: each document is created with `$setOnInsert` on its natural key (merchant e-mail; merchant + plan
 * slug), so a second run finds them and changes nothing. The plans start `pending` with Stripe; the catalog
 * sync job mirrors them.
 */
/**
 * The demo store's password on an offline installation: derived from the installation's own secret, so every
 * process and restart agrees on it without storing it in clear. Never APP_SECRET itself.
 */
export async function demoPassword(appSecret: string | undefined, now: Date): Promise<string> {
  const secret = await installationSecret('demo-store', appSecret, now);
  return `demo-${createHash('sha256').update(secret).digest('base64url').slice(0, 16)}`;
}

export async function seedDemoMerchant(clock: Clock, options: { password?: string } = {}): Promise<DemoSeedResult> {
  const merchant = await MerchantModel.findOneAndUpdate(
    { email: DEMO_MERCHANT_EMAIL },
    {
      $setOnInsert: {
        _id: newId('mer'),
        name: 'Demo Roasters & Co.',
        handle: DEMO_STORE_HANDLE,
        brand: { accentColor: '#7a3e1d' },
        defaultCurrency: 'USD',
        timezone: 'America/New_York',
        createdAt: clock.now(),
        updatedAt: clock.now(),
      },
    },
    { upsert: true, returnDocument: 'after', lean: true },
  ).orFail();

  // Offline, the demo store's pages open with a password the installation prints at start (set again at each start).
  if (options.password) await MerchantModel.updateOne({ _id: merchant._id }, { $set: { passwordHash: await hashPassword(options.password) } });

  const plans: Plan[] = [];
  for (const seed of DEMO_PLANS) plans.push(await ensureSeededPlan(clock, merchant._id, merchant.defaultCurrency, seed));
  return { merchant, plans };
}
