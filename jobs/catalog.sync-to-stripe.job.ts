import { syncPendingCatalogItems } from '../src/catalog/catalog-sync-job.service';
import { catalogKinds } from '../src/catalog/catalog-kinds';
import type { JobDefinition } from './job-definition';

/** Every minute: mirror to Stripe the plans and add-ons whose last sync failed or has not happened yet. */
export const syncCatalogToStripeJob: JobDefinition = {
  name: 'catalog.sync-to-stripe',
  interval: '1 minute',
  options: { concurrency: 1, lockLifetime: 120_000 },
  handler: (deps) => async () => {
    const count = await syncPendingCatalogItems({ clock: deps.clock, stripe: deps.stripe, logger: deps.logger }, catalogKinds());
    if (count > 0) deps.logger.info({ count }, 'catalog items synced to Stripe');
  },
};
