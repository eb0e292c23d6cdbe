import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { customerName } from '../../customers/customer.queries';
import { soldOutSkuCount } from '../../inventory/stock-item.queries';
import { getMerchant } from '../../merchants/merchant.service';
import { boxesToShipCount } from '../../orders/order.queries';
import { addLocalDays, localDateOf } from '../../shared/calendar';
import { subscriptionCountsByStatus } from '../../subscriptions/subscription.queries';
import { listSubscriptions, type SubscriptionDeps } from '../../subscriptions/subscription.service';
import type { ReconciliationRun } from '../../webhooks/reconciliation-run.model';
import { recentReconciliationRuns } from '../../webhooks/reconciliation.service';
import { dateIn, dateTimeIn } from '../shop/portal-format';
import { localeOf, money } from '../shop/shop-view';
import { requireMerchant, signedInMerchant } from './merchant-session';

/**
 * The merchant's home (`/merchant`): today's numbers at a glance — subscribers by state, boxes to ship in the
 * coming 7 days, payments failing, SKUs sold out — each linking to where it is handled; and the billing health
 * page (`/merchant/billing`): the dunning queue, the subscriptions whose renewal payment is failing.
 */
const Cursor = z.string().max(200).optional();

/** Reconciliation runs shown on billing health (the job runs every 15 minutes: about the last two hours). */
const RECENT_RUNS = 8;
/** A run still marked running after its job's lock lifetime (10 minutes) is one whose worker stopped. */
const RUN_LOCK_MS = 600_000;

/**
 * A reconciliation run in words. Its error stays in the installation's records and logs: it may name the
 * installation's own hosts, and it is not the store's to act on.
 */
export function reconciliationRunInWords(run: ReconciliationRun, now: Date): { outcome: string; status: 'ok' | 'failed' | 'running' } {
  if (run.status === 'succeeded') {
    const recovered = run.recovered ?? 0;
    const listed = run.listed ?? 0;
    return {
      status: 'ok',
      outcome: `${listed} event${listed === 1 ? '' : 's'} checked, ${recovered === 0 ? 'none' : recovered} missing${recovered > 0 ? ': recovered and processed' : ''}`,
    };
  }
  if (run.status === 'failed') {
    return {
      status: 'failed',
      outcome: /Stripe|ECONNREFUSED|ETIMEDOUT|ENOTFOUND|rate limit/i.test(run.error ?? '')
        ? 'Failed: Stripe could not be reached or refused the request. The next run tries again.'
        : 'Failed. The next run tries again.',
    };
  }
  return now.getTime() - run.startedAt.getTime() > RUN_LOCK_MS
    ? { status: 'failed', outcome: 'Stopped before it finished (its worker stopped). The next run tries again.' }
    : { status: 'running', outcome: 'Running now' };
}

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
    const now = clock.now();
    const runs = (await recentReconciliationRuns(RECENT_RUNS)).map((run) => ({
      started: dateTimeIn(run.startedAt, merchant.timezone, locale),
      finished: run.finishedAt ? dateTimeIn(run.finishedAt, merchant.timezone, locale) : null,
      ...reconciliationRunInWords(run, now),
    }));
    res.render('merchant/billing', {
      title: 'Billing health',
      rows,
      runs,
      timezone: merchant.timezone,
      next: page.hasMore && page.nextCursor ? `/merchant/billing?after=${encodeURIComponent(page.nextCursor)}` : null,
      outcome: merchant.subscriptionSettings.dunningOutcome,
    });
  });

  return router;
}
