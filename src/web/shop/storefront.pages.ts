import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { findCustomerByEmail } from '../../customers/customer.queries';
import { createCustomer } from '../../customers/customer.service';
import { merchantByHandle, type MerchantProfile } from '../../merchants/merchant.queries';
import { activePlansOf, findPlan } from '../../plans/plan.queries';
import { toPlanView } from '../../plans/plan.service';
import type { PlanView } from '../../plans/plan.schemas';
import { AppError, NotFoundError } from '../../shared/errors';
import { Email } from '../../shared/schemas';
import { createSubscription, type SubscriptionDeps } from '../../subscriptions/subscription.service';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { ADDRESS_FIELDS, addressOf, countries } from './address-form';
import { brandOf, localeOf, money, type Brand } from './shop-view';

/**
 * The storefront (`/shop/<handle>`): the store's plans with their variants, cadences, prices and first-box
 * offer, and the subscribe form (variant, cadence, who and where, a referral code). Subscribing makes the
 * customer and a subscription paid through Stripe Checkout; offline (stripe-mock), through the local checkout
 * simulation, which completes the same flow by sending the events Stripe would.
 */
export interface StorefrontDeps {
  subscriptions: SubscriptionDeps;
  /** With stripe-mock no real Checkout page exists: shoppers go to the local simulation instead. */
  simulateCheckout: boolean;
}

const Handle = z.string().regex(/^[a-z0-9-]{3,40}$/);
/** `?ref=<code>`: a friend's referral link (from their rewards page) fills in the code on the subscribe form. */
const ReferralRef = z.string().regex(/^[A-Za-z0-9-]{4,40}$/);
const refOf = (req: Request): string | null => {
  const ref = ReferralRef.safeParse(req.query.ref);
  return ref.success ? ref.data : null;
};

const SubscribeForm = z.strictObject({
  planId: z.string({ error: 'Choose a box' }).min(1).max(100),
  variantId: z.string({ error: 'Choose a variant' }).min(1, { error: 'Choose a variant' }).max(100),
  cadence: z.string({ error: 'Choose how often' }).regex(/^(week|month)-\d{1,2}$/, { error: 'Choose how often' }),
  email: Email,
  name: z.string().trim().min(1, { error: 'Enter your name' }).max(200),
  ...ADDRESS_FIELDS,
  referralCode: z
    .string()
    .trim()
    .max(40)
    .optional()
    .transform((value) => value || undefined),
  /** A per-form nonce: a double-submitted form makes one subscription (it keys the request's idempotency). */
  attempt: z.string().regex(/^[A-Za-z0-9_-]{16,40}$/),
});

interface PlanCard {
  id: string;
  name: string;
  description: string;
  trial: string | null;
  offer: string | null;
  cadences: Array<{ key: string; label: string; price: string }>;
  variants: Array<{ id: string; name: string }>;
}

function cadenceLabel(interval: string, count: number): string {
  return count === 1 ? `Every ${interval}` : `Every ${count} ${interval}s`;
}

function planCard(plan: PlanView, locale: string): PlanCard {
  const offer = plan.firstBoxDiscount
    ? plan.firstBoxDiscount.type === 'percent'
      ? `${plan.firstBoxDiscount.percentOff}% off your first box`
      : `${money(plan.firstBoxDiscount.amountOffMinor, plan.currency, locale)} off your first box`
    : null;
  return {
    id: plan.id,
    name: plan.name,
    description: plan.description,
    trial: plan.trialDays > 0 ? `${plan.trialDays}-day free trial` : null,
    offer,
    cadences: plan.cadences
      .filter((c) => c.status === 'active')
      .map((c) => ({ key: c.key, label: cadenceLabel(c.interval, c.intervalCount), price: money(c.price.amountMinor, c.price.currency, locale) })),
    variants: plan.variants.filter((v) => v.status === 'active').map((v) => ({ id: v.id, name: v.name })),
  };
}

