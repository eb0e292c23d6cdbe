import { Router } from 'express';
import { loyaltyRoutes } from './loyalty/loyalty.routes';
import { metricsRoutes } from './analytics/metrics.routes';
import { boxMetricsRoutes } from './analytics/metrics-box.routes';
import { retentionMetricsRoutes } from './analytics/metrics-retention.routes';
import { offerRoutes } from './offers/offer.routes';
import { perkRoutes } from './perks/perk.routes';
import { shopperRoutes } from './shoppers/shopper.routes';
import { addonRoutes } from './addons/addon.routes';
import { customerRoutes } from './customers/customer.routes';
import { giftRoutes } from './gifts/gift-campaign.routes';
import { stockItemRoutes } from './inventory/stock-item.routes';
import { messageRoutes } from './messages/message.routes';
import { messageSettingsRoutes } from './messages/message-settings.routes';
import { sendAccountMessage } from './messages/message-sending.service';
import { orderRoutes } from './orders/order.routes';
import { planRoutes } from './plans/plan.routes';
import { promotionRoutes } from './promotions/promotion.routes';
import { referralRoutes } from './referrals/referral.routes';
import { subscriptionRoutes } from './subscriptions/subscription.routes';
import type { Logger } from './shared/logger';
import type { StripeGateway } from './stripe/stripe-gateway';
import { authenticateApiKey } from './merchants/merchant.service';
import { merchantRoutes } from './merchants/merchant.routes';
import { apiRouter } from './shared/http/api-router';
import { buildOpenApiDocument } from './shared/http/openapi';
import type { RouteDefinition } from './shared/http/route';
import type { Clock } from './shared/time';
import { coreAnswers } from './wiring';

export interface ApiDeps {
  clock: Clock;
  logger: Logger;
  stripe: StripeGateway;
  version: string;
  publicUrl: string;
  /** Signs action links in messages (APP_SECRET); absent: the secret this installation made. */
  appSecret?: string | undefined;
  checkResponses: boolean;
}

/** Every operation of the JSON API, in documentation order. */
export function apiRoutes(deps: ApiDeps): RouteDefinition[] {
  const answers = coreAnswers(deps);
  const links = { publicUrl: deps.publicUrl, appSecret: deps.appSecret };
  return [
    ...merchantRoutes({ ...deps, queueMessage: (clock, message) => sendAccountMessage({ clock, links }, message) }),
    ...planRoutes(deps, deps),
    ...addonRoutes(deps),
    ...stockItemRoutes(deps),
    ...customerRoutes(deps),
    ...subscriptionRoutes({ ...deps, questions: answers.subscriptions }),
    ...orderRoutes(deps),
    ...giftRoutes(deps),
    ...perkRoutes(deps),
    ...offerRoutes(deps),
    ...promotionRoutes(deps),
    ...loyaltyRoutes(deps),
    ...referralRoutes(deps),
    ...shopperRoutes({ ...deps, questions: answers.subscriptions }),
    ...messageSettingsRoutes({ clock: deps.clock, links }),
    ...messageRoutes(deps),
    ...metricsRoutes(deps),
    ...boxMetricsRoutes(deps),
    ...retentionMetricsRoutes(deps),
  ];
}

/** `/api/v1`: the operations, and `GET /openapi.json` describing them. */
export function api(deps: ApiDeps): Router {
  const routes = apiRoutes(deps);
  const document = buildOpenApiDocument(routes, { version: deps.version, serverUrl: deps.publicUrl });
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.use(
    apiRouter(routes, {
      clock: deps.clock,
      checkResponses: deps.checkResponses,
      authenticate: (token) => authenticateApiKey(deps.clock, token),
    }),
  );
  return router;
}
