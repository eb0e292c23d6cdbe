import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { OptionalCategory } from './message-preference.model';
import { readUnsubscribeLink, resubscribeByLink, unsubscribeByLink, type MessageLinkDeps, type UnsubscribeLink } from './unsubscribe.service';

const CATEGORY_LABELS: Record<OptionalCategory, string> = { reminder: 'reminders', marketing: 'offers and news' };

/** The query of every unsubscribe URL: the signed token, nothing else. */
const LinkQuery = z.strictObject({ token: z.string().min(1).max(2000) });
/**
 * The body of a POST: RFC 8058's one-click `List-Unsubscribe=One-Click` (a mail client may also send it as
 * multipart, or send nothing we can read: the signed token alone says what to do), and `via=page` from the
 * page's button.
 */
const UnsubscribeBody = z.strictObject({ 'List-Unsubscribe': z.literal('One-Click').optional(), via: z.literal('page').optional() });

type PageState = 'confirm' | 'unsubscribed' | 'resubscribed' | 'expired' | 'invalid';

const TITLES: Record<PageState, string> = {
  confirm: 'Unsubscribe',
  unsubscribed: 'Unsubscribed',
  resubscribed: 'Subscribed again',
  expired: 'Link expired',
  invalid: 'Link not valid',
};

function render(res: Response, state: PageState, link?: Extract<UnsubscribeLink, { ok: true }>, token?: string): void {
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  res
    .status(state === 'expired' || state === 'invalid' ? 400 : 200)
    .set('cache-control', 'no-store')
    .set('referrer-policy', 'no-referrer')
    .render('messages/unsubscribe', {
      title: TITLES[state],
      state,
      merchantName: link?.merchantName ?? '',
      categoryLabel: link ? CATEGORY_LABELS[link.target.category] : '',
      unsubscribeAction: `/m/unsubscribe${query}`,
      resubscribeAction: `/m/resubscribe${query}`,
    });
}

/**
 * `/m/unsubscribe?token=…` — where an unsubscribe link lands. `GET` shows a page with one button (mail
 * scanners open every link, so opening it changes nothing); `POST` unsubscribes: the mail client's one-click
 * (RFC 8058: answered 200, never a redirect) or the page's button, whose answer is a receipt with an undo
 * (`POST /m/resubscribe`). The signed, single-purpose token is what authorizes the change (no session, no
 * CSRF cookie: RFC 8058 forbids the client from sending context). A bad or expired token answers a 400 page.
 * Mounted before the JSON parser: it reads form bodies with its own small parser.
 */
export function unsubscribeRoutes(deps: MessageLinkDeps): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 10 });

  router.get('/m/unsubscribe', async (req, res) => {
    const query = LinkQuery.safeParse(req.query);
    if (!query.success) return render(res, 'invalid');
    const link = await readUnsubscribeLink(deps, query.data.token);
    if (!link.ok) return render(res, link.reason);
    render(res, 'confirm', link, query.data.token);
  });

  router.post('/m/unsubscribe', form, async (req, res) => {
    const query = LinkQuery.safeParse(req.query);
    const body = UnsubscribeBody.safeParse((req.body as unknown) ?? {});
    if (!query.success || !body.success) return render(res, 'invalid');
    const link = await unsubscribeByLink(deps, query.data.token, body.data.via === 'page' ? 'page' : 'one_click');
    if (!link.ok) return render(res, link.reason);
    render(res, 'unsubscribed', link, query.data.token);
  });

  router.post('/m/resubscribe', form, async (req, res) => {
    const query = LinkQuery.safeParse(req.query);
    const body = z.strictObject({}).safeParse((req.body as unknown) ?? {});
    if (!query.success || !body.success) return render(res, 'invalid');
    const link = await resubscribeByLink(deps, query.data.token);
    if (!link.ok) return render(res, link.reason);
    render(res, 'resubscribed', link);
  });

  return router;
}