/** The store's catalog page; `installation` adds what this installation runs against (the front page of the demo). */
export async function renderStorefront(req: Request, res: Response, store: MerchantProfile, installation?: { stripeMode: string }): Promise<void> {
  const locale = localeOf(req);
  const plans = (await activePlansOf(store._id)).map((plan) => planCard(toPlanView(plan), locale));
  res.render('shop/storefront', {
    title: store.name,
    brand: brandOf(store),
    plans,
    cancelled: req.query.checkout === 'cancelled',
    installation: installation ?? null,
    ref: refOf(req),
  });
}

export function storefrontPages(deps: StorefrontDeps): Router {
  const router = Router();

  async function storeOf(req: Request): Promise<MerchantProfile> {
    const handle = Handle.safeParse(req.params.handle);
    const store = handle.success ? await merchantByHandle(handle.data) : undefined;
    if (!store) throw new NotFoundError('There is no store at this address.');
    return store;
  }

  router.get('/shop/:handle', async (req, res) => {
    await renderStorefront(req, res, await storeOf(req));
  });

  async function showForm(
    req: Request,
    res: Response,
    status: number,
    store: MerchantProfile,
    planId: string,
    values: Record<string, unknown>,
    errors: FieldErrors,
  ) {
    const plan = await findPlan(store._id, planId);
    if (!plan || plan.status !== 'active') throw new NotFoundError('This box is not offered.');
    const locale = localeOf(req);
    res.status(status).render('shop/subscribe', {
      title: `Subscribe: ${plan.name}`,
      brand: brandOf(store),
      plan: planCard(toPlanView(plan), locale),
      countries: countries(locale),
      values: { country: 'US', attempt: randomBytes(16).toString('base64url'), ...values },
      errors,
    });
  }

  router.get('/shop/:handle/subscribe/:planId', async (req, res) => {
    const store = await storeOf(req);
    const ref = refOf(req);
    await showForm(req, res, 200, store, String(req.params.planId), ref ? { referralCode: ref } : {}, {});
  });

  router.post('/shop/:handle/subscribe/:planId', async (req, res) => {
    const store = await storeOf(req);
    const planId = String(req.params.planId);
    const typed = Object.fromEntries(
      Object.entries((req.body ?? {}) as Record<string, unknown>).filter(([key, value]) => key !== '_csrf' && typeof value === 'string'),
    );
    const form = readForm(SubscribeForm, { ...typed, planId });
    if (!form.ok) return showForm(req, res, 400, store, planId, typed, form.errors);
    const input = form.value;
    if (await findCustomerByEmail(store._id, input.email)) {
      return showForm(req, res, 409, store, planId, typed, {
        email: 'This e-mail already has an account with this store: sign in to add a subscription to it.',
      });
    }
    try {
      const deps2 = deps.subscriptions;
      const customer = await createCustomer(deps2, store._id, {
        email: input.email,
        name: input.name,
        shippingAddress: addressOf(input),
        marketingConsent: false,
      });
      const subscription = await createSubscription(
        { ...deps2, actor: { kind: 'shopper', id: customer.id } },
        store._id,
        {
          customerId: customer.id,
          planId,
          variantId: input.variantId,
          cadence: input.cadence,
          checkout: true,
          ...(input.referralCode ? { referralCode: input.referralCode } : {}),
        },
        `storefront:${input.attempt}`,
      );
      if (deps.simulateCheckout) return res.redirect(303, `/shop/${store.handle}/checkout/${subscription.id}`);
      if (!subscription.checkoutUrl) throw new Error(`subscription ${subscription.id} has no Checkout URL`);
      res.redirect(303, subscription.checkoutUrl);
    } catch (error) {
      const fieldErrors = errorsOf(error);
      if (fieldErrors) return showForm(req, res, 400, store, planId, typed, fieldErrors);
      if (error instanceof AppError && error.status < 500) return showForm(req, res, error.status, store, planId, typed, { _form: error.message });
      throw error;
    }
  });

  return router;
}

export type { Brand };
