import mongoose from 'mongoose';
import request from 'supertest';
import { buildApp } from '../../../src/app';
import { createMetrics, type Metrics } from '../../../src/ops/metrics';
import { startMetricsServer, type MetricsServer } from '../../../src/ops/metrics-server';
import { FakeClock } from '../../../src/shared/time';
import { recordCaughtMail } from '../../../src/messages/caught-mail.service';
import { createMerchant } from '../../factories/merchant.factory';
import { capturedLogger } from '../../helpers/captured-log';
import { pageClient } from '../../helpers/pages';
import { TEST_WEBHOOK_SECRET } from '../../helpers/stripe-events';
import { silentLogger, testConfig, testStripe, useTestDatabase } from '../../helpers/test-env';

const TOKEN = 'metrics-token-0123456789abcdef';

function appWith(metrics: Metrics, logger = silentLogger, mailCaught = false) {
  return buildApp({
    config: testConfig(),
    logger,
    clock: new FakeClock('2026-03-01T12:00:00Z'),
    connection: mongoose.connection,
    stripe: testStripe(),
    stripeMode: 'stripe-mock',
    webhookSecret: TEST_WEBHOOK_SECRET,
    enqueue: () => Promise.resolve(),
    mailCaught,
    metrics,
  });
}

describe('the metrics endpoint', () => {
  useTestDatabase();
  const servers: MetricsServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const serve = async (metrics: Metrics, token?: string) => {
    const server = await startMetricsServer(metrics, { port: 0, host: '127.0.0.1', token, logger: silentLogger });
    servers.push(server);
    return request(`http://127.0.0.1:${server.port}`);
  };

  test('when Prometheus scrapes the metrics port with the token, then it gets the metrics in its text format', async () => {
    const metrics = createMetrics();
    await request(appWith(metrics)).get('/api/v1/orders').expect(401);
    const scraper = await serve(metrics, TOKEN);

    const answer = await scraper.get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200);

    expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.text).toMatch(/^boxcycle_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/orders",status="401"\} 1$/m);
    expect(answer.text).toContain('# TYPE boxcycle_job_runs_total counter');
    expect(answer.text).toContain('process_cpu_user_seconds_total');
  });

  test('when a scrape comes without the token or with another, then it is refused with 401 and no metric', async () => {
    const scraper = await serve(createMetrics(), TOKEN);

    const without = await scraper.get('/metrics').expect(401);
    const wrong = await scraper
      .get('/metrics')
      .set('authorization', `Bearer ${TOKEN.replace('0', '1')}`)
      .expect(401);
    const basic = await scraper.get('/metrics').set('authorization', `Basic ${TOKEN}`).expect(401);

    for (const answer of [without, wrong, basic]) {
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(answer.text).not.toContain('boxcycle_');
    }
  });

  test('when the metrics port has no token, then a scrape needs none; other paths answer 404 and writes 405', async () => {
    const scraper = await serve(createMetrics());

    await scraper.get('/metrics').expect(200);
    await scraper.get('/').expect(404);
    await scraper.post('/metrics').expect(405);
  });

  test('when /metrics is asked of the public port, then it is not there (404), even with the token', async () => {
    const app = appWith(createMetrics());

    const answer = await request(app).get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(404);

    expect(answer.text).not.toContain('boxcycle_http_request_duration_seconds');
  });
});

describe('log lines of a request', () => {
  useTestDatabase();

  test('when a store calls the API, then the request line carries the request id and the store', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const merchant = await createMerchant({}, clock);
    const { logger, lines } = capturedLogger();
    const app = appWith(createMetrics({ defaultMetrics: false }), logger);

    await request(app).get('/api/v1/orders/ord_nothere123').set(merchant.auth).set('x-request-id', 'req-ops-1').expect(404);

    const line = lines().find((entry) => entry.msg === 'request completed');
    expect(line).toMatchObject({ reqId: 'req-ops-1', merchantId: merchant.id });
  });

  test("when a signed-in merchant opens another store's mail page, then the page's line names the store and the latency is labelled by the page's pattern", async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    const [merchant, other] = [await createMerchant({}, clock), await createMerchant({}, clock)];
    const theirs = await recordCaughtMail(clock, {
      envelopeTo: ['bo@example.com'],
      to: ['bo@example.com'],
      from: 'Shop <hello@shop.example>',
      subject: 'Their box',
      headers: [{ name: 'Subject', value: 'Their box' }],
      text: 'Their box',
      rawSize: 100,
      merchantId: other.id,
    });
    const { logger, lines } = capturedLogger();
    const metrics = createMetrics({ defaultMetrics: false });
    const browser = pageClient(appWith(metrics, logger, true));
    await browser.get('/merchant/sign-in');
    await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' });

    const page = await browser.get(`/merchant/mail/${theirs}`);

    expect(page.status).toBe(404);
    const line = lines().find((entry) => entry.msg === 'request completed' && (entry.req as { url: string }).url === `/merchant/mail/${theirs}`);
    expect(line).toMatchObject({ reqId: expect.any(String), merchantId: merchant.id });
    const scrape = await metrics.registry.metrics();
    expect(scrape).toMatch(/^boxcycle_http_request_duration_seconds_count\{method="GET",route="\/merchant\/mail\/:id",status="404"\} 1$/m);
    expect(scrape).not.toContain(theirs);
  });
});
