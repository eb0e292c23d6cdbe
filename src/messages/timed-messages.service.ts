import { customersWithCardExpiring } from '../customers/customer.queries';
import type { LinkSettings } from '../events/dispatcher.service';
import { merchantProfile, type MerchantProfile } from '../merchants/merchant.queries';
import { comebackOfferFor } from '../offers/offer.service';
import { boxesDeliveredBetween, unshippedPaidBoxes } from '../orders/order.queries';
import { addLocalDays, anniversaryIn, localDateOf, type Cycle } from '../shared/calendar';
import type { Logger } from '../shared/logger';
import type { Clock } from '../shared/time';
import { LIVE_STATUSES, SUBSCRIPTION_STATUSES, isStatusIn } from '../subscriptions/subscription-states';
import type { Subscription } from '../subscriptions/subscription.model';
import {
  boxContentsFor,
  customersWithSubscriptionIn,
  liveSubscriptionPagesLockingBy,
  merchantsWithSubscriptionsIn,
  nextChargedCycle,
  subscriptionEndingsOf,
  subscriptionsEndedBetween,
  subscriptionsWithAnniversaryOn,
} from '../subscriptions/subscription.queries';
import { boxTermsOf } from './box-terms';
import { linkFor, manageUrl } from './fact-messages';
import { MessageOccasionModel } from './message-occasion.model';
import { messageDepsOf, sendTemplate, type MessageDeps, type SendTemplateInput } from './message-sending.service';
import { isMessageOn, messageSettingsOf, type EffectiveMessageSettings } from './message-settings.service';
import { templateNamed } from './message-templates';

/**
 * The messages sent when their time comes rather than after a fact: the upcoming box before it locks, a late
 * box, the request to rate a delivered box, a card that expires this month, the win-back after a
 * subscription ended, and the yearly reminder of a subscription's terms. Each job looks at what is due (with a
 * week's catch-up, so a job that could not run misses nothing) and sends each occasion once: its key names
 * the occasion (`upcoming:<subscription>:<cycle>`), and what was sent is not rendered again.
 */

export interface TimedMessageDeps {
  clock: Clock;
  logger: Logger;
  links?: LinkSettings | undefined;
}

const DAY_MS = 86_400_000;
const CATCH_UP_MS = 7 * DAY_MS;

interface MerchantContext {
  merchant: MerchantProfile;
  settings: EffectiveMessageSettings;
}

/** Each merchant with subscriptions in these statuses who has this message on, with its settings. */
async function* merchantsSending(template: string, statuses: Parameters<typeof merchantsWithSubscriptionsIn>[0]): AsyncGenerator<MerchantContext> {
  const definition = templateNamed(template);
  for (const merchantId of await merchantsWithSubscriptionsIn(statuses)) {
    const settings = await messageSettingsOf(merchantId);
    if (!isMessageOn(settings, definition)) continue;
    const merchant = await merchantProfile(merchantId);
    if (merchant) yield { merchant, settings };
  }
}

/**
 * Sends an occasion's message once: an occasion handled before is skipped without rendering; a crash between
 * the send and the record sends nothing twice (the outbox keeps one per key). Returns whether it was queued.
 */
async function sendOnce(deps: MessageDeps, input: SendTemplateInput & { merchantId: string }, build?: () => Promise<unknown>): Promise<boolean> {
  const occasion = `${input.template}|${input.key}`;
  if (await MessageOccasionModel.exists({ _id: occasion })) return false;
  const data = build ? await build() : input.data;
  const outcome = await sendTemplate(deps, { ...input, data });
  await MessageOccasionModel.updateOne({ _id: occasion }, { $setOnInsert: { merchantId: input.merchantId, at: deps.clock.now() } }, { upsert: true });
  return outcome.queued;
}

/** Runs one merchant's part, so that one merchant's failure does not stop the others (the next run retries it). */
async function eachMerchant(
  deps: TimedMessageDeps,
  merchants: AsyncGenerator<MerchantContext>,
  work: (context: MerchantContext) => Promise<number>,
): Promise<number> {
  let sent = 0;
  for await (const context of merchants) {
    try {
      sent += await work(context);
    } catch (error) {
      deps.logger.warn({ err: error, merchantId: context.merchant._id }, 'timed messages not all sent; the next run retries');
    }
  }
  return sent;
}

