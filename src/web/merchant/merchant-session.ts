import { addToLogContext } from '../../shared/log-context';
import type { NextFunction, Request, Response } from 'express';
import { actors, type Actor } from '../../events/fact-types';
import { merchantProfile, type MerchantProfile } from '../../merchants/merchant.queries';
import { getMerchant } from '../../merchants/merchant.service';
import { NotFoundError } from '../../shared/errors';
import type { Clock } from '../../shared/time';
import { clearCookie, readCookie, setCookie, type CookieFlags } from '../cookies';
import { SHOPPER_COOKIE } from '../shop/shopper-session';
import { endWebSession, findWebSession, startWebSession } from '../web-session.service';

/** The merchant's browser session: its cookie, and what pages know of who is signed in. */
export const MERCHANT_COOKIE = 'bx_m';

export interface SignedInMerchant {
  merchantId: string;
  name: string;
  email: string;
  sessionId: string;
}

/**
 * `res.locals.merchant` for every merchant page; a page that needs it sends others to sign in. A shopper's
 * session has no business here: a request that carries one (as the shopper's cookie, or put in the
 * merchant's) and no merchant session is answered 404 on every merchant page, as an unknown page is. A
 * browser only sends one here on purpose: the shopper's cookie is scoped to its store's `/shop/<handle>`.
 */
export function loadMerchant(clock: Clock) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = readCookie(req, MERCHANT_COOKIE);
    const session = await findWebSession(clock, 'merchant', token);
    if (session) {
      const merchant = await getMerchant(session.merchantId).catch(() => undefined);
      if (merchant) {
        res.locals.merchant = { merchantId: merchant.id, name: merchant.name, email: session.email, sessionId: session._id } satisfies SignedInMerchant;
        addToLogContext({ merchantId: merchant.id });
        return next();
      }
    }
    for (const shopperToken of [readCookie(req, SHOPPER_COOKIE), token]) {
      if (shopperToken && (await findWebSession(clock, 'shopper', shopperToken))) throw new NotFoundError('No such page.');
    }
    next();
  };
}

/** Only for a signed-in merchant: others go to the sign-in page, and come back here after. */
export function requireMerchant(req: Request, res: Response, next: NextFunction): void {
  if (res.locals.merchant) return next();
  const back = req.method === 'GET' ? req.originalUrl : '/merchant';
  res.redirect(303, `/merchant/sign-in?next=${encodeURIComponent(back)}`);
}

export function signedInMerchant(res: Response): SignedInMerchant {
  return res.locals.merchant as SignedInMerchant;
}

/** The signed-in merchant's store as pages read it (name, zone, currency, settings). */
export async function signedInStore(res: Response): Promise<MerchantProfile> {
  const store = await merchantProfile(signedInMerchant(res).merchantId);
  if (!store) throw new NotFoundError('This store does not exist.');
  return store;
}

/** Who a change made from the merchant's pages is recorded as: the merchant, through this browser session. */
export function merchantActor(res: Response): Actor {
  return actors.merchant(signedInMerchant(res).sessionId);
}

export async function signInMerchantBrowser(
  clock: Clock,
  flags: CookieFlags,
  req: Request,
  res: Response,
  merchant: { id: string; email: string },
): Promise<void> {
  // A new session (and token) at every sign-in: whatever the browser held before is not carried over.
  await endWebSession(clock, readCookie(req, MERCHANT_COOKIE));
  const { token } = await startWebSession(clock, { audience: 'merchant', merchantId: merchant.id, email: merchant.email, userAgent: req.get('user-agent') });
  setCookie(res, flags, MERCHANT_COOKIE, token);
}

export async function signOutMerchantBrowser(clock: Clock, flags: CookieFlags, req: Request, res: Response): Promise<void> {
  await endWebSession(clock, readCookie(req, MERCHANT_COOKIE));
  clearCookie(res, flags, MERCHANT_COOKIE);
}
