import { Router } from 'express';
import { DEMO_MERCHANT_EMAIL } from '../merchants/demo-seed.service';
import { merchantProfileByEmail } from '../merchants/merchant.queries';
import { activePlansOf } from '../plans/plan.queries';
import { toPlanView } from '../plans/plan.service';
import type { StripeMode } from '../stripe/stripe-client';
import { renderStorefront } from '../web/shop/storefront.pages';

export interface HomePageDeps {
  stripeMode: StripeMode;
}

/** The front page: the demo store's storefront (with what this installation runs against), or, with no demo store, a page that says where to start. */
export function homePages(deps: HomePageDeps): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    // Only the demo store's public catalog: other merchants' data is theirs alone.
    const found = await merchantProfileByEmail(DEMO_MERCHANT_EMAIL);
    // The demo store's storefront is the front page: a newcomer can subscribe from here.
    if (found?.handle) return renderStorefront(req, res, found, { stripeMode: deps.stripeMode });
    const demo = found ? { _id: found._id, name: found.name, timezone: found.timezone, defaultCurrency: found.defaultCurrency } : null;
    const plans = demo ? (await activePlansOf(demo._id)).map(toPlanView) : [];
    res.render('home', { stripeMode: deps.stripeMode, demo, plans });
  });
  return router;
}
