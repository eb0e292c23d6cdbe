import mongoose from 'mongoose';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { FakeClock } from '../../src/shared/time';
import { createMerchant } from '../factories/merchant.factory';
import { silentLogger, testConfig, testStripe, useTestDatabase } from '../helpers/test-env';

/** The app as deployed with `TRUST_PROXY` (unset: the default). */
function appWith(trustProxy?: string) {
  return buildApp({
    config: testConfig(trustProxy === undefined ? {} : { TRUST_PROXY: trustProxy }),
    logger: silentLogger,
    clock: new FakeClock('2026-03-01T12:00:00Z'),
    connection: mongoose.connection,
    stripe: testStripe(),
    stripeMode: 'stripe-mock',
  });
}

/** The client IP Express derives for a request from `remote` carrying `X-Forwarded-For: forwarded`. */
function clientIp(app: ReturnType<typeof appWith>, remote: string, forwarded: string): string | undefined {
  const socket = { remoteAddress: remote };
  const req = Object.create(app.request as object, {
    app: { value: app },
    socket: { value: socket },
    connection: { value: socket },
    headers: { value: { 'x-forwarded-for': forwarded } },
  }) as { ip?: string };
  return req.ip;
}

describe('TRUST_PROXY', () => {
  useTestDatabase();

  test('when it is not set, then X-Forwarded-For is ignored and the client is the peer', () => {
    expect(clientIp(appWith(), '10.0.0.2', '203.0.113.9')).toBe('10.0.0.2');
    expect(clientIp(appWith(), '127.0.0.1', '203.0.113.9')).toBe('127.0.0.1');
  });

  test('when it names the proxy, then X-Forwarded-For is honoured from that proxy only', () => {
    const app = appWith('10.0.0.0/8');
    expect(clientIp(app, '10.0.0.2', '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    expect(clientIp(app, '192.0.2.50', '203.0.113.9')).toBe('192.0.2.50');
  });

  test('when it is a hop count, then that many proxies are skipped', () => {
    expect(clientIp(appWith('1'), '10.0.0.2', '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    expect(clientIp(appWith('2'), '10.0.0.2', '198.51.100.1, 203.0.113.9')).toBe('198.51.100.1');
  });

  const logIns = async (app: ReturnType<typeof appWith>, email: string, count: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const res = await request(app)
        .post('/api/v1/merchants/login')
        .set('x-forwarded-for', `203.0.113.${i + 1}`)
        .send({ email, password: 'wrong password, wrong' });
      statuses.push(res.status);
    }
    return statuses;
  };

  test('when it is not set, then a client cannot dodge the log-in throttle by changing X-Forwarded-For', async () => {
    const merchant = await createMerchant();
    const statuses = await logIns(appWith(), merchant.email, 11);
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
  });

  test('when the proxy in front is trusted, then each forwarded client is throttled on its own', async () => {
    const merchant = await createMerchant();
    const statuses = await logIns(appWith('loopback'), merchant.email, 11);
    expect(statuses.every((status) => status === 401)).toBe(true);
  });
});
