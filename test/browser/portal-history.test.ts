import { actors } from '../../src/events/fact-types';
import { evaluateTier, loyaltyProgramOf, putLoyaltyProgram } from '../../src/loyalty/loyalty.service';
import { BoxOrderModel } from '../../src/orders/box-order.model';
import { moveOrder } from '../../src/orders/order.service';
import { createPerk } from '../../src/perks/perk.service';
import { saveReferralProgram } from '../../src/referrals/referral.service';
import { FakeClock } from '../../src/shared/time';
import type { SignInMailer } from '../../src/web/shop/sign-in.pages';
import { checkAccessibility, DESKTOP, PHONE, screenshot, startBrowser, type BrowserRun } from '../helpers/browser';
import { factsAbout } from '../helpers/facts';
import { DEMO_HANDLE, demoStore, subscribeOnStorefront } from '../helpers/portal';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, useTestDatabase } from '../helpers/test-env';

jest.setTimeout(180_000);

/**
 * A subscriber signs in from the e-mailed link and goes through their subscription's history in Chromium: the
 * orders (rating the delivered box), the rewards (redeeming points; the referral link's copy button) and the
 * activity. Each page is clean for axe at phone and desktop widths and kept as a screenshot.
 */
describe("a subscriber's orders, rewards and activity, in Chromium", () => {
  useTestDatabase();
  let run: BrowserRun;
  const clock = new FakeClock('2026-05-04T14:00:00Z');
  const sent: Array<{ to: string; link: string }> = [];
  const sendSignInMail: SignInMailer = async ({ mail, link }) => {
    sent.push({ to: mail.email, link });
  };
  const testApp = buildTestApp({ clock, sendSignInMail });
  const base = `/shop/${DEMO_HANDLE}`;
  let subscriptionId: string;
  let orderId: string;

  beforeAll(async () => {
    run = await startBrowser(testApp.app);
    const { merchant, plans } = await demoStore(clock);
    await putLoyaltyProgram(clock, merchant._id, {
      enabled: true,
      pointsPerUnit: 10,
      redemption: { points: 50, creditMinor: 250 },
      autoApply: false,
      expiry: null,
      tierBasis: 'paid_boxes',
      tiers: [
        { key: 'silver', name: 'Silver', threshold: 1, earnMultiplierPercent: 150 },
        { key: 'gold', name: 'Gold', threshold: 4, earnMultiplierPercent: 200 },
      ],
    });
    await saveReferralProgram(clock, merchant._id, {
      enabled: true,
      welcomeOffer: { type: 'percent', percentOff: 20 },
      referrerReward: { type: 'points', points: 500 },
      review: { maxReferralsPer30Days: 10 },
    });
    await createPerk(clock, merchant._id, {
      name: 'Free shipping for regulars',
      description: 'From your fourth box, shipping is on us.',
      eligibility: { minPaidBoxes: 3 },
      benefit: { kind: 'free_shipping' },
    });
    subscriptionId = (await subscribeOnStorefront(testApp, { email: 'ana@example.com', name: 'Ana Lopez' }, plans[0]!._id)).subscriptionId;
    const order = (await BoxOrderModel.findOne({ subscriptionId }).lean())!;
    orderId = order._id;
    await evaluateTier({ clock, logger: silentLogger }, (await loyaltyProgramOf(merchant._id))!, order.customerId);
    // The store ships the box with its tracking, and it arrives.
    clock.advance(2 * 86_400_000);
    await moveOrder({ clock, actor: actors.merchant() }, merchant._id, orderId, 'shipped', {
      shipment: {
        carrier: 'USPS',
        trackingNumber: '9400 1000 0000',
        trackingUrl: 'https://tools.usps.com/go/TrackConfirmAction?tLabels=940010000000',
        shippedAt: clock.now(),
      },
    });
    clock.advance(2 * 86_400_000);
    await moveOrder({ clock, actor: actors.merchant() }, merchant._id, orderId, 'delivered');
  });
  afterAll(async () => run?.close());

  test('when the subscriber signs in, rates the delivered box, redeems points and reads the activity, then each page works and is clean for axe', async () => {
    for (const viewport of [PHONE, DESKTOP]) {
      const first = viewport === PHONE;
      const { page, problems, context } = await run.newVisitor(viewport);
      const orders = `${base}/subscriptions/${subscriptionId}/orders`;

      // Signed out: the sign-in page, then the e-mailed link brings them back to their orders.
      await page.goto(orders);
      expect(page.url()).toContain(`${base}/sign-in?next=`);
      await page.getByLabel('The e-mail you subscribed with').fill('ana@example.com');
      await page.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
      await page.waitForURL('**/sign-in/code**');
      const link = new URL(sent.filter((m) => m.to === 'ana@example.com').at(-1)!.link);
      await page.goto(link.pathname + link.search);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`**${orders}`);

      // Orders: the delivered box, its tracking and contents; rate it.
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Your boxes');
      expect(await page.getByText('Delivered', { exact: true }).count()).toBeGreaterThan(0);
      expect(await page.getByRole('link', { name: /Track with USPS/ }).getAttribute('href')).toBe(
        'https://tools.usps.com/go/TrackConfirmAction?tLabels=940010000000',
      );
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'portal-history-orders');
      if (first) {
        await page.getByRole('button', { name: 'Send my rating' }).click();
        await page.getByRole('alert').or(page.locator('.field-error')).first().waitFor();
        expect(await page.locator('.field-error').textContent()).toBe('Choose from 1 to 5 stars');
        expect(await checkAccessibility(page)).toEqual([]);
        await screenshot(page, 'portal-history-orders-refused');
        await page.getByRole('radio', { name: '4 out of 5' }).check();
        await page.getByLabel('A comment for the store (optional)').fill('Lovely beans, a little too dark for me.');
        await page.getByRole('button', { name: 'Send my rating' }).click();
        await page.getByRole('status').waitFor();
        expect(await page.getByRole('status').textContent()).toContain('Thank you for rating your box of Monday, May 4, 2026.');
      }
      expect(await page.locator('p.rating').textContent()).toBe('You rated it 4/5: “Lovely beans, a little too dark for me.”');
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'portal-history-orders-rated');

      // Rewards: points, tier, perks, referral; the copy button shows with JavaScript; redeem.
      await page.getByRole('navigation', { name: 'This subscription' }).getByRole('link', { name: 'Rewards' }).click();
      await page.waitForURL('**/rewards');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Your rewards');
      expect(await page.getByRole('button', { name: 'Copy link' }).isVisible()).toBe(true);
      expect(await page.getByLabel('Your link to share').inputValue()).toMatch(new RegExp(`/shop/${DEMO_HANDLE}\\?ref=[A-Z2-9]{8}$`));
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'portal-history-rewards');
      if (first) {
        clock.advance(60_000);
        await page.getByLabel('Turn points into credit').selectOption('100');
        await page.getByRole('button', { name: 'Redeem' }).click();
        await page.getByRole('status').first().waitFor();
        expect(await page.locator('#points [role="status"]').textContent()).toBe('Done: 100 points were turned into $5.00 of credit for the coming boxes.');
        expect(await checkAccessibility(page)).toEqual([]);
        await screenshot(page, 'portal-history-rewards-redeemed');
      }

      // Activity: who did what, when.
      await page.getByRole('navigation', { name: 'This subscription' }).getByRole('link', { name: 'Activity' }).click();
      await page.waitForURL('**/activity');
      expect(await page.locator('ol.timeline li').first().textContent()).toMatch(/You\s+100 points were turned into \$5\.00 of credit/);
      expect(await page.getByText('Your box of May 4, 2026 was delivered.').count()).toBe(1);
      expect(await checkAccessibility(page)).toEqual([]);
      await screenshot(page, 'portal-history-activity');

      expect(problems).toEqual([]);
      await context.close();
    }
    expect((await factsAbout({ subjectId: orderId })).filter((f) => f.type === 'box.rated').map((f) => [f.actor.kind, f.data.score])).toEqual([['shopper', 4]]);
  });
});
