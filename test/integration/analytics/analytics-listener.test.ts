import { MetricBucketModel, SubscriptionMrrModel } from '../../../src/analytics/analytics.model';
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

describe('analytics: a returning shopper', () => {
  useTestDatabase();

  const logger = { warn: () => undefined } as never;
  const deps = (clock: FakeClock) => ({ clock, logger, stripe: {} as StripeGateway });
  const factOf = (merchantId: string, subjectId: string, seq: number, type: string, at: string, data: Record<string, unknown> = {}) =>
    ({
      _id: `${subjectId}:${String(seq).padStart(8, '0')}`,
      merchantId,
      type,
      subjectType: 'subscription',
      subjectId,
      seq,
      at: new Date(at),
      actor: { kind: 'system' },
      data,
      customerId: 'cus_returning',
    }) as unknown as Fact;

  test.each([
    { what: 'a subscriber who cancelled', firstStatus: 'active', reactivated: 1, counted: 'a reactivation' },
    { what: 'only an abandoned Checkout', firstStatus: 'incomplete', reactivated: 0, counted: 'new, not a reactivation' },
  ])('when a shopper with $what subscribes again, then the new subscriber is $counted', async ({ firstStatus, reactivated }) => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const merchant = await createMerchant({}, clock);
    const created = { planId: 'plan_x', priceId: 'price_x', currency: 'USD' };
    const first = `sub_first_${firstStatus}`;
    const second = `sub_second_${firstStatus}`;
    await projectSubscriptionMetrics.run(
      deps(clock),
      factOf(merchant.id, first, 1, 'subscription.created', '2026-03-02T15:30:00Z', { ...created, status: firstStatus }),
    );
    await projectSubscriptionMetrics.run(deps(clock), factOf(merchant.id, first, 2, 'subscription.cancelled', '2026-03-03T15:30:00Z', { reason: 'other' }));
    await projectSubscriptionMetrics.run(
      deps(clock),
      factOf(merchant.id, second, 1, 'subscription.created', '2026-03-04T15:30:00Z', { ...created, status: 'trialing' }),
    );
    const buckets = await MetricBucketModel.find({ merchantId: merchant.id, day: '2026-03-04' }).lean();
    expect(buckets.map((b) => [b.counts.new, b.counts.reactivated])).toEqual([[1, reactivated]]);
  });
});
