import { DEMO_MERCHANT_EMAIL, seedDemoMerchant } from '../../../src/merchants/demo-seed.service';
import { MerchantModel } from '../../../src/merchants/merchant.model';
import { PlanModel } from '../../../src/plans/plan.model';
import { FakeClock } from '../../../src/shared/time';
import { useTestDatabase } from '../../helpers/test-env';

describe('seedDemoMerchant', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-02-01T00:00:00Z');

  test('when it runs, then the demo merchant has a coffee box and a vitamin box with variants and prices', async () => {
    const { merchant, plans } = await seedDemoMerchant(clock);
    expect(merchant).toMatchObject({ email: DEMO_MERCHANT_EMAIL, defaultCurrency: 'USD', timezone: 'America/New_York' });
    expect(merchant._id).toMatch(/^mer_[0-9a-z]{20}$/);
    expect(plans.map((plan) => plan.slug)).toEqual(['single-origin-coffee', 'daily-vitamins']);
    for (const plan of plans) {
      expect(plan.merchantId).toBe(merchant._id);
      expect(plan.variants.length).toBeGreaterThan(1);
      for (const cadence of plan.cadences) {
        const price = plan.prices.find((p) => p._id === cadence.currentPriceId);
        expect(Number.isSafeInteger(price?.amountMinor)).toBe(true);
      }
      expect(plan.stripe.state).toBe('pending');
    }
  });

  test('when it runs again, and from several processes at once, then nothing is duplicated or changed', async () => {
    const first = await seedDemoMerchant(clock);
    const again = await Promise.all([seedDemoMerchant(clock), seedDemoMerchant(clock), seedDemoMerchant(clock)]);
    for (const result of again) {
      expect(result.merchant._id).toBe(first.merchant._id);
      expect(result.plans.map((plan) => plan._id)).toEqual(first.plans.map((plan) => plan._id));
    }
    expect(await MerchantModel.countDocuments({ email: DEMO_MERCHANT_EMAIL })).toBe(1);
    expect(await PlanModel.countDocuments({ merchantId: first.merchant._id })).toBe(2);
  });
});
