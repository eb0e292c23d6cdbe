import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError } from '../shared/errors';
import { readCookie, setCookie, type CookieFlags } from './cookies';

/**
 * CSRF protection for every form, signed in or not (the sign-in form too: a forged log-in is an attack):
 * a random value in an HttpOnly, SameSite=Lax cookie, and in each form a token that is its HMAC with the
 * installation's secret. A POST whose token does not match its cookie is refused (403) before anything runs.
 */
const COOKIE = 'bx_csrf';
const FIELD = '_csrf';

function tokenFor(secret: string, value: string): string {
  return createHmac('sha256', secret).update(`csrf:${value}`).digest('base64url');
}

/** Gives every page its form token (`res.locals.csrfToken`), setting the cookie on a first visit. */
export function csrfToken(secret: () => Promise<string>, flags: CookieFlags) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    let value = readCookie(req, COOKIE);
    if (!value || !/^[A-Za-z0-9_-]{20,64}$/.test(value)) {
      value = randomBytes(24).toString('base64url');
      setCookie(res, flags, COOKIE, value);
      // The check below reads the cookie the browser sends back; a first POST has none yet.
      req.headers.cookie = `${req.headers.cookie ? `${req.headers.cookie}; ` : ''}${COOKIE}=${value}`;
    }
    res.locals.csrfToken = tokenFor(await secret(), value);
    next();
  };
}

/** Refuses a state-changing request whose form token does not match its cookie. */
export function requireCsrf(secret: () => Promise<string>) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const value = readCookie(req, COOKIE);
    const given = (req.body as Record<string, unknown> | undefined)?.[FIELD];
    const expected = value ? Buffer.from(tokenFor(await secret(), value)) : undefined;
    const actual = typeof given === 'string' ? Buffer.from(given) : undefined;
    if (!expected || !actual || expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      return next(new ForbiddenError('This form expired or did not come from this site. Go back, reload the page and try again.'));
    }
    next();
  };
}
