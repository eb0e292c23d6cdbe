import { syncPendingCatalogItems } from '../src/catalog/catalog-sync-job.service';
import { catalogKinds } from '../src/catalog/catalog-kinds';
import { syncPendingPromoCodes } from '../src/promotions/promotion-stripe-sync.service';
import type { JobDefinition } from './job-definition';

/**
 * Every minute: mirror to Stripe the plans, add-ons and promo codes whose last sync failed or has not happened
 * yet, and deactivate the Stripe promotion codes of promo codes that have expired.
 */
export const syncCatalogToStripeJob: JobDefinition = {
  name: 'catalog.sync-to-stripe',
  interval: '1 minute',
  options: { concurrency: 1, lockLifetime: 120_000 },
  handler: (deps) => async () => {
    const services = { clock: deps.clock, stripe: deps.stripe, logger: deps.logger };
    const count = await syncPendingCatalogItems(services, catalogKinds());
    if (count > 0) deps.logger.info({ count }, 'catalog items synced to Stripe');
    const promoCodes = await syncPendingPromoCodes(services);
    if (promoCodes > 0) deps.logger.info({ count: promoCodes }, 'promo codes synced to Stripe');
  },
};
