import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant } from '../../factories/merchant.factory';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

describe('GET /api/v1/metrics/*: the query', () => {
  useTestDatabase();

  // 03:00 UTC on March 1st is still February 28th in New York.
  const clock = new FakeClock('2026-03-01T03:00:00Z');
  const { app } = buildTestApp({ clock });

  test.each(['mrr', 'subscribers', 'churn'])('when %s is read with no range, then it is the 12 months to this month in the store’s time zone', async (path) => {
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const res = await request(app).get(`/api/v1/metrics/${path}`).set(merchant.auth).expect(200);
    expect(res.body).toMatchObject({ timezone: 'America/New_York', from: '2025-03', to: '2026-02', currencies: [] });
  });

  test.each([
    ['an unknown field', 'from=2026-01&bogus=1', 'query.bogus'],
    ['a month that does not exist', 'from=2026-13', 'query.from'],
    ['a day instead of a month', 'to=2026-01-31', 'query.to'],
    ['a range that ends before it starts', 'from=2026-03&to=2026-01', 'query.from'],
    ['a range longer than 36 months', 'from=2020-01&to=2026-01', 'query.from'],
    ['a currency in lower case', 'currency=usd', 'query.currency'],
    ['a plan that is not a plan id', 'plan=sub_123', 'query.plan'],
    ['an unknown format', 'format=xml', 'query.format'],
  ])('when the query has %s, then it answers 400 invalid_request naming the field', async (_what, query, field) => {
    const merchant = await createMerchant({}, clock);
    for (const path of ['mrr', 'subscribers', 'churn']) {
      const res = await request(app).get(`/api/v1/metrics/${path}?${query}`).set(merchant.auth).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.type).toBe('/problems/invalid_request');
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
  });

  test('when no key is sent, then it answers 401', async () => {
    await request(app).get('/api/v1/metrics/mrr').expect(401);
  });

  test('when a store with no subscribers asks for CSV, then it gets the header row alone', async () => {
    const merchant = await createMerchant({}, clock);
    const res = await request(app).get('/api/v1/metrics/subscribers?from=2026-01&to=2026-02&format=csv').set(merchant.auth).expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.text).toBe('currency,month\r\n');
  });
});
