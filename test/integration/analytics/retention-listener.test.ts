import { RetentionBucketModel, RetentionSubscriptionModel } from '../../../src/analytics/retention.model';
import { projectRetentionMetrics } from '../../../src/analytics/retention.listeners';
import type { Fact } from '../../../src/events/fact.model';
import { FakeClock } from '../../../src/shared/time';
import type { StripeGateway } from '../../../src/stripe/stripe-gateway';
import { createMerchant } from '../../factories/merchant.factory';
import { silentLogger, useTestDatabase } from '../../helpers/test-env';

describe('retention listener: several workers at once', () => {
  useTestDatabase();

  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const deps = { clock, logger: silentLogger, stripe: {} as StripeGateway };
  const factOf = (merchantId: string, subjectId: string, subscriptionId: string, type: string, data: Record<string, unknown>, seq = 1) =>
    ({
      _id: `${subjectId}:${String(seq).padStart(8, '0')}`,
      merchantId,
      type,
      subjectType: type.startsWith('box.') ? 'box' : 'subscription',
      subjectId,
      seq,
      at: clock.now(),
      actor: { kind: 'system' },
      data,
      subscriptionId,
    }) as unknown as Fact;

  test('when a new subscription and its first box’s payment are followed at the same moment, then both count, whatever the order', async () => {
    const merchant = await createMerchant({}, clock);
    const ids = Array.from({ length: 20 }, (_, i) => `sub_race${i}`);
    await Promise.all(
      ids.flatMap((id) => [
        projectRetentionMetrics.run(deps, factOf(merchant.id, id, id, 'subscription.created', { planId: 'plan_x', currency: 'USD', status: 'active' })),
        projectRetentionMetrics.run(deps, factOf(merchant.id, `ord_${id}`, id, 'box.paid', { amountPaidMinor: 2600, currency: 'USD' })),
      ]),
    );
    const docs = await RetentionSubscriptionModel.find({ merchantId: merchant.id }).lean();
    expect(docs).toHaveLength(20);
    for (const doc of docs)
      expect({ planId: doc.planId, paid: doc.paid, facts: doc.factIds.length }).toEqual({
        planId: 'plan_x',
        paid: { '2026-03': { boxes: 1, revenueMinor: 2600 } },
        facts: 2,
      });
  });

  test('when cancellations of different subscriptions on one day are followed at once, then the day counts each once', async () => {
    const merchant = await createMerchant({}, clock);
    const ids = Array.from({ length: 20 }, (_, i) => `sub_day${i}`);
    for (const id of ids)
      await projectRetentionMetrics.run(deps, factOf(merchant.id, id, id, 'subscription.created', { planId: 'plan_x', currency: 'USD', status: 'active' }));
    const cancelled = ids.map((id) => factOf(merchant.id, id, id, 'subscription.cancelled', { reason: 'moving', mode: 'now', from: 'active' }, 2));
    await Promise.all([...cancelled, ...cancelled].map((f) => projectRetentionMetrics.run(deps, f)));
    const [day] = await RetentionBucketModel.find({ merchantId: merchant.id }).lean();
    expect({ cancellations: day!.cancellations, reasons: day!.reasons }).toEqual({
      cancellations: { total: 20, voluntary: 20, involuntary: 0 },
      reasons: { moving: 20 },
    });
  });
});
