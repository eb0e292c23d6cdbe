import { Router } from 'express';
import { DEMO_MERCHANT_EMAIL } from '../merchants/demo-seed.service';
import { MerchantModel } from '../merchants/merchant.model';
import { PlanModel } from '../plans/plan.model';
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
    const demo = await MerchantModel.findOne({ email: DEMO_MERCHANT_EMAIL }, { name: 1, timezone: 1, defaultCurrency: 1 }).lean();
    const plans = demo ? (await PlanModel.find({ merchantId: demo._id, status: 'active' }).sort({ createdAt: 1 }).lean()).map(toPlanView) : [];
    res.render('home', { stripeMode: deps.stripeMode, demo, plans });
  });
  return router;
}
