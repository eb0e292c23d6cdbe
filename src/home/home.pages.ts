import { Router } from 'express';
import { DEMO_MERCHANT_EMAIL } from '../merchants/demo-seed.service';
import { merchantProfileByEmail } from '../merchants/merchant.queries';
import { activePlansOf } from '../plans/plan.queries';
import { toPlanView } from '../plans/plan.service';

export interface HomePageDeps {
  stripeMode: StripeMode;
}

export type StripeMode = 'stripe-mock' | 'stripe-test' | 'stripe-live';

/** The landing page: what this instance runs against, and the demo store's catalog from its database. */
export function homePages(deps: HomePageDeps): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    // Only the demo store's public catalog: other merchants' data is theirs alone.
    const found = await merchantProfileByEmail(DEMO_MERCHANT_EMAIL);
    const demo = found ? { _id: found._id, name: found.name, timezone: found.timezone, defaultCurrency: found.defaultCurrency } : null;
    const plans = demo ? (await activePlansOf(demo._id)).map(toPlanView) : [];
    res.render('home', { stripeMode: deps.stripeMode, demo, plans });
  });
  return router;
}
