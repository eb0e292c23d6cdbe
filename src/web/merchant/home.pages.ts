import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { customerName } from '../../customers/customer.queries';
import { soldOutSkuCount } from '../../inventory/stock-item.queries';
import { getMerchant } from '../../merchants/merchant.service';
import { boxesToShipCount } from '../../orders/order.queries';
import { addLocalDays, localDateOf } from '../../shared/calendar';
import { subscriptionCountsByStatus } from '../../subscriptions/subscription.queries';
import { listSubscriptions, type SubscriptionDeps } from '../../subscriptions/subscription.service';
import { dateIn, dateTimeIn } from '../shop/portal-format';
import { localeOf, money } from '../shop/shop-view';
import { requireMerchant, signedInMerchant } from './merchant-session';

/**
 * The merchant's home (`/merchant`): today's numbers at a glance — subscribers by state, boxes to ship in the
 * coming 7 days, payments failing, SKUs sold out — each linking to where it is handled; and the billing health
 * page (`/merchant/billing`): the dunning queue, the subscriptions whose renewal payment is failing.
 */
const Cursor = z.string().max(200).optional();

export function merchantHomePages(deps: { subscriptions: SubscriptionDeps }): Router {
  const router = Router();
  const clock = deps.subscriptions.clock;

  router.get('/merchant', requireMerchant, async (_req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const merchant = await getMerchant(me.merchantId);
    const today = localDateOf(clock.now(), merchant.timezone);
    const [counts, toShip, soldOut] = await Promise.all([
      subscriptionCountsByStatus(me.merchantId),
      boxesToShipCount(me.merchantId, today, addLocalDays(today, 7)),
      soldOutSkuCount(me.merchantId),
    ]);
    res.render('merchant/home', {
      title: merchant.name,
      storefront: merchant.handle ? `/shop/${merchant.handle}` : null,
      numbers: {
        active: counts.active ?? 0,
        trialing: counts.trialing ?? 0,
        paused: counts.paused ?? 0,
        pastDue: counts.past_due ?? 0,
        waiting: counts.incomplete ?? 0,
        toShip,
        soldOut,
      },
    });
  });

  router.get('/merchant/billing', requireMerchant, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const merchant = await getMerchant(me.merchantId);
    const cursor = Cursor.safeParse(req.query.after);
    const locale = localeOf(req);
    const page = await listSubscriptions(deps.subscriptions, me.merchantId, {
      limit: 50,
      status: 'past_due',
      ...(cursor.success && cursor.data ? { startingAfter: cursor.data } : {}),
    });
    const rows = await Promise.all(
      page.data.map(async (s) => ({
        href: `/merchant/subscribers/${s.id}`,
        shopper: (await customerName(me.merchantId, s.customerId)) ?? 'A shopper',
        box: `${s.box.planName}: ${s.box.variantName}`,
        amount: s.nextCharge ? money(s.nextCharge.total.amountMinor, s.nextCharge.total.currency, locale) : null,
        since: s.dunning ? dateIn(s.dunning.since, merchant.timezone, locale) : null,
        attempts: s.dunning?.attempts ?? 0,
        lastFailure: s.dunning ? dateTimeIn(s.dunning.lastFailureAt, merchant.timezone, locale) : null,
        payLink: s.dunning?.updatePaymentUrl ?? null,
      })),
    );
    res.render('merchant/billing', {
      title: 'Billing health',
      rows,
      next: page.hasMore && page.nextCursor ? `/merchant/billing?after=${encodeURIComponent(page.nextCursor)}` : null,
      outcome: merchant.subscriptionSettings.dunningOutcome,
    });
  });

  return router;
}
