import { SubscriptionMrrModel } from '../../../src/analytics/analytics.model';
import { projectSubscriptionMetrics } from '../../../src/analytics/analytics.listeners';
import type { Fact } from '../../../src/events/fact.model';
import { FakeClock } from '../../../src/shared/time';
import type { StripeGateway } from '../../../src/stripe/stripe-gateway';
import { createMerchant } from '../../factories/merchant.factory';
import { useTestDatabase } from '../../helpers/test-env';

describe('analytics listener', () => {
  useTestDatabase();

  test('when a subscription names a price the catalog does not have, then the listener warns and counts it 0 rather than hold back the subscription’s facts', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const merchant = await createMerchant({}, clock);
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => void warnings.push(args) } as never;
    const fact = {
      _id: 'sub_x:00000001',
      merchantId: merchant.id,
      type: 'subscription.created',
      subjectType: 'subscription',
      subjectId: 'sub_x',
      seq: 1,
      at: clock.now(),
      actor: { kind: 'system' },
      data: { planId: 'plan_x', priceId: 'price_x', currency: 'USD', status: 'active' },
      customerId: 'cus_x',
    } as unknown as Fact;
    await expect(projectSubscriptionMetrics.run({ clock, logger, stripe: {} as StripeGateway }, fact)).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(await SubscriptionMrrModel.findById('sub_x').lean()).toMatchObject({ status: 'active', mrrMinor: 0, currency: 'USD', lastSeq: 1 });
  });
});
