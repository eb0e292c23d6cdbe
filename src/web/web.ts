import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config/config';
import { installationSecret } from '../shared/installation-secret';
import type { Clock } from '../shared/time';
import type { CookieFlags } from './cookies';
import { csrfToken, requireCsrf } from './csrf';
import { loadMerchant } from './merchant/merchant-session';
import { merchantSignInPages } from './merchant/sign-in.pages';
import { merchantSignUpPages } from './merchant/sign-up.pages';
import { merchantHomePages } from './merchant/home.pages';
import { stripeEventPages } from './merchant/stripe-events.pages';
import { merchantAccountPages } from './merchant/account.pages';
import { merchantSettingsPages } from './merchant/settings.pages';
import { merchantMailPages } from './merchant/mail.pages';
import { messagePages } from './merchant/messages.pages';
import { subscriberPages } from './merchant/subscribers.pages';
import { analyticsPages } from './merchant/analytics.pages';
import { catalogPages } from './merchant/catalog.pages';
import { perkPages } from './merchant/perks.pages';
import { loyaltyPages } from './merchant/loyalty.pages';
import { offerPages } from './merchant/offers.pages';
import { fulfilmentFormBodies, fulfilmentPages } from './merchant/fulfilment.pages';
import { retentionPages } from './merchant/retention.pages';
import { makeGoodPages } from './merchant/make-good.pages';
import { localMailPages } from './local/mail.pages';
import { actionPages } from './shop/action.pages';
import { storefrontPages } from './shop/storefront.pages';
import { checkoutPages } from './shop/checkout.pages';
import { portalPages } from './shop/portal.pages';
import { boxChangePages } from './shop/box-changes.pages';
import { cancelPages } from './shop/cancel.pages';
import { activityPages } from './shop/activity.pages';
import { addressPages } from './shop/address.pages';
import { ordersPages } from './shop/orders.pages';
import { rewardsPages } from './shop/rewards.pages';
import { paymentPages } from './shop/payment.pages';
import { shopperSignInPages, type SignInMailer } from './shop/sign-in.pages';
import { sendAccountMessage } from '../messages/message-sending.service';
import type { StripeWebhookDeps } from '../webhooks/stripe-webhook.routes';
import type { StripeMode } from '../stripe/stripe-client';
import type { RenewalDeps } from '../renewals/renewal.service';
import type { SubscriptionDeps } from '../subscriptions/subscription.service';

export interface WebDeps {
  clock: Clock;
  config: Config;
  /** stripe-mock: no real Checkout exists, so the storefront completes payment with the local simulation. */
  stripeMode: StripeMode;
  /** The webhook endpoint's dependencies: the offline checkout delivers its simulated Stripe events through them. */
  webhooks: StripeWebhookDeps;
  /** The services' dependencies the pages call with (the same the API's routes get). */
  subscriptions: SubscriptionDeps;
  renewals: RenewalDeps;
  /** Whether mail is caught on this machine (no SMTP_URL): the merchant's pages show it, with a banner. */
  mailCaught: boolean;
  /** Sends a shopper's sign-in e-mail. */
  sendSignInMail: SignInMailer;
}

/** Where pages live (each audience's own prefix); the JSON API and webhooks are elsewhere and never see these cookies. */
const PAGE_PATHS = ['/merchant', '/a', '/local', '/shop'];

/**
 * The server-rendered pages, by audience (src/web/merchant, src/web/shop, src/web/local): forms parsed as
 * urlencoded, a CSRF token on every form and checked on every POST, the merchant's cookie session. Pages call
 * the same services as the API and render plain view objects (never the request or a document).
 */
export function webPages(deps: WebDeps): Router {
  const cookies: CookieFlags = { secure: deps.config.http.publicUrl.startsWith('https://') };
  const formSecret = () => installationSecret('forms', deps.config.appSecret, deps.clock.now());
  const router = Router();
  router.use('/merchant/fulfilment', fulfilmentFormBodies);
  router.use(PAGE_PATHS, express.urlencoded({ extended: false, limit: '100kb', parameterLimit: 200 }));
  router.use(PAGE_PATHS, csrfToken(formSecret, cookies));
  router.use(PAGE_PATHS, requireCsrf(formSecret));
  router.use(PAGE_PATHS, (_req: Request, res: Response, next: NextFunction) => {
    res.locals.mailCaught = deps.mailCaught;
    // Pages that show a person's data are not kept by shared caches.
    res.set('cache-control', 'no-store');
    next();
  });
  router.use('/merchant', loadMerchant(deps.clock));
  router.use(merchantSignInPages({ clock: deps.clock, cookies }));
  const links = { publicUrl: deps.config.http.publicUrl, appSecret: deps.config.appSecret };
  router.use(
    merchantSignUpPages({
      clock: deps.clock,
      cookies,
      mailCaught: deps.mailCaught,
      signUp: { publicUrl: links.publicUrl, queueMessage: (clock, message) => sendAccountMessage({ clock, links }, message) },
    }),
  );
  router.use(merchantHomePages({ subscriptions: deps.subscriptions }));
  router.use(stripeEventPages({ subscriptions: deps.subscriptions }));
  router.use(merchantMailPages({ mailCaught: deps.mailCaught }));
  router.use(merchantSettingsPages({ clock: deps.clock }));
  router.use(merchantAccountPages({ clock: deps.clock, cookies }));
  router.use(subscriberPages({ subscriptions: deps.subscriptions }));
  router.use(analyticsPages({ clock: deps.clock }));
  router.use(catalogPages({ subscriptions: deps.subscriptions }));
  router.use(perkPages({ clock: deps.clock }));
  router.use(loyaltyPages({ clock: deps.clock }));
  router.use(offerPages({ clock: deps.clock }));
  router.use(fulfilmentPages({ clock: deps.clock }));
  router.use(retentionPages(deps.subscriptions));
  router.use(makeGoodPages({ clock: deps.clock }));
  router.use(messagePages({ clock: deps.clock, links }));
  router.use(localMailPages({ mailCaught: deps.mailCaught }));
  const simulateCheckout = deps.stripeMode === 'stripe-mock';
  router.use(storefrontPages({ subscriptions: deps.subscriptions, simulateCheckout }));
  router.use(checkoutPages({ subscriptions: deps.subscriptions, webhooks: deps.webhooks, simulateCheckout }));
  router.use(shopperSignInPages({ clock: deps.clock, cookies, publicUrl: deps.config.http.publicUrl, sendSignInMail: deps.sendSignInMail }));
  router.use(portalPages({ subscriptions: deps.subscriptions }));
  router.use(boxChangePages({ subscriptions: deps.subscriptions }));
  router.use(cancelPages({ subscriptions: deps.subscriptions }));
  router.use(ordersPages({ subscriptions: deps.subscriptions }));
  router.use(rewardsPages({ subscriptions: deps.subscriptions, publicUrl: deps.config.http.publicUrl }));
  router.use(paymentPages({ subscriptions: deps.subscriptions, webhooks: deps.webhooks, simulateCheckout }));
  router.use(activityPages({ subscriptions: deps.subscriptions }));
  router.use(addressPages({ subscriptions: deps.subscriptions }));
  router.use(
    actionPages({
      subscriptions: deps.subscriptions,
      renewals: deps.renewals,
      secret: () => installationSecret('action-links', deps.config.appSecret, deps.clock.now()),
    }),
  );
  return router;
}
