import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { confirmMerchantSignUp, requestMerchantSignUp, type SignUpDeps } from '../../merchants/merchant.service';
import { ConfirmSignUpBody, SignUpBody } from '../../merchants/merchant.schemas';
import { AppError, RateLimitedError } from '../../shared/errors';
import { consumeRateLimit } from '../../shared/http/rate-limit';
import type { Clock } from '../../shared/time';
import type { CookieFlags } from '../cookies';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { signInMerchantBrowser } from './merchant-session';

/**
 * Opening a store from the browser: the sign-up form (the API's own rules and rate limit), "check your e-mail",
 * and the page the e-mailed link opens — it asks before it acts (mail scanners open links); its button opens the
 * store, signs this browser in and shows the store's first secret API key, once.
 */
export interface MerchantSignUpDeps {
  clock: Clock;
  cookies: CookieFlags;
  signUp: Omit<SignUpDeps, 'clock'>;
  /** Mail is caught on this machine (no SMTP_URL): say where to read it. */
  mailCaught: boolean;
}

/** The currencies offered first; any ISO 4217 code the API takes is accepted. */
const COMMON_CURRENCIES = ['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'JPY', 'CHF', 'SEK', 'NZD'];

const clientIp = (req: Request): string => req.ip ?? 'unknown';
const TokenForm = z.strictObject({ token: ConfirmSignUpBody.shape.token });

export function merchantSignUpPages(deps: MerchantSignUpDeps): Router {
  const router = Router();
  const { clock } = deps;

  const showForm = (res: Response, status: number, values: Record<string, unknown>, errors: FieldErrors = {}, message: string | null = null) =>
    res.status(status).render('merchant/sign-up', {
      title: 'Open a store',
      values: { defaultCurrency: 'USD', timezone: 'America/New_York', ...values },
      errors,
      message,
      currencies: COMMON_CURRENCIES,
      timezones: Intl.supportedValuesOf('timeZone'),
    });

  router.get('/merchant/sign-up', (_req, res) => {
    if (res.locals.merchant) return res.redirect(303, '/merchant');
    showForm(res, 200, {});
  });

  router.post('/merchant/sign-up', async (req, res) => {
    const values = { ...((req.body ?? {}) as Record<string, unknown>) };
    delete values._csrf;
    delete values.password;
    const form = readForm(SignUpBody, req.body);
    if (!form.ok) return showForm(res, 400, values, form.errors);
    try {
      await consumeRateLimit(clock, { name: 'sign-up', limit: 10, windowSeconds: 3600 }, clientIp(req));
    } catch (error) {
      if (error instanceof RateLimitedError) {
        res.set('retry-after', String(error.retryAfterSeconds));
        return showForm(res, 429, values, {}, `Too many sign-ups from here. Try again in ${Math.ceil(error.retryAfterSeconds / 60)} minutes.`);
      }
      throw error;
    }
    const accepted = await requestMerchantSignUp({ clock, ...deps.signUp }, form.value);
    res
      .status(202)
      .render('merchant/sign-up-sent', { title: 'Check your e-mail', email: accepted.email, detail: accepted.detail, mailCaught: deps.mailCaught });
  });

  router.get('/merchant/confirm', (req, res) => {
    const form = readForm(TokenForm, { token: req.query.token });
    if (!form.ok)
      return res.status(400).render('merchant/confirm', {
        title: 'Open your store',
        token: null,
        errors: {},
        message: 'This link is not complete: open it again from the e-mail.',
      });
    res.render('merchant/confirm', { title: 'Open your store', token: form.value.token, errors: {}, message: null });
  });

  router.post('/merchant/confirm', async (req, res) => {
    const form = readForm(TokenForm, { token: (req.body as { token?: unknown } | undefined)?.token });
    const invalid = (status: number, message: string) =>
      res.status(status).render('merchant/confirm', { title: 'Open your store', token: null, errors: {}, message });
    if (!form.ok) return invalid(400, 'This link is not complete: open it again from the e-mail.');
    try {
      await consumeRateLimit(clock, { name: 'sign-up-confirmation', limit: 20, windowSeconds: 3600 }, clientIp(req));
      const opened = await confirmMerchantSignUp(clock, form.value.token);
      await signInMerchantBrowser(clock, deps.cookies, req, res, { id: opened.merchant.id, email: opened.merchant.email });
      res.status(201).render('merchant/opened', { title: 'Your store is open', storeName: opened.merchant.name, apiKey: opened.apiKey.secret });
    } catch (error) {
      if (error instanceof RateLimitedError)
        return invalid(429, `Too many attempts from here. Try again in ${Math.ceil(error.retryAfterSeconds / 60)} minutes.`);
      if (errorsOf(error))
        return invalid(
          400,
          'This link no longer works: it was already used, or is more than 24 hours old. If you opened your store, sign in; otherwise sign up again.',
        );
      if (error instanceof AppError && error.status < 500) return invalid(error.status, error.message);
      throw error;
    }
  });

  return router;
}
