import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { MerchantProfile } from '../../merchants/merchant.queries';
import { AppError, RateLimitedError } from '../../shared/errors';
import { consumeRateLimit } from '../../shared/http/rate-limit';
import { Email } from '../../shared/schemas';
import type { Clock } from '../../shared/time';
import {
  requestShopperSignIn,
  signInLinkIsOpen,
  signInWithCode,
  signInWithLink,
  type SignedInShopper,
  type SignInMail,
} from '../../shoppers/shopper-sign-in.service';
import type { CookieFlags } from '../cookies';
import { localPath, readForm, type FieldErrors } from '../forms';
import { storeAt } from './portal-access';
import { brandOf } from './shop-view';
import { shopperAt, signInShopperBrowser, signOutShopperBrowser, signOutShopperEverywhere } from './shopper-session';

/** Sends the sign-in e-mail (the messages domain renders and delivers it). */
export type SignInMailer = (input: { store: MerchantProfile & { handle: string }; requestId: string; mail: SignInMail; link: string }) => Promise<void>;

export interface ShopperSignInDeps {
  clock: Clock;
  cookies: CookieFlags;
  publicUrl: string;
  sendSignInMail: SignInMailer;
}

const EmailForm = z.strictObject({ email: Email, next: z.string().max(500).optional() });
const CodeForm = z.strictObject({
  request: z.string().regex(/^ssi_[0-9a-z]{20}$/, { error: 'Ask for a new e-mail' }),
  code: z
    .string()
    .transform((value) => value.replace(/\s/g, ''))
    .pipe(z.string().regex(/^\d{6}$/, { error: 'Enter the 6 digits from the e-mail' })),
  next: z.string().max(500).optional(),
});
const LinkForm = z.strictObject({ next: z.string().max(500).optional() });

const clientIp = (req: Request): string => req.ip ?? 'unknown';

/**
 * Signing in without a password, at one store: the shopper types their e-mail; the e-mail brings a link (valid
 * 15 minutes, once) and a 6-digit code for when the link opens on another device. Opening the link signs in
 * nobody (mail scanners open links): its page has the button. Asking and typing codes are rate limited.
 */
