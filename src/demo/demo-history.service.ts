import type Stripe from 'stripe';
import { createAddon } from '../addons/addon.service';
import { catalogKinds } from '../catalog/catalog-kinds';
import { syncPendingCatalogItems } from '../catalog/catalog-sync-job.service';
import { createCustomer } from '../customers/customer.service';
import { drainFacts, type LinkSettings } from '../events/dispatcher.service';
import { actors } from '../events/fact-types';
import { activateGiftCampaign, createGiftCampaign } from '../gifts/gift-campaign.service';
import { attachSurpriseGifts } from '../gifts/gift.service';
import { adjustVariantStock } from '../inventory/stock-item.service';
import { listeners } from '../listeners';
import { boxOrderId, getOrder, listOrders, moveOrder, rateBox } from '../orders/order.service';
import type { Plan } from '../plans/plan.model';
import { prepareDueBoxes, type RenewalDeps } from '../renewals/renewal.service';
import type { Logger } from '../shared/logger';
import { FakeClock, type Clock } from '../shared/time';
import { seededRandom } from '../shared/random';
import { createStripeGateway } from '../stripe/stripe-gateway';
import {
  cancelSubscription,
  createSubscription,
  getSubscription,
  pauseSubscription,
  recordSaveOfferShown,
  swapBox,
  syncDueSubscriptions,
  type SubscriptionDeps,
} from '../subscriptions/subscription.service';
import type { SubscriptionView } from '../subscriptions/subscription.schemas';
import type { StripeMode } from '../stripe/stripe-client';
import { deliverSimulatedEvent, type StripeWebhookDeps } from '../webhooks/stripe-webhook.routes';
import { processWebhookEvent } from '../webhooks/process-event.service';
import { coreAnswers } from '../wiring';
import { DemoHistoryModel } from './demo-history.model';

/**
 * The demo store's made-up year, so a newcomer's dashboard is not empty — made honestly: the clock is set back
 * 12 months and walked forward a day at a time, and everything happens through the real services, the real
 * Stripe webhook path (events signed with the installation's webhook secret, as the offline checkout does) and
 * the real fact listeners: shoppers subscribe, boxes are built at their cut-off, paid, shipped, delivered and
 * rated; some pause, some cancel with a reason, one payment fails and is recovered, one is never recovered; a
 * surprise-gift campaign runs. So every figure on every page (analytics, subscribers, orders, timelines) agrees.
 *
 * Offline only (stripe-mock): never against a real Stripe key. Once per store (a marker document, claimed by
 * its unique id before anything is made). The shoppers are plainly made up: "… (demo)" names and addresses
 * on example.com, the domain reserved for examples.
 */
export interface DemoHistoryDeps {
  /** The real clock: the walk ends at its "now". */
  clock: Clock;
  logger: Logger;
  /** The Stripe client in use (stripe-mock's). */
  stripe: Stripe;
  stripeMode: StripeMode;
  webhookSecret: string | undefined;
  publicUrl: string;
  links: LinkSettings;
}

export type DemoHistoryOutcome =
  | { made: true; customers: number; subscriptions: number; paidBoxes: number; ms: number }
  | { made: false; why: 'not_offline' | 'no_webhook_secret' | 'already_made' | 'interrupted_before' | 'stopped' };

const DAY = 86_400_000;
/** How far back the history starts. */
export const DEMO_HISTORY_DAYS = 365;
/** New subscribers per month, oldest month first: a small store that grows. */
const NEW_PER_MONTH = [2, 3, 3, 3, 4, 4, 4, 5, 4, 5, 5, 5];
const REASONS = ['too_expensive', 'too_much_product', 'not_using_it', 'quality', 'shipping', 'switching_brand', 'moving', 'other'];
const FIRST_NAMES = ['Ada', 'Ben', 'Cleo', 'Dev', 'Eli', 'Fay', 'Gus', 'Hana', 'Ivo', 'Jo', 'Kai', 'Lea', 'Max', 'Nia', 'Oto', 'Pia', 'Quin', 'Rae'];
const COMMENTS = ['Lovely beans this month.', 'A bit too dark for me.', 'Arrived quickly, thanks!', 'The best box so far.'];

