import { DemoHistoryModel } from '../../../src/demo/demo-history.model';
import { DEMO_NOTE } from '../../../src/web/merchant/demo-note';
import { FakeClock } from '../../../src/shared/time';
import { createMerchant, type TestMerchant } from '../../factories/merchant.factory';
import { pageClient } from '../../helpers/pages';
import { buildTestApp } from '../../helpers/test-app';
import { useTestDatabase } from '../../helpers/test-env';

/** The demo store's pages say that its data is made up; no other store's do. */
describe('the demo note on the merchant pages', () => {
  useTestDatabase();
  const clock = new FakeClock('2026-12-05T15:00:00Z');
  const { app } = buildTestApp({ clock });
  let demo: TestMerchant;
  let real: TestMerchant;

  async function pagesOf(who: TestMerchant): Promise<string[]> {
    const browser = pageClient(app);
    await browser.get('/merchant/sign-in');
    expect((await browser.post('/merchant/sign-in', { email: who.email, password: who.password, next: '/merchant' })).status).toBe(303);
    const pages: string[] = [];
    for (const path of ['/merchant/analytics', '/merchant/subscribers']) {
      const res = await browser.get(path);
      expect([path, res.status]).toEqual([path, 200]);
      pages.push(res.text);
    }
    return pages;
  }

  beforeAll(async () => {
    demo = await createMerchant({ name: 'Demo Roasters & Co.' }, clock);
    real = await createMerchant({ name: 'Real Roasters' }, clock);
    // What the demo history leaves (src/demo/demo-history.service.ts): its marker.
    await DemoHistoryModel.create({
      _id: `history:${demo.id}`,
      merchantId: demo.id,
      status: 'done',
      fromAt: clock.now(),
      toAt: clock.now(),
      startedAt: clock.now(),
    });
  });

  test('when the demo store opens its analytics and subscribers pages, then each says its data is made up', async () => {
    for (const html of await pagesOf(demo)) expect(html).toContain(`<p class="demo-note" role="note"><strong>${DEMO_NOTE}</strong>`);
  });

  test('when another store opens the same pages, then there is no demo note', async () => {
    for (const html of await pagesOf(real)) expect(html).not.toContain('demo-note');
  });
});