export function shopperSignInPages(deps: ShopperSignInDeps): Router {
  const router = Router();
  const { clock } = deps;

  const account = (store: MerchantProfile) => `/shop/${store.handle}/account`;
  const nextOf = (store: MerchantProfile, value: unknown) => localPath(value, account(store), `/shop/${store.handle}/`);

  function showEmail(
    res: Response,
    status: number,
    store: MerchantProfile,
    model: { email?: string; next: string; errors?: FieldErrors; message?: string; notice?: string | null },
  ) {
    res.status(status).render('shop/sign-in', { title: 'Sign in', brand: brandOf(store), email: '', errors: {}, message: null, notice: null, ...model });
  }
  function showCode(res: Response, status: number, store: MerchantProfile, model: { request: string; next: string; errors?: FieldErrors; message?: string }) {
    res.status(status).render('shop/sign-in-code', { title: 'Enter your code', brand: brandOf(store), errors: {}, message: null, ...model });
  }
  async function signedIn(req: Request, res: Response, store: MerchantProfile, who: SignedInShopper, next: string) {
    await signInShopperBrowser(clock, deps.cookies, req, res, store.handle!, who);
    res.redirect(303, next);
  }
  const rateLimited = (res: Response, error: RateLimitedError) => {
    res.set('retry-after', String(error.retryAfterSeconds));
    return `Too many attempts. Try again in ${Math.ceil(error.retryAfterSeconds / 60)} minutes.`;
  };

  router.get('/shop/:handle/sign-in', async (req, res) => {
    const store = await storeAt(req);
    const next = nextOf(store, req.query.next);
    if (await shopperAt(clock, req, store._id)) return res.redirect(303, next);
    const signedOut = req.query['signed-out'];
    const notice = signedOut === 'everywhere' ? 'You are signed out on every device.' : signedOut === '1' ? 'You are signed out.' : null;
    showEmail(res, 200, store, { next, notice });
  });

  router.post('/shop/:handle/sign-in', async (req, res) => {
    const store = (await storeAt(req)) as MerchantProfile & { handle: string };
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = nextOf(store, body.next);
    const email = typeof body.email === 'string' ? body.email : '';
    const form = readForm(EmailForm, body);
    if (!form.ok) return showEmail(res, 400, store, { email, next, errors: form.errors });
    try {
      await consumeRateLimit(clock, { name: 'shopper-sign-in', limit: 5, windowSeconds: 900 }, `${store._id}|${form.value.email}`);
      await consumeRateLimit(clock, { name: 'shopper-sign-in-ip', limit: 30, windowSeconds: 900 }, clientIp(req));
    } catch (error) {
      if (error instanceof RateLimitedError) return showEmail(res, 429, store, { email, next, message: rateLimited(res, error) });
      throw error;
    }
    const { requestId, mail } = await requestShopperSignIn(clock, store._id, form.value.email);
    if (mail) {
      const link = `${deps.publicUrl}/shop/${store.handle}/sign-in/${mail.token}?next=${encodeURIComponent(next)}`;
      await deps.sendSignInMail({ store, requestId, mail, link });
    }
    res.redirect(303, `/shop/${store.handle}/sign-in/code?request=${requestId}&next=${encodeURIComponent(next)}`);
  });

  router.get('/shop/:handle/sign-in/code', async (req, res) => {
    const store = await storeAt(req);
    const request = typeof req.query.request === 'string' && /^ssi_[0-9a-z]{20}$/.test(req.query.request) ? req.query.request : '';
    if (!request) return res.redirect(303, `/shop/${store.handle}/sign-in`);
    showCode(res, 200, store, { request, next: nextOf(store, req.query.next) });
  });

  router.post('/shop/:handle/sign-in/code', async (req, res) => {
    const store = await storeAt(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = nextOf(store, body.next);
    const request = typeof body.request === 'string' ? body.request : '';
    const form = readForm(CodeForm, body);
    if (!form.ok) return showCode(res, 400, store, { request, next, errors: form.errors });
    try {
      await consumeRateLimit(clock, { name: 'shopper-code-ip', limit: 30, windowSeconds: 900 }, clientIp(req));
      const who = await signInWithCode(clock, store._id, form.value.request, form.value.code);
      await signedIn(req, res, store, who, next);
    } catch (error) {
      if (error instanceof RateLimitedError) return showCode(res, 429, store, { request, next, message: rateLimited(res, error) });
      if (error instanceof AppError) return showCode(res, error.status === 409 ? 400 : error.status, store, { request, next, errors: { code: error.message } });
      throw error;
    }
  });

  // The link from the e-mail: a page with a button (a GET signs in nobody).
  router.get('/shop/:handle/sign-in/:token', async (req, res) => {
    const store = await storeAt(req);
    const token = String(req.params.token);
    const open = await signInLinkIsOpen(clock, store._id, token);
    res.status(open ? 200 : 410).render('shop/sign-in-link', {
      title: 'Sign in',
      brand: brandOf(store),
      open,
      action: `/shop/${store.handle}/sign-in/${token}`,
      next: nextOf(store, req.query.next),
    });
  });

  router.post('/shop/:handle/sign-in/:token', async (req, res) => {
    const store = await storeAt(req);
    const form = readForm(LinkForm, req.body);
    const next = nextOf(store, form.ok ? form.value.next : undefined);
    try {
      const who = await signInWithLink(clock, store._id, String(req.params.token));
      await signedIn(req, res, store, who, next);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      res.status(410).render('shop/sign-in-link', { title: 'Sign in', brand: brandOf(store), open: false, action: '', next });
    }
  });

  router.post('/shop/:handle/sign-out', async (req, res) => {
    const store = await storeAt(req);
    await signOutShopperBrowser(clock, deps.cookies, req, res, store.handle!);
    res.redirect(303, `/shop/${store.handle}/sign-in?signed-out=1`);
  });

  router.post('/shop/:handle/sign-out-everywhere', async (req, res) => {
    const store = await storeAt(req);
    const shopper = await shopperAt(clock, req, store._id);
    if (shopper) await signOutShopperEverywhere(clock, deps.cookies, res, store.handle!, shopper);
    res.redirect(303, `/shop/${store.handle}/sign-in?signed-out=everywhere`);
  });

  return router;
}
