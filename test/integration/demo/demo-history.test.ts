import mongoose from 'mongoose';
import request from 'supertest';
import { seedDemoHistory, type DemoHistoryDeps } from '../../../src/demo/demo-history.service';
import { FactModel } from '../../../src/events/fact.model';
import { createApiKey } from '../../../src/merchants/merchant.service';
import { seedDemoMerchant } from '../../../src/merchants/demo-seed.service';
import { FakeClock } from '../../../src/shared/time';
import { TEST_LINKS } from '../../helpers/facts';
import { buildTestApp } from '../../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../../helpers/test-env';

/** The counts the history leaves behind, by collection (what a second start must not change). */
async function counts(): Promise<Record<string, number>> {
  const { connection } = mongoose;
  const names = ['customers', 'subscriptions', 'box_orders', 'events', 'gift_awards', 'analytics_buckets', 'demo_histories'];
  const existing = new Set((await connection.db!.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  const result: Record<string, number> = {};
  for (const name of names) if (existing.has(name)) result[name] = await connection.db!.collection(name).countDocuments({});
  return result;
}

describe('the demo store: a made-up year made through the real services', () => {
  useTestDatabase();
  const now = '2026-12-05T12:00:00Z';
  let merchantId: string;
  let deps: DemoHistoryDeps;

  beforeAll(async () => {
    const clock = new FakeClock(now);
    const { merchant, plans } = await seedDemoMerchant(clock);
    merchantId = merchant._id;
    deps = {
      clock,
      logger: silentLogger,
      stripe: testStripe(),
      stripeMode: 'stripe-mock',
      webhookSecret: 'whsec_demo_test',
      publicUrl: TEST_LINKS.publicUrl,
      links: TEST_LINKS,
    };
    const started = performance.now();
    const outcome = await seedDemoHistory(deps, { merchantId, plans });
    // How long it takes here (about 40–50 s on 2 shared cores), for whoever reads the run.
    console.log(`demo history made in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(outcome).toMatchObject({ made: true });
  }, 480_000); // the made-up year through the real services: minutes beside the rest of the suite

  test('when the demo store is seeded again, then nothing is added', async () => {
    const before = await counts();
    expect(before.subscriptions).toBeGreaterThan(30);
    const { plans } = await seedDemoMerchant(deps.clock);
    expect(await seedDemoHistory(deps, { merchantId, plans })).toEqual({ made: false, why: 'already_made' });
    expect(await counts()).toEqual(before);
  });

  test('when Stripe is not stripe-mock, then no history is made', async () => {
    const { plans } = await seedDemoMerchant(deps.clock);
    expect(await seedDemoHistory({ ...deps, stripeMode: 'stripe-test' }, { merchantId, plans })).toEqual({ made: false, why: 'not_offline' });
  });

  test('when the history is made, then its shoppers are plainly made up and its facts span the year', async () => {
    const { connection } = mongoose;
    const customers = await connection.db!.collection('customers').find({ merchantId }).toArray();
    expect(customers.every((c) => /@example\.com$/.test(c.email as string) && /\(demo\)$/.test(c.name as string))).toBe(true);
    const types = new Set((await FactModel.find({ merchantId }, { type: 1 }).lean()).map((f) => f.type));
    for (const type of [
      'subscription.created',
      'box.paid',
      'box.shipped',
      'box.delivered',
      'box.rated',
      'subscription.paused',
      'subscription.cancelled',
      'subscription.payment_failed',
      'subscription.recovered',
      'subscription.dunning_ended',
      'gift.granted',
    ]) {
      expect([type, types.has(type as never)]).toEqual([type, true]);
    }
  });

  test('when the analytics API is asked for the demo store, then MRR is not empty over at least ten months', async () => {
    const { app } = buildTestApp({ clock: new FakeClock(now) });
    const key = await createApiKey(deps.clock, merchantId, 'test');
    const body = (
      await request(app)
        .get('/api/v1/metrics/mrr?from=2025-12&to=2026-12')
        .set({ Authorization: `Bearer ${key.secret}` })
        .expect(200)
    ).body;
    const usd = (body.currencies as Array<{ currency: string; months: Array<{ month: string; endMrrMinor: number }> }>).find((c) => c.currency === 'USD')!;
    const months = usd.months;
    expect(months.filter((m) => m.endMrrMinor > 0).length).toBeGreaterThanOrEqual(10);
  });
});