/** The first box that will be charged and can still change (its cut-off ahead), if any. */
function firstOpenChargedCycle(subscription: Subscription, now: Date): Cycle | undefined {
  let cycle = nextChargedCycle(subscription, now);
  for (let i = 0; cycle && cycle.cutoffAt <= now && i < 100; i += 1) cycle = nextChargedCycle(subscription, cycle.chargeAt);
  return cycle;
}

// ---------------------------------------------------------------------------------------------------------
// The upcoming box
// ---------------------------------------------------------------------------------------------------------

/**
 * The messages.remind-upcoming-boxes job: each subscription's next box that is charged and still open, from
 * the merchant's number of days before its cut-off until the cut-off: what is in it, what it costs, when it
 * is charged, with links to skip it, choose another variant or add an extra (good until the cut-off).
 */
export async function remindUpcomingBoxes(deps: TimedMessageDeps): Promise<number> {
  const messages = messageDepsOf(deps);
  const now = deps.clock.now();
  return eachMerchant(deps, merchantsSending('subscription.upcoming_box', LIVE_STATUSES), async ({ merchant, settings }) => {
    const before = settings.days.upcomingBoxDaysBeforeCutoff * DAY_MS;
    let sent = 0;
    for await (const page of liveSubscriptionPagesLockingBy(merchant._id, new Date(now.getTime() + before)))
      for (const subscription of page) {
        const cycle = firstOpenChargedCycle(subscription, now);
        if (!cycle || now.getTime() < cycle.cutoffAt.getTime() - before) continue;
        const link = async (action: 'subscription.skip' | 'subscription.swap' | 'subscription.add-extra') =>
          (await linkFor(messages, {
            action,
            merchantId: merchant._id,
            subjectId: subscription._id,
            ...(action === 'subscription.swap' ? {} : { data: { cycleKey: cycle.cycleKey } }),
            possibleUntil: cycle.cutoffAt,
          }))!.url;
        const queued = await sendOnce(
          messages,
          {
            template: 'subscription.upcoming_box',
            merchantId: merchant._id,
            customerId: subscription.customerId,
            subscriptionId: subscription._id,
            key: `upcoming:${subscription._id}:${cycle.cycleKey}`,
            data: undefined,
          },
          async () => {
            const contents = await boxContentsFor(subscription, cycle);
            return {
              cycleKey: cycle.cycleKey,
              chargeAt: cycle.chargeAt.toISOString(),
              cutoffAt: cycle.cutoffAt.toISOString(),
              lines: contents.lines.map((line) => ({
                description: line.description,
                quantity: line.quantity,
                amount: { amountMinor: line.unitAmountMinor * line.quantity, currency: contents.currency },
              })),
              total: { amountMinor: contents.totalMinor, currency: contents.currency },
              skipUrl: await link('subscription.skip'),
              swapUrl: await link('subscription.swap'),
              addExtraUrl: await link('subscription.add-extra'),
            };
          },
        );
        if (queued) sent += 1;
      }
    return sent;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Late boxes, ratings
// ---------------------------------------------------------------------------------------------------------

/**
 * The messages.notify-delayed-boxes job: a paid box not shipped the merchant's tolerance in days after its
 * ship date gets an apology, once, with the date it should now leave by (as many days again). A box waiting
 * for stock was told so when it was paid (`box.back_ordered`) and gets nothing more.
 */
export async function notifyDelayedBoxes(deps: TimedMessageDeps): Promise<number> {
  const messages = messageDepsOf(deps);
  const now = deps.clock.now();
  return eachMerchant(deps, merchantsSending('box.delayed', SUBSCRIPTION_STATUSES), async ({ merchant, settings }) => {
    const tolerance = settings.days.delayToleranceDays;
    const today = localDateOf(now, merchant.timezone);
    let sent = 0;
    for (const order of await unshippedPaidBoxes(merchant._id, addLocalDays(today, -tolerance))) {
      if (order.lines.some((line) => line.stock === 'short')) continue;
      const queued = await sendOnce(messages, {
        template: 'box.delayed',
        merchantId: merchant._id,
        customerId: order.customerId,
        subscriptionId: order.subscriptionId,
        key: `delay:${order._id}`,
        data: { shipOn: order.shipOn, expectedBy: addLocalDays(today, tolerance) },
      });
      if (queued) sent += 1;
    }
    return sent;
  });
}

/**
 * The messages.request-box-ratings job: the merchant's number of days after a box was delivered (within a
 * week's catch-up, and only while it still counts as delivered), a request to rate it, once.
 */
export async function requestBoxRatings(deps: TimedMessageDeps): Promise<number> {
  const messages = messageDepsOf(deps);
  const now = deps.clock.now();
  return eachMerchant(deps, merchantsSending('box.rate_request', SUBSCRIPTION_STATUSES), async ({ merchant, settings }) => {
    const until = new Date(now.getTime() - settings.days.rateRequestDaysAfterDelivery * DAY_MS);
    let sent = 0;
    for (const order of await boxesDeliveredBetween(merchant._id, new Date(until.getTime() - CATCH_UP_MS), until)) {
      const queued = await sendOnce(
        messages,
        {
          template: 'box.rate_request',
          merchantId: merchant._id,
          customerId: order.customerId,
          subscriptionId: order.subscriptionId,
          key: `rate:${order._id}`,
          data: undefined,
        },
        async () => ({
          shipOn: order.shipOn,
          rateUrl: (await linkFor(messages, { action: 'box.rate', merchantId: merchant._id, subjectId: order.subscriptionId, data: { orderId: order._id } }))!
            .url,
        }),
      );
      if (queued) sent += 1;
    }
    return sent;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Cards
// ---------------------------------------------------------------------------------------------------------

/**
 * The messages.warn-expiring-cards job (daily): in the month a shopper's card expires (in the merchant's
 * calendar), while they have a live subscription, a message with a link to give a new card, once per card
 * and month.
 */
export async function warnExpiringCards(deps: TimedMessageDeps): Promise<number> {
  const messages = messageDepsOf(deps);
  const now = deps.clock.now();
  return eachMerchant(deps, merchantsSending('payment.card_expiring', LIVE_STATUSES), async ({ merchant }) => {
    const [year, month] = localDateOf(now, merchant.timezone).split('-').map(Number) as [number, number];
    const expiring = await customersWithCardExpiring(merchant._id, year, month);
    const live = await customersWithSubscriptionIn(
      merchant._id,
      expiring.map((customer) => customer._id),
      LIVE_STATUSES,
    );
    let sent = 0;
    for (const customer of expiring.filter((candidate) => live.has(candidate._id))) {
      const card = customer.card!;
      const queued = await sendOnce(
        messages,
        {
          template: 'payment.card_expiring',
          merchantId: merchant._id,
          customerId: customer._id,
          key: `card-expiring:${customer._id}:${card.stripePaymentMethodId}:${year}-${String(month).padStart(2, '0')}`,
          data: undefined,
        },
        async () => ({
          brand: card.brand,
          last4: card.last4,
          expMonth: card.expMonth,
          expYear: card.expYear,
          updateUrl: (await linkFor(messages, { action: 'payment.update-card', merchantId: merchant._id, subjectId: customer._id }))!.url,
        }),
      );
      if (queued) sent += 1;
    }
    return sent;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Win-back
// ---------------------------------------------------------------------------------------------------------

/**
 * The messages.send-win-backs job: the merchant's number of days after a subscription ended (within a week's
 * catch-up), when the shopper has no live subscription and the merchant's comeback offer would still apply,
 * the offer with a link to subscribe again (good while the offer is). Marketing: only with the shopper's
 * consent. Once per ended subscription, and one per shopper in a run.
 */
export async function sendWinBacks(deps: TimedMessageDeps): Promise<number> {
  const messages = messageDepsOf(deps);
  const now = deps.clock.now();
  return eachMerchant(deps, merchantsSending('subscription.win_back', ['cancelled']), async ({ merchant, settings }) => {
    const until = now.getTime() - settings.days.winBackDaysAfterCancelling * DAY_MS;
    const ended = await subscriptionsEndedBetween(merchant._id, new Date(until - CATCH_UP_MS), new Date(until));
    const told = new Set<string>();
    let sent = 0;
    for (const subscription of ended) {
      if (told.has(subscription.customerId)) continue;
      const endings = await subscriptionEndingsOf(merchant._id, subscription.customerId);
      if (endings.some((other) => isStatusIn(other.status, LIVE_STATUSES))) continue;
      const terms = await boxTermsOf(subscription);
      if (!terms) continue;
      const offer = await comebackOfferFor(merchant._id, subscription.customerId, now, { currency: terms.price.currency, priceMinor: terms.price.amountMinor });
      if (!offer?.comeback) continue;
      const lastEnded = Math.max(...endings.map((other) => other.cancellation?.effectiveAt.getTime() ?? 0));
      const offerEndsAt = new Date(lastEnded + offer.comeback.withinDays * DAY_MS);
      told.add(subscription.customerId);
      const queued = await sendOnce(
        messages,
        {
          template: 'subscription.win_back',
          merchantId: merchant._id,
          customerId: subscription.customerId,
          subscriptionId: subscription._id,
          key: `winback:${subscription._id}`,
          data: undefined,
        },
        async () => {
          const comeBack = await linkFor(messages, {
            action: 'subscription.reactivate',
            merchantId: merchant._id,
            subjectId: subscription._id,
            possibleUntil: offerEndsAt,
          });
          return {
            planName: terms.planName,
            offerName: offer.name,
            percentOff: offer.comeback!.percentOff ?? null,
            amountOff: offer.comeback!.amountOffMinor !== undefined ? { amountMinor: offer.comeback!.amountOffMinor, currency: offer.currency } : null,
            offerEndsAt: (comeBack?.expiresAt ?? offerEndsAt).toISOString(),
            comeBackUrl: comeBack?.url ?? (await manageUrl(messages, subscription)),
          };
        },
      );
      if (queued) sent += 1;
    }
    return sent;
  });
}

// ---------------------------------------------------------------------------------------------------------
// The yearly reminder of the terms
// ---------------------------------------------------------------------------------------------------------

/**
 * The messages.remind-yearly-terms job: on each anniversary of a live subscription's start (in the merchant's
 * calendar, within a week's catch-up), its terms and how to cancel, as automatic-renewal laws (California's
 * among them) ask. Once per subscription and year; the merchant cannot turn it off.
 */
export async function remindYearlyTerms(deps: TimedMessageDeps): Promise<number> {
  const messages = messageDepsOf(deps);
  const now = deps.clock.now();
  return eachMerchant(deps, merchantsSending('subscription.yearly_terms', LIVE_STATUSES), async ({ merchant }) => {
    const today = localDateOf(now, merchant.timezone);
    const days = Array.from({ length: 8 }, (_, index) => addLocalDays(today, -index));
    const years = [...new Set(days.map((day) => Number(day.slice(0, 4))))];
    let sent = 0;
    for (const subscription of await subscriptionsWithAnniversaryOn(merchant._id, LIVE_STATUSES, merchant.timezone, days)) {
      const started = localDateOf(subscription.createdAt, merchant.timezone);
      for (const year of years) {
        const count = year - Number(started.slice(0, 4));
        if (count < 1 || !days.includes(anniversaryIn(started.slice(5), year))) continue;
        const queued = await sendOnce(
          messages,
          {
            template: 'subscription.yearly_terms',
            merchantId: merchant._id,
            customerId: subscription.customerId,
            subscriptionId: subscription._id,
            key: `terms:${subscription._id}:${year}`,
            data: undefined,
          },
          async () => {
            const terms = await boxTermsOf(subscription);
            if (!terms) throw new Error(`subscription ${subscription._id} refers to a missing plan part`);
            const next = nextChargedCycle(subscription, now);
            return {
              ...terms,
              startedAt: subscription.createdAt.toISOString(),
              years: count,
              nextChargeAt: next ? next.chargeAt.toISOString() : null,
              manageUrl: await manageUrl(messages, subscription),
            };
          },
        );
        if (queued) sent += 1;
      }
    }
    return sent;
  });
}
