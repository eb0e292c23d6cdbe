import request from 'supertest';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildCustomerInput, buildPlanInput } from '../factories/catalog.factory';
import type { TestMerchant } from '../factories/merchant.factory';
import { followFacts } from './facts';
import type { TestApp } from './test-app';
import { testStripe } from './test-env';

/**
 * A small store history for the analytics pages, driven through the real API and the fact listeners on the
 * fake clock (as test/integration/analytics/metrics-fixture.test.ts does). The store should be in New York.
 *
 *   2026-01-05 S1 plan A (USD 26.00 a month)  +2600 new
 *   2026-01-07 S2 plan B (USD 40.00 a month)  +4000 new
 *   2026-01-10 S3 plan E (EUR 30.00 a month)  +3000 new €
 *   2026-02-03 S1 swaps A → B                 +1400 expansion
 *   2026-02-15 S4 plan A                      +2600 new
 *   2026-03-10 S2 cancelled (voluntary)       −4000 churn
 *   2026-03-12 S5 plan A                      +2600 new
 *   2026-04-02 S4 paused                      −2600 paused
 * USD MRR at the end of January 6600, February 10600, March 9200, April 6600; EUR 3000 throughout.
 * The clock is left on 2026-04-20.
 */
export async function driveAnalyticsHistory(testApp: TestApp, merchant: TestMerchant) {
  const api = () => request(testApp.app);
  const gateway = createStripeGateway(testStripe());
  const at = async (iso: string) => testApp.clock.set(iso);
  const follow = () => followFacts(testApp.clock, gateway);
  const plan = async (input: Parameters<typeof buildPlanInput>[0]) => {
    const body = (await api().post('/api/v1/plans').set(merchant.auth).send(buildPlanInput(input)).expect(201)).body;
    return { id: body.id as string, variantId: body.variants[0].id as string };
  };
  const subs: Record<string, string> = {};
  const subscribe = async (name: string, p: { id: string; variantId: string }) => {
    const customer = (await api().post('/api/v1/customers').set(merchant.auth).send(buildCustomerInput()).expect(201)).body.id;
    const res = await api()
      .post('/api/v1/subscriptions')
      .set(merchant.auth)
      .send({ customerId: customer, planId: p.id, variantId: p.variantId, cadence: 'month-1', paymentMethodId: 'pm_card_visa' });
    if (res.status !== 201) throw new Error(`subscribe ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    subs[name] = res.body.id;
    await follow();
  };
  const post = async (path: string, body: Record<string, unknown> = {}) => {
    const res = await api().post(`/api/v1${path}`).set(merchant.auth).send(body);
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    await follow();
  };

  await at('2026-01-02T15:00:00Z');
  const plans = {
    A: await plan({ name: 'Coffee box' }),
    B: await plan({ name: 'Big box', cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 4000 }] }),
    E: await plan({ name: 'Boîte', currency: 'EUR', cadences: [{ interval: 'month', intervalCount: 1, priceMinor: 3000 }] }),
  };
  await at('2026-01-05T15:00:00Z');
  await subscribe('S1', plans.A);
  await at('2026-01-07T15:00:00Z');
  await subscribe('S2', plans.B);
  await at('2026-01-10T15:00:00Z');
  await subscribe('S3', plans.E);
  await at('2026-02-03T15:00:00Z');
  await post(`/subscriptions/${subs.S1}/swap`, { planId: plans.B.id, variantId: plans.B.variantId });
  await at('2026-02-15T15:00:00Z');
  await subscribe('S4', plans.A);
  await at('2026-03-10T15:00:00Z');
  await post(`/subscriptions/${subs.S2}/cancel`, { mode: 'now', reason: 'too_expensive' });
  await at('2026-03-12T15:00:00Z');
  await subscribe('S5', plans.A);
  await at('2026-04-02T15:00:00Z');
  await post(`/subscriptions/${subs.S4}/pause`, { cycles: 1 });
  await at('2026-04-20T15:00:00Z');
  await follow();
  return { plans, subs };
}
