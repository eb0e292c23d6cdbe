import type { Request, Response } from 'express';
import type { SignedInShopper } from '../../shoppers/shopper-sign-in.service';
import type { Clock } from '../../shared/time';
import { clearCookie, readCookie, setCookie, type CookieFlags } from '../cookies';
import { endAllWebSessions, endWebSession, findWebSession, SESSION_LIMITS, startWebSession } from '../web-session.service';

/**
 * The shopper's browser session at one store: the cookie is for `/shop/<handle>` only, so a shopper signed in
 * at two stores has two sessions, and no store's pages see another's. It lasts on the device (a persistent
 * cookie; the server ends it after 30 days unused, 180 at most) until signed out here or everywhere.
 */
export const SHOPPER_COOKIE = 'bx_s';

export interface PortalShopper {
  merchantId: string;
  customerId: string;
  email: string;
  sessionId: string;
}

const pathOf = (handle: string) => `/shop/${handle}`;

/** The shopper signed in at this store in this browser, if any. */
export async function shopperAt(clock: Clock, req: Request, merchantId: string): Promise<PortalShopper | undefined> {
  const session = await findWebSession(clock, 'shopper', readCookie(req, SHOPPER_COOKIE));
  if (!session || session.merchantId !== merchantId || !session.customerId) return undefined;
  return { merchantId, customerId: session.customerId, email: session.email, sessionId: session._id };
}

export async function signInShopperBrowser(clock: Clock, flags: CookieFlags, req: Request, res: Response, handle: string, who: SignedInShopper): Promise<void> {
  // A new session and token at every sign-in; whatever this browser held for this store before ends.
  await endWebSession(clock, readCookie(req, SHOPPER_COOKIE));
  const { token } = await startWebSession(clock, {
    audience: 'shopper',
    merchantId: who.merchantId,
    customerId: who.customerId,
    email: who.email,
    userAgent: req.get('user-agent'),
  });
  setCookie(res, flags, SHOPPER_COOKIE, token, { path: pathOf(handle), maxAgeSeconds: SESSION_LIMITS.shopper.absoluteMs / 1000 });
}

export async function signOutShopperBrowser(clock: Clock, flags: CookieFlags, req: Request, res: Response, handle: string): Promise<void> {
  await endWebSession(clock, readCookie(req, SHOPPER_COOKIE));
  clearCookie(res, flags, SHOPPER_COOKIE, pathOf(handle));
}

/** Signs this shopper out of this store on every device (this one too). */
export async function signOutShopperEverywhere(clock: Clock, flags: CookieFlags, res: Response, handle: string, shopper: PortalShopper): Promise<number> {
  const ended = await endAllWebSessions(clock, { audience: 'shopper', merchantId: shopper.merchantId, customerId: shopper.customerId });
  clearCookie(res, flags, SHOPPER_COOKIE, pathOf(handle));
  return ended;
}
