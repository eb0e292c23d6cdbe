import { randomBytes } from 'node:crypto';
import type { CreateAddonBody } from '../../src/addons/addon.schemas';
import type { CreateCustomerBody } from '../../src/customers/customer.schemas';
import type { LoyaltyProgramBody } from '../../src/loyalty/loyalty.schemas';
import type { CreatePlanBody } from '../../src/plans/plan.schemas';

export function buildPlanInput(overrides: Partial<CreatePlanBody> = {}): CreatePlanBody {
  const tag = randomBytes(3).toString('hex');
  return {
    name: `Coffee box ${tag}`,
    description: 'Fresh beans',
    variants: [
      { name: 'Whole bean', sku: `WB-${tag}`, options: { grind: 'whole bean' } },
      { name: 'Filter', sku: `GF-${tag}`, options: { grind: 'filter' } },
    ],
    cadences: [
      { interval: 'week', intervalCount: 2, priceMinor: 2400 },
      { interval: 'month', intervalCount: 1, priceMinor: 2600 },
    ],
    ...overrides,
  };
}

export function buildAddonInput(overrides: Partial<CreateAddonBody> = {}): CreateAddonBody {
  const tag = randomBytes(3).toString('hex');
  return { name: `Mug ${tag}`, sku: `MUG-${tag}`, kind: 'one_time', priceMinor: 1200, stock: 10, ...overrides };
}

export function buildCustomerInput(overrides: Partial<CreateCustomerBody> = {}): CreateCustomerBody {
  const tag = randomBytes(3).toString('hex');
  return {
    email: `shopper-${tag}@example.com`,
    name: 'Ana Shopper',
    shippingAddress: { line1: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' },
    marketingConsent: false,
    ...overrides,
  };
}

/** A loyalty programme that only grants what offers give (no points per unit spent, no tiers). */
export function buildLoyaltyProgramInput(overrides: Partial<LoyaltyProgramBody> = {}): LoyaltyProgramBody {
  return {
    enabled: true,
    pointsPerUnit: 0,
    redemption: { points: 100, creditMinor: 1000 },
    autoApply: false,
    expiry: null,
    tierBasis: 'paid_boxes',
    tiers: [],
    ...overrides,
  };
}
