import type { Express } from 'express';
import request from 'supertest';
import { FakeClock } from '../../../src/shared/time';
import { startWebSession } from '../../../src/web/web-session.service';
import { createMerchant } from '../../factories/merchant.factory';
import { subscribeShopper } from '../../factories/subscription.factory';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every page route the app mounts under /merchant, with the methods it answers (Express 5's router stack). */
function merchantRoutes(app: Express): Array<{ method: 'get' | 'post'; path: string }> {
  const found: Array<{ method: 'get' | 'post'; path: string }> = [];
  const walk = (stack: Layer[] | undefined) => {
    for (const layer of stack ?? []) {
      if (layer.route && typeof layer.route.path === 'string' && /^\/merchant(\/|$)/.test(layer.route.path)) {
        // A parameter becomes an id no store has; an optional part is kept.
        const path = layer.route.path.replace(/[{}]/g, '').replace(/:(\w+)/g, 'unknown_$1');
        for (const method of ['get', 'post'] as const) if (layer.route.methods[method]) found.push({ method, path });
      }
      walk(layer.handle?.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found;
}

/** Every merchant page the app mounts (found by walking its routes): nothing for a shopper session, no form without its CSRF token. */
describe("a shopper's session on the merchant's pages", () => {
  useTestDatabase();
  const clock = new FakeClock('2026-03-02T15:30:00Z');
  const { app } = buildTestApp({ clock });

  test('when a request carries a signed-in shopper session (as the shopper cookie, or put in the merchant cookie), then every merchant page, GET or POST, answers 404 and shows nothing of the store', async () => {
    const merchant = await createMerchant({ name: 'Secret Roasters' }, clock);
    const { subscription, customerId } = await subscribeShopper(app, merchant, { variants: [{ name: 'Dark', sku: 'SEC-1' }] });
    const { token } = await startWebSession(clock, { audience: 'shopper', merchantId: merchant.id, customerId, email: 'shopper@example.com' });
    const routes = merchantRoutes(app);
    // The walk finds the whole merchant side, not a handful of pages.
    expect(routes.length).toBeGreaterThan(80);
    expect(routes).toEqual(expect.arrayContaining([{ method: 'get', path: '/merchant/subscribers' }]));

    // A form token and its cookie, as any visitor gets them: a POST is then refused for the session, not for CSRF.
    const signInPage = await request(app).get('/merchant/sign-in').set('accept', 'text/html');
    const csrfCookie = /bx_csrf=[^;]+/.exec(String(signInPage.headers['set-cookie']))![0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(signInPage.text)![1]!;

    const answers = new Map<string, number>();
    for (const cookie of [`bx_s=${token}`, `bx_m=${token}`]) {
      for (const route of [...routes, { method: 'get' as const, path: `/merchant/subscribers/${subscription.id}` }]) {
        const res = await request(app)
          [route.method](route.path)
          .set('cookie', `${csrfCookie}; ${cookie}`)
          .set('accept', 'text/html')
          .type('form')
          .send({ _csrf: csrf });
        answers.set(`${route.method.toUpperCase()} ${route.path} (${cookie.slice(0, 4)})`, res.status);
        expect(res.text).not.toContain('Secret Roasters');
        expect(res.text).not.toContain(subscription.id);
      }
    }
    expect([...answers].filter(([, status]) => status !== 404)).toEqual([]);
  });

  test('when nobody is signed in, then the merchant pages still send to sign-in, and a shopper session that ended is nobody', async () => {
    const merchant = await createMerchant({ name: 'Open Roasters' }, clock);
    const { token } = await startWebSession(clock, { audience: 'shopper', merchantId: merchant.id, customerId: 'cus_nobody', email: 'gone@example.com' });
    clock.advance(400 * 24 * 3600_000); // past the shopper session's absolute lifetime

    for (const cookie of [undefined, `bx_s=${token}`]) {
      const req = request(app).get('/merchant/subscribers').set('accept', 'text/html');
      const res = await (cookie ? req.set('cookie', cookie) : req);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/merchant/sign-in?next=%2Fmerchant%2Fsubscribers');
    }
  });

  test('when a signed-in merchant sends any merchant form with a bad or missing CSRF token, then every one is refused with 403', async () => {
    const merchant = await createMerchant({ name: 'Guarded Roasters' }, clock);
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    expect((await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' })).status).toBe(303);
    const posts = merchantRoutes(app).filter((route) => route.method === 'post');
    expect(posts.length).toBeGreaterThan(30);

    const refused = new Map<string, number>();
    for (const route of posts) {
      for (const csrf of ['forged-token', null]) refused.set(`${route.path} (${csrf ?? 'none'})`, (await browser.post(route.path, {}, { csrf })).status);
    }
    expect([...refused].filter(([, status]) => status !== 403)).toEqual([]);
  });
});
