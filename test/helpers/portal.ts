import { catalogKinds } from '../../src/catalog/catalog-kinds';
import { syncPendingCatalogItems } from '../../src/catalog/catalog-sync-job.service';
import { seedDemoMerchant } from '../../src/merchants/demo-seed.service';
import type { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { processWebhookEvent } from '../../src/webhooks/process-event.service';
import { followFacts } from './facts';
import { pageClient } from './pages';
import type { TestApp } from './test-app';
import { silentLogger, testStripe } from './test-env';

export const DEMO_HANDLE = 'demo-roasters';

/** The demo store, its catalog mirrored to Stripe (what the catalog job does a minute after the seed). */
export async function demoStore(clock: FakeClock) {
  const seeded = await seedDemoMerchant(clock);
  await syncPendingCatalogItems({ clock, stripe: createStripeGateway(testStripe()), logger: silentLogger }, catalogKinds());
  return seeded;
}

/** The worker's part: process what Stripe (the simulation) sent, then what follows from the facts. */
export async function runWorker(testApp: TestApp): Promise<void> {
  const deps = { clock: testApp.clock, stripe: createStripeGateway(testStripe()), logger: silentLogger };
  for (const job of testApp.queued.splice(0)) if (job.name === 'webhooks.process-event') await processWebhookEvent(deps, job.data.eventId as string);
  await followFacts(testApp.clock);
}

/**
 * A newcomer subscribes to the demo store's first box on the storefront and pays on the offline checkout;
 * answers the subscription's id and the browser that did it (not signed in: subscribing signs in nobody).
 */
export async function subscribeOnStorefront(testApp: TestApp, who: { email: string; name?: string }, planId: string): Promise<{ subscriptionId: string }> {
  const browser = pageClient(testApp.app);
  const page = await browser.get(`/shop/${DEMO_HANDLE}/subscribe/${planId}`);
  const value = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(page.text)?.[1] ?? '';
  const subscribed = await browser.post(`/shop/${DEMO_HANDLE}/subscribe/${planId}`, {
    variantId: value('variantId'),
    cadence: value('cadence'),
    attempt: value('attempt'),
    email: who.email,
    name: who.name ?? 'A Shopper',
    line1: '1 Main St',
    city: 'Chicago',
    postalCode: '60601',
    country: 'US',
  });
  if (subscribed.status !== 303) throw new Error(`subscribing answered ${subscribed.status}`);
  const simulation = subscribed.headers.location as string;
  await browser.get(simulation);
  await browser.post(simulation, {});
  await runWorker(testApp);
  return { subscriptionId: /sub_[0-9a-z]{20}/.exec(simulation)![0] };
}
