import { createMerchant } from '../../factories/merchant.factory';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';
import { FakeClock } from '../../../src/shared/time';

describe('the merchant signs in to their pages', () => {
  useTestDatabase();

  test('when the right e-mail and password are sent from the form, then a new session opens and the store pages answer; signing out ends it', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({ name: 'Bean & <Co>' }, clock);
    const browser = pageClient(app);

    const away = await browser.get('/merchant');
    expect(away.status).toBe(303);
    expect(away.headers.location).toBe('/merchant/sign-in?next=%2Fmerchant');
    const form = await browser.get('/merchant/sign-in?next=%2Fmerchant');
    expect(form.status).toBe(200);
    expect(form.headers['cache-control']).toBe('no-store');
    expect(form.text).toContain('name="_csrf"');

    const signedIn = await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: '/merchant' });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.location).toBe('/merchant');
    const cookie = (signedIn.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('bx_m='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);

    const home = await browser.get('/merchant');
    expect(home.status).toBe(200);
    expect(home.text).toContain('Bean &amp; &lt;Co&gt;'); // escaped

    const out = await browser.post('/merchant/sign-out', {});
    expect(out.status).toBe(303);
    expect((await browser.get('/merchant')).status).toBe(303);
    // The old cookie opens nothing any more.
    const replay = await pageClient(app).agent.get('/merchant').set('cookie', cookie.split(';')[0]!).set('accept', 'text/html');
    expect(replay.status).toBe(303);
  });

  test('when the password is wrong, the form has no token, or the next page is elsewhere, then nothing opens and the page says why in words', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');

    const wrong = await browser.post('/merchant/sign-in', { email: merchant.email, password: 'not the password at all' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('The e-mail or password is not right.');
    expect(wrong.text).toContain(`value="${merchant.email}"`); // kept in the form

    const bad = await browser.post('/merchant/sign-in', { email: 'not-an-email', password: '' });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/id="email-error">[^<]+</);
    expect(bad.text).toMatch(/id="password-error">Enter your password</);

    const forged = await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password }, { csrf: null });
    expect(forged.status).toBe(403);
    expect(forged.headers['content-type']).toMatch(/text\/html/);
    const otherSite = await pageClient(app).post('/merchant/sign-in', { email: merchant.email, password: merchant.password }, { csrf: 'made-up' });
    expect(otherSite.status).toBe(403);

    const elsewhere = await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password, next: 'https://evil.example/' });
    expect(elsewhere.headers.location).toBe('/merchant');
  });

  test('when someone keeps guessing from one address, then the form answers 429 after the same budget as the API log-in', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const { app } = buildTestApp({ clock });
    const merchant = await createMerchant({}, clock);
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) statuses.push((await browser.post('/merchant/sign-in', { email: merchant.email, password: `guess number ${i}` })).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
    const right = await browser.post('/merchant/sign-in', { email: merchant.email, password: merchant.password });
    expect(right.status).toBe(429);
    expect(right.text).toContain('Too many attempts');
  });
});