/** What happens to one demo shopper, decided up front. */
interface Fate {
  /** After this many paid boxes, cancels (10 days later) with `reason`. */
  cancelAfter?: number;
  reason?: string;
  /** After this many paid boxes, pauses for two boxes (5 days later); as a save offer when `saved`. */
  pauseAfter?: number;
  saved?: boolean;
  /** The payment of this box (1 = first) fails; recovered 3 days later, or never (Stripe gives up 12 days later). */
  failAt?: number;
  recovers?: boolean;
  /** After this many paid boxes, swaps to another variant. */
  swapAfter?: number;
}

interface Shopper {
  index: number;
  subscriptionId: string;
  stripeSubscriptionId: string;
  customerId: string;
  fate: Fate;
  paid: number;
  /** The charge to pay next (cycle, when); absent when nothing more is charged. */
  next?: { cycleKey: string; chargeAt: number; cutoffAt: number; amountMinor: number } | undefined;
  /** The last cycle whose cut-off and gift pick were run. */
  builtCycle?: string;
  giftCycle?: string;
  /** A failed invoice waiting for its outcome. */
  failing?: { invoiceId: string; cycleKey: string; chargeAt: number; amountMinor: number };
  done?: boolean;
}

export async function seedDemoHistory(
  deps: DemoHistoryDeps,
  store: { merchantId: string; plans: Plan[] },
  options: { signal?: AbortSignal } = {},
): Promise<DemoHistoryOutcome> {
  if (deps.stripeMode !== 'stripe-mock') return { made: false, why: 'not_offline' };
  if (!deps.webhookSecret) return { made: false, why: 'no_webhook_secret' };
  const startedAt = performance.now();
  const end = deps.clock.now();
  // The walk's days start at 14:00 UTC (morning in New York); each day's work happens an hour later.
  const from = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate(), 14) - DEMO_HISTORY_DAYS * DAY);
  const markerId = `history:${store.merchantId}`;
  try {
    await DemoHistoryModel.create({ _id: markerId, merchantId: store.merchantId, status: 'running', fromAt: from, toAt: end, startedAt: end });
  } catch (error) {
    if ((error as { code?: number }).code !== 11000) throw error;
    const marker = await DemoHistoryModel.findById(markerId).lean();
    return { made: false, why: marker?.status === 'done' ? 'already_made' : 'interrupted_before' };
  }

  const clock = new FakeClock(from);
  const gateway = createStripeGateway(deps.stripe);
  const answers = coreAnswers({ clock });
  const base = { clock, logger: deps.logger, stripe: gateway };
  const subscriptionDeps: SubscriptionDeps = { ...base, publicUrl: deps.publicUrl, questions: answers.subscriptions, actor: actors.merchant() };
  const shopperDeps = (customerId: string): SubscriptionDeps => ({ ...subscriptionDeps, actor: actors.shopper(customerId) });
  const renewalDeps: RenewalDeps = { ...base, extras: answers.boxExtras };
  const queued: string[] = [];
  const webhookDeps: StripeWebhookDeps = {
    clock,
    logger: deps.logger,
    stripe: deps.stripe,
    webhookSecret: deps.webhookSecret,
    livemode: false,
    enqueue: (_name, data) => {
      queued.push(data.eventId as string);
      return Promise.resolve();
    },
  };
  const merchantId = store.merchantId;
  const follow = () => drainFacts({ ...base, links: deps.links }, listeners);
  let eventCount = 0;

  /** Signs `object` as the Stripe event `type` and sends it through the webhook path, then processes it as the job would. */
  async function stripeSends(type: string, object: Record<string, unknown>): Promise<void> {
    eventCount += 1;
    await deliverSimulatedEvent(webhookDeps, type, object, `evt_demo${String(eventCount).padStart(6, '0')}${merchantId.slice(-8)}`, clock.now());
    while (queued.length > 0) await processWebhookEvent(renewalDeps, queued.shift()!);
  }

  const invoice = (shopper: Shopper, invoiceId: string, chargeAt: number, amountMinor: number, paid: boolean) => {
    const start = Math.floor(chargeAt / 1000);
    return {
      id: invoiceId,
      object: 'invoice',
      status: paid ? 'paid' : 'open',
      amount_paid: paid ? amountMinor : 0,
      currency: 'usd',
      billing_reason: shopper.paid === 0 ? 'subscription_create' : 'subscription_cycle',
      attempt_count: 1,
      hosted_invoice_url: `https://invoice.stripe.com/i/acct_demo/${invoiceId}`,
      parent: { type: 'subscription_details', subscription_details: { subscription: shopper.stripeSubscriptionId } },
      lines: { object: 'list', data: [{ id: `il_${invoiceId}`, period: { start, end: start + 30 * 86_400 } }] },
      status_transitions: { paid_at: paid ? Math.floor(clock.now().getTime() / 1000) : null },
    };
  };

  /** What the shopper will be charged next, and how much (the box built at its cut-off, else the subscription's own figure). */
  async function refreshNext(shopper: Shopper): Promise<void> {
    const view: SubscriptionView = await getSubscription(subscriptionDeps, merchantId, shopper.subscriptionId);
    const live = ['active', 'trialing', 'paused'].includes(view.status);
    shopper.next =
      live && view.nextCharge
        ? {
            cycleKey: view.nextCharge.cycleKey,
            chargeAt: Date.parse(view.nextCharge.chargeAt),
            cutoffAt: Date.parse(view.nextCharge.cutoffAt),
            amountMinor: view.nextCharge.total.amountMinor,
          }
        : undefined;
    if (!live && !shopper.failing) shopper.done = true;
  }

  const plans = store.plans;
  const coffee = plans.find((p) => p.slug === 'single-origin-coffee') ?? plans[0]!;
  const vitamins = plans.find((p) => p.slug === 'daily-vitamins') ?? plans[plans.length - 1]!;

  // The catalog is mirrored to Stripe (as the catalog job would) and stocked.
  await syncPendingCatalogItems(base, catalogKinds());
  for (const plan of plans) for (const variant of plan.variants) await adjustVariantStock(clock, merchantId, variant.sku, 400);

  const random = seededRandom(20_261_205);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const shoppers: Shopper[] = [];
  const later = new Map<number, Array<() => Promise<void>>>();
  const dayOf = (at: number) => Math.floor((at - from.getTime()) / DAY);
  const schedule = (day: number, work: () => Promise<void>) => later.set(day, [...(later.get(day) ?? []), work]);
  const shippedOn = new Map<string, number>();
  const deliveredOn = new Map<string, number>();
  let paidBoxes = 0;
  const spent: Record<string, number> = {};
  async function timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      spent[phase] = (spent[phase] ?? 0) + performance.now() - started;
    }
  }
  let fateIndex = 0;

  function fateOf(index: number): Fate {
    // Two dunning stories, always: one recovered, one not.
    if (index === 3) return { failAt: 3, recovers: true };
    if (index === 6) return { failAt: 2, recovers: false };
    if (index === 8) return { pauseAfter: 2, saved: true };
    const roll = random();
    if (roll < 0.3) return { cancelAfter: 1 + Math.floor(random() * 5), reason: pick(REASONS) };
    if (roll < 0.4) return { pauseAfter: 1 + Math.floor(random() * 3) };
    if (roll < 0.48) return { swapAfter: 1 + Math.floor(random() * 3) };
    if (roll < 0.52) return { failAt: 2 + Math.floor(random() * 3), recovers: true };
    return {};
  }

  async function subscribe(index: number): Promise<void> {
    const first = FIRST_NAMES[index % FIRST_NAMES.length]!;
    const customer = await createCustomer(subscriptionDeps, merchantId, {
      email: `demo.shopper.${String(index + 1).padStart(2, '0')}@example.com`,
      name: `${first} Shopper ${index + 1} (demo)`,
      shippingAddress: { line1: `${100 + index} Example Street`, city: 'Springfield', postalCode: '00000', country: 'US' },
      marketingConsent: false,
    });
    const roll = random();
    const plan = roll < 0.7 ? coffee : vitamins;
    const variant = pick(plan.variants);
    const cadence = plan === coffee && roll < 0.15 ? plan.cadences[0]! : plan.cadences.find((c) => c.interval === 'month' && c.intervalCount === 1)!;
    const view = await createSubscription(
      shopperDeps(customer.id),
      merchantId,
      {
        customerId: customer.id,
        planId: plan._id,
        variantId: variant._id,
        cadence: cadence.key,
        paymentMethodId: 'pm_card_visa',
      },
      `demo-history:${index}`,
    );
    const shopper: Shopper = {
      index,
      subscriptionId: view.id,
      stripeSubscriptionId: view.stripeSubscriptionId ?? '',
      customerId: customer.id,
      fate: fateOf(fateIndex++),
      paid: 0,
    };
    shoppers.push(shopper);
    if (view.status === 'active') {
      // The first box is the cycle that starts at sign-up, paid there and then (the first-box discount off).
      const price = view.box.price.amountMinor;
      const discount = plan.firstBoxDiscount;
      const amountMinor = discount?.type === 'percent' ? Math.round((price * (100 - discount.percentOff)) / 100) : price;
      const chargeAt = Date.parse(view.createdAt);
      await stripeSends('invoice.paid', invoice(shopper, `in_demo_${view.id.slice(-10)}_first`, chargeAt, amountMinor, true));
      shopper.paid += 1;
      paidBoxes += 1;
    }
    await follow();
    await refreshNext(shopper);
  }

  async function charge(shopper: Shopper, today: number): Promise<void> {
    const next = shopper.next!;
    // The box built at the cut-off says what is due; the first box is made at payment.
    const order = await getOrder(merchantId, boxOrderId(shopper.subscriptionId, next.cycleKey)).catch(() => undefined);
    const amountMinor = order?.amountDue?.amountMinor ?? next.amountMinor;
    const invoiceId = `in_demo_${shopper.subscriptionId.slice(-10)}_${next.cycleKey.replaceAll('-', '')}`;
    if (shopper.fate.failAt === shopper.paid + 1 && !shopper.failing) {
      shopper.failing = { invoiceId, cycleKey: next.cycleKey, chargeAt: next.chargeAt, amountMinor };
      await stripeSends('invoice.payment_failed', invoice(shopper, invoiceId, next.chargeAt, amountMinor, false));
      shopper.next = undefined;
      if (shopper.fate.recovers) {
        schedule(today + 3, async () => {
          await stripeSends('invoice.paid', invoice(shopper, invoiceId, next.chargeAt, amountMinor, true));
          shopper.failing = undefined;
          shopper.paid += 1;
          paidBoxes += 1;
          await follow();
          await refreshNext(shopper);
        });
      } else {
        schedule(today + 12, async () => {
          // Stripe's retries ended unpaid: the store's dunning outcome (cancel) applies.
          await stripeSends('customer.subscription.updated', { id: shopper.stripeSubscriptionId, object: 'subscription', status: 'unpaid' });
          shopper.failing = undefined;
          await follow();
          await refreshNext(shopper);
        });
      }
      return;
    }
    await stripeSends('invoice.paid', invoice(shopper, invoiceId, next.chargeAt, amountMinor, true));
    shopper.paid += 1;
    paidBoxes += 1;
    await follow();
    await refreshNext(shopper);
    const { fate } = shopper;
    if (fate.cancelAfter === shopper.paid) {
      schedule(today + 10, async () => {
        if (shopper.done) return;
        await recordSaveOfferShown(shopperDeps(shopper.customerId), merchantId, shopper.subscriptionId, { type: 'skip_next', reason: fate.reason! }).catch(
          () => undefined,
        );
        await cancelSubscription(shopperDeps(shopper.customerId), merchantId, shopper.subscriptionId, { mode: 'now', reason: fate.reason! });
        await follow();
        await refreshNext(shopper);
      });
    }
    if (fate.pauseAfter === shopper.paid) {
      schedule(today + 5, async () => {
        if (shopper.done) return;
        if (fate.saved) {
          await recordSaveOfferShown(shopperDeps(shopper.customerId), merchantId, shopper.subscriptionId, { type: 'pause', reason: 'too_much_product' });
        }
        await pauseSubscription(shopperDeps(shopper.customerId), merchantId, shopper.subscriptionId, { cycles: 2 }, fate.saved === true);
        await follow();
        await refreshNext(shopper);
      });
    }
    if (fate.swapAfter === shopper.paid) {
      schedule(today + 7, async () => {
        if (shopper.done) return;
        const current = await getSubscription(subscriptionDeps, merchantId, shopper.subscriptionId);
        const plan = plans.find((p) => p._id === current.box.planId)!;
        const other = plan.variants.find((v) => v._id !== current.box.variantId);
        if (!other) return;
        await swapBox(shopperDeps(shopper.customerId), merchantId, shopper.subscriptionId, { variantId: other._id });
        await follow();
        await refreshNext(shopper);
      });
    }
  }

  /** The store's fulfilment, as its people would do it: ship paid boxes on their date (a few late), deliveries, ratings. */
  async function fulfil(today: number, localDay: string): Promise<boolean> {
    const paid = await listOrders(merchantId, { status: 'paid', limit: 100 });
    let waiting = false;
    for (const order of paid.data) {
      const late = order.id.charCodeAt(order.id.length - 1) % 9 === 0 ? 2 : 0;
      if (order.shipOn > localDay || (late && dayOf(Date.parse(`${order.shipOn}T15:00:00Z`)) + late > today)) {
        waiting = true;
        continue;
      }
      await moveOrder({ clock, actor: actors.merchant() }, merchantId, order.id, 'shipped', {
        shipment: { carrier: 'USPS', trackingNumber: `DEMO${order.id.slice(-10).toUpperCase()}`, shippedAt: clock.now() },
      });
      shippedOn.set(order.id, today);
    }
    for (const [orderId, day] of shippedOn) {
      if (day + 3 > today) continue;
      shippedOn.delete(orderId);
      await moveOrder({ clock, actor: actors.merchant() }, merchantId, orderId, 'delivered');
      deliveredOn.set(orderId, today);
    }
    for (const [orderId, day] of deliveredOn) {
      if (day + 2 > today) continue;
      deliveredOn.delete(orderId);
      if (random() < 0.35) continue; // not every shopper rates
      const order = await getOrder(merchantId, orderId);
      const score = pick([5, 5, 5, 4, 4, 4, 3, 2]);
      await rateBox({ clock, actor: actors.shopper(order.customerId) }, merchantId, orderId, {
        score,
        ...(random() < 0.3 ? { comment: pick(COMMENTS) } : {}),
      });
    }
    return waiting;
  }

  // The thank-you gift: a surprise tasting spoon in some boxes from the seventh month on.
  const spoon = await createAddon(base, merchantId, {
    name: 'Tasting spoon (demo gift)',
    sku: 'GIFT-SPOON',
    kind: 'one_time',
    priceMinor: 0,
    stock: 40,
  });
  const giftStart = new Date(from.getTime() + 190 * DAY).toISOString().slice(0, 10);
  const campaign = await createGiftCampaign(clock, merchantId, {
    name: 'Thank-you tasting spoon (demo)',
    giftAddonIds: [spoon.id],
    unitCostMinor: 350,
    stockBudget: 25,
    costBudgetMinor: 25 * 350,
    eligibility: { minPaidBoxes: 2 },
    selection: { mode: 'random_share', percent: 40, seed: 'demo' },
    startsOn: giftStart,
  });
  await activateGiftCampaign(clock, merchantId, campaign.id);

  // The walk: one day at a time, each day's work an hour after the day starts; a day when nothing is due is passed over.
  const joinDays = NEW_PER_MONTH.flatMap((count, month) => Array.from({ length: count }, (_, k) => month * 30 + Math.floor(((k + 0.5) * 30) / count)));
  const giftFrom = Date.parse(`${giftStart}T00:00:00Z`) - 3 * DAY;
  let joined = 0;
  let ordersToShip = false;
  for (let day = 0; day <= DEMO_HISTORY_DAYS; day += 1) {
    if (options.signal?.aborted) return { made: false, why: 'stopped' };
    const now = from.getTime() + day * DAY + 3_600_000;
    if (now > end.getTime()) break;
    clock.set(new Date(now));
    const localDay = new Date(now).toISOString().slice(0, 10);
    const live = shoppers.filter((shopper) => !shopper.done && shopper.next);
    const cutoffsDue = live.filter((shopper) => shopper.next!.cutoffAt <= now && shopper.builtCycle !== shopper.next!.cycleKey);
    const giftsDue = now >= giftFrom ? live.filter((shopper) => shopper.next!.cutoffAt <= now + 2 * DAY && shopper.giftCycle !== shopper.next!.cycleKey) : [];
    const chargesDue = live.filter((shopper) => shopper.next!.chargeAt <= now);
    const joining = joined < joinDays.length && joinDays[joined]! <= day;
    const work = later.get(day) ?? [];
    if (!joining && work.length === 0 && cutoffsDue.length === 0 && giftsDue.length === 0 && chargesDue.length === 0) {
      if (!ordersToShip && shippedOn.size === 0 && deliveredOn.size === 0) continue;
    }
    while (joined < joinDays.length && joinDays[joined]! <= day) await timed('subscribe', () => subscribe(joined++));
    for (const change of work) await timed('changes', change);
    later.delete(day);
    if (giftsDue.length > 0) {
      await timed('gifts', () => attachSurpriseGifts(base, { merchantId }));
      // A change of the day may have ended a shopper's subscription (no next box any more): nothing to mark then.
      for (const shopper of giftsDue) if (shopper.next) shopper.giftCycle = shopper.next.cycleKey;
    }
    if (cutoffsDue.length > 0) {
      await timed('cutoffs', () => prepareDueBoxes(renewalDeps));
      for (const shopper of cutoffsDue) if (shopper.next) shopper.builtCycle = shopper.next.cycleKey;
    }
    if (chargesDue.length > 0 || work.length > 0) await timed('sync', () => syncDueSubscriptions(base));
    await timed('follow', follow);
    for (const shopper of chargesDue) {
      if (shopper.done || !shopper.next || shopper.next.chargeAt > now) continue;
      await timed('charge', () => charge(shopper, day));
      ordersToShip = true;
    }
    if (ordersToShip || shippedOn.size > 0 || deliveredOn.size > 0) ordersToShip = await timed('fulfil', () => fulfil(day, localDay));
    await timed('follow', follow);
  }

  deps.logger.debug({ spent }, 'demo history: time per phase (ms)');
  const made = { customers: shoppers.length, subscriptions: shoppers.length, paidBoxes, ms: Math.round(performance.now() - startedAt) };
  await DemoHistoryModel.updateOne({ _id: markerId }, { $set: { status: 'done', finishedAt: deps.clock.now(), made } });
  return { made: true, ...made };
}

/** Whether this store's data was made up by the demo history (the demo store): its pages say so. */
export async function isDemoStore(merchantId: string): Promise<boolean> {
  return (await DemoHistoryModel.exists({ merchantId })) !== null;
}
