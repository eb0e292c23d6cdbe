import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { factsAbout, followFacts } from '../../helpers/facts';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

const PATHS = ['cohorts', 'ltv', 'cancellations', 'dunning'];

describe('GET /api/v1/metrics/cohorts|ltv|cancellations|dunning: the query', () => {
  useTestDatabase();

  // 03:00 UTC on March 1st is still February 28th in New York.
  const clock = new FakeClock('2026-03-01T03:00:00Z');
  const { app } = buildTestApp({ clock });

  test.each(PATHS)('when %s is read with no range, then it is the 12 months to this month in the store’s time zone', async (path) => {
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const res = await request(app).get(`/api/v1/metrics/${path}`).set(merchant.auth).expect(200);
    expect(res.body).toMatchObject({ timezone: 'America/New_York', from: '2025-03', to: '2026-02', currencies: [] });
  });

  test.each([
    ['an unknown field', 'from=2026-01&bogus=1', 'query.bogus'],
    ['a month that does not exist', 'from=2026-13', 'query.from'],
    ['a range that ends before it starts', 'from=2026-03&to=2026-01', 'query.from'],
    ['a range longer than 36 months', 'from=2020-01&to=2026-01', 'query.from'],
    ['a currency in lower case', 'currency=usd', 'query.currency'],
    ['a plan that is not a plan id', 'plan=sub_123', 'query.plan'],
    ['an unknown format', 'format=xml', 'query.format'],
  ])('when the query has %s, then it answers 400 invalid_request naming the field', async (_what, query, field) => {
    const merchant = await createMerchant({}, clock);
    for (const path of PATHS) {
      const res = await request(app).get(`/api/v1/metrics/${path}?${query}`).set(merchant.auth).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
  });

  test('when no key is sent, then it answers 401', async () => {
    for (const path of PATHS) await request(app).get(`/api/v1/metrics/${path}`).expect(401);
  });

  test('when a store with no facts asks for CSV, then it gets the header row of a CSV with no rows', async () => {
    const merchant = await createMerchant({}, clock);
    const res = await request(app).get('/api/v1/metrics/dunning?format=csv').set(merchant.auth).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.text).toBe('currency,month\r\n');
  });
});

describe('GET /api/v1/metrics/cancellations: save offers taken through the API', () => {
  useTestDatabase();

  test('when a pause and a discount are taken as save offers and a plain skip is made, then two offers are accepted and two subscriptions saved', async () => {
    const clock = new FakeClock('2026-03-02T15:30:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ timezone: 'America/New_York' }, clock);
    const accept = async (id: string, body: Record<string, unknown>) =>
      request(app).post(`/api/v1/subscriptions/${id}/save-offers/accept`).set(merchant.auth).send(body).expect(200);
    const first = (await subscribeShopper(app, merchant)).subscription;
    const second = (await subscribeShopper(app, merchant)).subscription;
    const third = (await subscribeShopper(app, merchant)).subscription;
    await accept(first.id, { type: 'pause', cycles: 1 });
    await accept(second.id, { type: 'discount' });
    await request(app).post(`/api/v1/subscriptions/${third.id}/skip`).set(merchant.auth).send({}).expect(200);
    await followFacts(clock);

    // The pause says it was the offer; the plain skip does not.
    expect((await factsAbout({ subjectId: first.id })).find((f) => f.type === 'subscription.paused')!.data).toMatchObject({ saveOffer: 'pause' });
    expect((await factsAbout({ subjectId: third.id })).find((f) => f.type === 'subscription.skipped')!.data).not.toHaveProperty('saveOffer');
    const report = (await request(app).get('/api/v1/metrics/cancellations?from=2026-03&to=2026-03').set(merchant.auth).expect(200)).body;
    expect(report.currencies).toEqual([
      {
        currency: 'USD',
        months: [
          {
            month: '2026-03',
            cancelled: 0,
            voluntary: 0,
            involuntary: 0,
            reasons: {},
            saveOffersShown: 0, // offers listed through the API are not known to have been shown
            saveOffersAccepted: 2,
            saved: 2,
            savedMatured: 0,
            savedStillActiveAfter90Days: 0,
          },
        ],
      },
    ]);
  });
});
