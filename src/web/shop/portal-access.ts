import type { Request, Response } from 'express';
import { z } from 'zod';
import { merchantByHandle, type MerchantProfile } from '../../merchants/merchant.queries';
import { NotFoundError } from '../../shared/errors';
import type { Clock } from '../../shared/time';
import { getSubscription, type SubscriptionDeps } from '../../subscriptions/subscription.service';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import { shopperAt, type PortalShopper } from './shopper-session';

/**
 * Who may see a portal page: the store at `/shop/<handle>`, the shopper signed in at it in this browser, and
 * for a subscription's pages, that it is theirs. Anything else (another store's, another shopper's, none) is
 * "not found": a shopper learns nothing of what is not theirs. Not signed in: the sign-in page, then back here.
 */
const Handle = z.string().regex(/^[a-z0-9-]{3,40}$/);
const SubscriptionId = z.string().regex(/^sub_[0-9a-z]{20}$/);

export async function storeAt(req: Request): Promise<MerchantProfile> {
  const handle = Handle.safeParse(req.params.handle);
  const store = handle.success ? await merchantByHandle(handle.data) : undefined;
  if (!store?.handle) throw new NotFoundError('There is no store at this address.');
  return store;
}

export interface PortalPlace {
  store: MerchantProfile & { handle: string };
  shopper: PortalShopper;
}

/** The store and its signed-in shopper; without one, the answer has been sent (to the sign-in page) and this is undefined. */
export async function portalPlace(clock: Clock, req: Request, res: Response): Promise<PortalPlace | undefined> {
  const store = (await storeAt(req)) as MerchantProfile & { handle: string };
  const shopper = await shopperAt(clock, req, store._id);
  if (!shopper) {
    const back = req.method === 'GET' ? req.originalUrl : `/shop/${store.handle}/account`;
    res.redirect(303, `/shop/${store.handle}/sign-in?next=${encodeURIComponent(back)}`);
    return undefined;
  }
  res.locals.shopper = { email: shopper.email };
  return { store, shopper };
}

/** One of the signed-in shopper's subscriptions at this store (another's, or none: not found). */
export async function shopperSubscription(deps: SubscriptionDeps, place: PortalPlace, id: unknown): Promise<SubscriptionView> {
  const parsed = SubscriptionId.safeParse(id);
  if (!parsed.success) throw new NotFoundError('There is no such subscription.');
  const view = await getSubscription(deps, place.store._id, parsed.data).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
  if (!view || view.customerId !== place.shopper.customerId) throw new NotFoundError('There is no such subscription.');
  return view;
}

/** The services' deps acting as this shopper (facts name them as the actor). */
export function asShopper(deps: SubscriptionDeps, place: PortalPlace): SubscriptionDeps {
  return { ...deps, actor: { kind: 'shopper', id: place.shopper.customerId } };
}
