import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { getMerchant } from '../../merchants/merchant.service';
import { NotFoundError, ValidationError } from '../../shared/errors';
import type { SubscriptionSyncDeps } from '../../subscriptions/subscription.service';
import { listFailedEvents, merchantStripeEvent, replayFailedEvent, type FailedEventView } from '../../webhooks/failed-events.service';
import { readForm } from '../forms';
import { dateTimeIn } from '../shop/portal-format';
import { localeOf } from '../shop/shop-view';
import { requireMerchant, signedInMerchant } from './merchant-session';

/**
 * The store's Stripe events that failed (`/merchant/billing/events`, linked from billing health): each with
 * its last error in words and when it is tried again, newest first, and a Replay button that processes it
 * now and ends on a receipt (processed / still failing and why / was not failed).
 */
const PAGE_SIZE = 25;
const Cursor = z.string().max(200).optional();
const EventId = z.string().regex(/^evt_[A-Za-z0-9_]{1,255}$/);
const Outcome = z.enum(['processed', 'still_failing', 'processing', 'not_failed']);
const ReplayForm = z.strictObject({});

/** What went wrong, in words a merchant reads; the message itself is shown beside it. */
export function failureInWords(lastError: string | null): string {
  if (!lastError) return 'It failed without a message.';
  if (/Checkout is not recorded yet/.test(lastError)) return 'It came before the shopper’s Checkout was recorded, so its box could not be placed yet.';
  if (/lacks fields we need/.test(lastError)) return 'Stripe’s event lacks details Boxcycle needs to handle it.';
  if (/worker stopped while processing/.test(lastError)) return 'Processing was interrupted (the worker stopped).';
  if (/Stripe|ECONNREFUSED|ETIMEDOUT|rate limit/i.test(lastError)) return 'Stripe could not be reached or refused a request while handling it.';
  return 'Handling it failed.';
}

export function stripeEventPages(deps: { subscriptions: SubscriptionSyncDeps }): Router {
  const router = Router();

  router.get('/merchant/billing/events', requireMerchant, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const merchant = await getMerchant(me.merchantId);
    const locale = localeOf(req);
    const when = (at: Date) => dateTimeIn(at, merchant.timezone, locale);
    const cursor = Cursor.safeParse(req.query.after);
    const page = await listFailedEvents(me.merchantId, { limit: PAGE_SIZE, startingAfter: cursor.success ? cursor.data : undefined });
    const row = (event: FailedEventView) => ({
      id: event.id,
      type: event.type,
      received: when(event.receivedAt),
      attempts: event.attempts,
      replays: event.replays,
      failure: failureInWords(event.lastError),
      error: event.lastError,
      nextRetry: event.nextAttemptAt ? when(event.nextAttemptAt) : null,
    });
    res.render('merchant/stripe-events', {
      title: 'Failed Stripe events',
      rows: page.data.map(row),
      next: page.hasMore && page.nextCursor ? `/merchant/billing/events?after=${encodeURIComponent(page.nextCursor)}` : null,
      receipt: await receiptOf(me.merchantId, req.query.replayed, req.query.outcome),
    });
  });

  router.post('/merchant/billing/events/:id/replay', requireMerchant, async (req: Request, res: Response) => {
    const me = signedInMerchant(res);
    const id = EventId.safeParse(req.params.id);
    if (!id.success) throw new NotFoundError('There is no such Stripe event for this store.');
    // No fields but the token: anything else is not this page's form.
    const form = readForm(ReplayForm, req.body);
    if (!form.ok) throw new ValidationError([{ field: 'body', message: 'This form has fields it should not have.' }]);
    const result = await replayFailedEvent(deps.subscriptions, me.merchantId, id.data);
    res.redirect(303, `/merchant/billing/events?replayed=${encodeURIComponent(id.data)}&outcome=${result.outcome}#receipt`);
  });

  return router;
}

/** The receipt of a replay: what happened, with the event's state now (its new error when it failed again). */
async function receiptOf(merchantId: string, replayed: unknown, outcome: unknown) {
  const id = EventId.safeParse(replayed);
  const said = Outcome.safeParse(outcome);
  if (!id.success || !said.success) return null;
  const event = await merchantStripeEvent(merchantId, id.data);
  if (!event) return null;
  const name = `${event.type} (${event.id})`;
  switch (said.data) {
    case 'processed':
      return { kind: 'ok', text: `Replayed ${name}: it was processed.`, error: null };
    case 'still_failing':
      return { kind: 'error', text: `Replayed ${name}: it failed again. ${failureInWords(event.lastError)}`, error: event.lastError };
    case 'processing':
      return { kind: 'ok', text: `Replayed ${name}: a worker is processing it now.`, error: null };
    case 'not_failed':
      return {
        kind: 'ok',
        text: `${name} was not failed (it is ${event.state === 'succeeded' ? 'processed' : 'being processed'}): nothing changed.`,
        error: null,
      };
  }
}
