import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { authenticateMerchant } from '../../merchants/merchant.service';
import { AppError, RateLimitedError, UnauthorizedError } from '../../shared/errors';
import { consumeRateLimit } from '../../shared/http/rate-limit';
import { Email } from '../../shared/schemas';
import type { Clock } from '../../shared/time';
import type { CookieFlags } from '../cookies';
import { localPath, readForm, type FieldErrors } from '../forms';
import { signInMerchantBrowser, signOutMerchantBrowser } from './merchant-session';

const SignInForm = z.strictObject({
  email: Email,
  password: z.string().min(1, { error: 'Enter your password' }).max(256),
  next: z.string().max(500).optional(),
});

const clientIp = (req: Request): string => req.ip ?? 'unknown';

/** Sign-in and sign-out of the merchant's pages, with the API log-in's rate limits (the same budget). */
export function merchantSignInPages(deps: { clock: Clock; cookies: CookieFlags }): Router {
  const router = Router();
  const show = (res: Response, status: number, model: { email?: string; next?: string; errors?: FieldErrors; message?: string }) =>
    res.status(status).render('merchant/sign-in', { title: 'Sign in', email: '', next: '/merchant', errors: {}, message: null, ...model });

  router.get('/merchant/sign-in', (req, res) => {
    if (res.locals.merchant) return res.redirect(303, localPath(req.query.next, '/merchant', '/merchant'));
    show(res, 200, { next: localPath(req.query.next, '/merchant', '/merchant') });
  });

  router.post('/merchant/sign-in', async (req, res) => {
    const form = readForm(SignInForm, req.body);
    const next = localPath((req.body as { next?: unknown } | undefined)?.next, '/merchant', '/merchant');
    const email = typeof (req.body as { email?: unknown })?.email === 'string' ? (req.body as { email: string }).email : '';
    if (!form.ok) return show(res, 400, { email, next, errors: form.errors });
    try {
      await consumeRateLimit(deps.clock, { name: 'log-in', limit: 10, windowSeconds: 900 }, `${clientIp(req)}|${form.value.email}`);
      await consumeRateLimit(deps.clock, { name: 'log-in-ip', limit: 30, windowSeconds: 900 }, clientIp(req));
      const merchant = await authenticateMerchant({ email: form.value.email, password: form.value.password });
      await signInMerchantBrowser(deps.clock, deps.cookies, req, res, { id: merchant.id, email: merchant.email });
      res.redirect(303, next);
    } catch (error) {
      if (error instanceof RateLimitedError) {
        res.set('retry-after', String(error.retryAfterSeconds));
        return show(res, 429, { email, next, message: `Too many attempts. Try again in ${Math.ceil(error.retryAfterSeconds / 60)} minutes.` });
      }
      if (error instanceof UnauthorizedError) return show(res, 401, { email, next, message: 'The e-mail or password is not right.' });
      if (error instanceof AppError) return show(res, error.status, { email, next, message: error.message });
      throw error;
    }
  });

  router.post('/merchant/sign-out', async (req, res) => {
    await signOutMerchantBrowser(deps.clock, deps.cookies, req, res);
    res.redirect(303, '/merchant/sign-in');
  });
  return router;
}
