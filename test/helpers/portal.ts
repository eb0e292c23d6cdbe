import { catalogKinds } from '../../src/catalog/catalog-kinds';
import { syncPendingCatalogItems } from '../../src/catalog/catalog-sync-job.service';
import { seedDemoMerchant } from '../../src/merchants/demo-seed.service';
import type { Express } from 'express';
import type { FakeClock } from '../../src/shared/time';
import type { SignInMailer } from '../../src/web/shop/sign-in.pages';
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

/** The sign-in mail a test app "sends": kept here instead of going through the outbox, newest last. */
export function signInMailbox() {
  const sent: Array<{ to: string; link: string; code: string }> = [];
  const sendSignInMail: SignInMailer = async ({ mail, link }) => {
    sent.push({ to: mail.email, link, code: mail.code });
  };
  return { sent, sendSignInMail };
}

/**
 * A shopper signs in at the demo store in a browser of their own, as a person does: asks for a link, opens
 * the latest one they were sent, presses its button. Answers that browser.
 */
export async function signedInShopper(app: Express, mailbox: ReturnType<typeof signInMailbox>, email: string) {
  const base = `/shop/${DEMO_HANDLE}`;
  const browser = pageClient(app);
  await browser.get(`${base}/sign-in`);
  const asked = await browser.post(`${base}/sign-in`, { email });
  if (asked.status !== 303) throw new Error(`asking to sign in answered ${asked.status}`);
  const link = new URL(mailbox.sent.filter((m) => m.to === email).at(-1)!.link);
  await browser.get(link.pathname + link.search);
  const done = await browser.post(link.pathname, { next: `${base}/account` });
  if (done.status !== 303) throw new Error(`signing in answered ${done.status}`);
  return browser;
}
