import type { z } from 'zod';
import { merchantProfile } from '../merchants/merchant.queries';
import { isInvoiceOfABox } from '../orders/order.queries';
import { billedPeriodStart, type CheckoutSessionFields, type FailedInvoiceFields, type StripeSubscriptionFields } from '../stripe/invoice-fields';
import { cycleAt } from '../shared/calendar';
import { anchoredScheduleAt, boxKeysFollowing, firstOpenCycle } from './subscription-calendar';
import type { SubscriptionSyncDeps } from './subscription-deps';
import { promoCodeDiscountsOf } from './subscription-discounts';
import { subscriptionSettingsOf } from './subscription-settings';
import { ACTIVATED_BY_PAYMENT, ENDS_DUNNING, ENTERS_DUNNING, isStatusIn, type SubscriptionStatus } from './subscription-states';
import { changeWithRetry, subscriptionFact, writeIfUnchanged } from './subscription-store';
import { SubscriptionModel, type Subscription } from './subscription.model';

/**
 * What Stripe tells us about a subscription's payments and status: a Checkout completed, a payment failed
 * (dunning), Stripe's retries ended, an invoice paid, a status changed. Each is a guarded write with its fact;
 * a repeated or late event changes nothing.
 */

export async function findByStripeSubscriptionId(stripeSubscriptionId: string): Promise<Subscription | null> {
  return SubscriptionModel.findOne({ 'stripe.subscriptionId': stripeSubscriptionId }).lean();
}

/** How far before our Checkout Session Stripe's billing anchor may seem to be (clocks differ a little). */
const ANCHOR_SKEW_MS = 5 * 60_000;

/**
 * A Checkout Session was paid: the waiting subscription gets its Stripe subscription and becomes active
 * (or trialing). Stripe made that subscription when the shopper paid, up to a day after the session opened,
 * and bills from then (its billing cycle anchor; the trial's end with a trial): the calendar is anchored on
 * that instant, so the first box is the cycle Stripe billed and later charges fall when Stripe makes them.
 * Conditional on still being `incomplete`, so a repeated or late event changes nothing.
 * Returns the merchant the event belongs to, or undefined when it is not one of ours.
 */
export async function activateFromCheckout(deps: SubscriptionSyncDeps, session: z.infer<typeof CheckoutSessionFields>): Promise<string | undefined> {
  if (session.mode !== 'subscription') return undefined;
  const ourId = session.metadata?.boxcycle_subscription_id ?? session.client_reference_id ?? undefined;
  const merchantId = session.metadata?.boxcycle_merchant_id;
  if (!ourId || !merchantId) return undefined;
  const subscription = await SubscriptionModel.findOne({ _id: ourId, merchantId }).lean();
  if (!subscription || subscription.stripe.checkoutSessionId !== session.id) return undefined;
  if (subscription.status !== 'incomplete') return merchantId;
  const stripeId = typeof session.subscription === 'string' ? session.subscription : session.subscription?.id;
  if (!stripeId) throw new Error(`checkout session ${session.id} completed without a subscription`);
  const current = await deps.stripe.retrieveSubscription(stripeId);
  const status: SubscriptionStatus = current.status === 'trialing' ? 'trialing' : 'active';
  let anchoredAt = current.billingCycleAnchor;
  if (anchoredAt && anchoredAt.getTime() < subscription.createdAt.getTime() - ANCHOR_SKEW_MS) {
    // Stripe cannot bill from before the session existed: keep our calendar rather than trust it.
    deps.logger.warn(
      { subscriptionId: subscription._id, stripeSubscriptionId: current.id, billingCycleAnchor: anchoredAt },
      'Stripe billing anchor before the Checkout Session; calendar kept',
    );
    anchoredAt = undefined;
  }
  const schedule = anchoredAt ? anchoredScheduleAt(subscription.schedule, anchoredAt) : undefined;
  await writeIfUnchanged(
    deps,
    subscription,
    {
      $set: {
        status,
        'stripe.subscriptionId': current.id,
        ...(current.itemId ? { 'stripe.itemId': current.itemId } : {}),
        // Nothing is keyed to the first box's date yet but a promo code given at sign-up (an incomplete
        // subscription takes no changes): its boxes follow the calendar's new dates.
        ...(schedule ? { schedule, firstChargeKey: schedule.anchorOn } : {}),
        ...(schedule && promoCodeDiscountsOf(subscription).length > 0
          ? { discounts: boxKeysFollowing(subscription, cycleAt(subscription.schedule, 0), schedule, { sameRhythm: true }).discounts }
          : {}),
      },
    },
    [
      subscriptionFact(deps, 'subscription.activated', {
        via: 'checkout',
        from: 'incomplete',
        to: status,
        stripeSubscriptionId: current.id,
        ...(anchoredAt ? { anchoredAt: anchoredAt.toISOString(), firstChargeKey: schedule!.anchorOn } : {}),
      }),
    ],
    { extra: { status: 'incomplete' } },
  );
  return merchantId;
}

/** Our status for what Stripe says, given where we are (Stripe knows no "paused": that is ours). */
function mapStatus(ours: SubscriptionStatus, stripe: string): SubscriptionStatus | undefined {
  if (ours === 'cancelled') return undefined;
  switch (stripe) {
    case 'active':
      return ours === 'paused' ? undefined : 'active';
    case 'trialing':
      return ours === 'incomplete' ? 'trialing' : undefined;
    case 'past_due':
      return 'past_due';
    // 'unpaid' (retries ended) is handled by endDunning once; afterwards it changes nothing.
    case 'canceled':
    case 'incomplete_expired':
      return 'cancelled';
    default:
      return undefined;
  }
}

/**
 * A `customer.subscription.*` event: applies Stripe's status to ours, unless we already applied newer
 * information about this Stripe subscription (events come late and out of order). Returns the merchant.
 */
export async function applyStripeSubscriptionEvent(
  deps: SubscriptionSyncDeps,
  eventCreatedAt: Date,
  stripeSubscription: z.infer<typeof StripeSubscriptionFields>,
): Promise<string | undefined> {
  const subscription = await findByStripeSubscriptionId(stripeSubscription.id);
  if (!subscription) return undefined;
  if (subscription.stripe.lastEventAt && subscription.stripe.lastEventAt > eventCreatedAt) return subscription.merchantId;
  const now = deps.clock.now();
  if (stripeSubscription.status === 'unpaid' && isStatusIn(subscription.status, ENDS_DUNNING)) {
    return endDunning(deps, subscription, eventCreatedAt, now);
  }
  let status = mapStatus(subscription.status, stripeSubscription.status);
  const set: Record<string, unknown> = { 'stripe.lastEventAt': eventCreatedAt };
  const unset: Record<string, 1> = {};
  const dunning = subscription.dunning;
  if (dunning && (status === 'active' || status === 'trialing')) {
    // Stripe's word ends a dunning only if it is newer than the last failure; older news changes nothing.
    if (eventCreatedAt > dunning.lastFailureAt) unset.dunning = 1;
    else status = undefined;
  }
  const changesStatus = status !== undefined && status !== subscription.status;
  const endsDunning = unset.dunning !== undefined;
  if (!changesStatus && !endsDunning) {
    // Nothing becomes true: only the newest Stripe information seen is kept.
    await SubscriptionModel.updateOne({ _id: subscription._id, revision: subscription.revision }, { $set: set });
    return subscription.merchantId;
  }
  if (changesStatus) {
    set.status = status;
    if (status === 'cancelled' && !subscription.cancellation) {
      const at = stripeSubscription.canceled_at ? new Date(stripeSubscription.canceled_at * 1000) : now;
      set.cancellation = { requestedAt: at, reason: 'stripe', mode: 'now', effectiveAt: at };
      set['stripe.canceledAt'] = at;
    }
  }
  const facts = [];
  if (endsDunning)
    facts.push(
      subscriptionFact(deps, 'subscription.recovered', {
        by: 'stripe_status',
        stripeInvoiceId: dunning!.stripeInvoiceId,
        stripeStatus: stripeSubscription.status,
      }),
    );
  if (changesStatus) {
    facts.push(
      status === 'cancelled'
        ? subscriptionFact(deps, 'subscription.cancelled', { reason: 'stripe', mode: 'now', from: subscription.status })
        : subscriptionFact(deps, 'subscription.status_synced', { from: subscription.status, to: status, stripeStatus: stripeSubscription.status }),
    );
  }
  const updated = await writeIfUnchanged(deps, subscription, { $set: set, ...(endsDunning ? { $unset: unset } : {}) }, facts, { pushToStripe: false });
  if (!updated) throw new Error(`subscription ${subscription._id} changed while applying a Stripe event; retrying`);
  return subscription.merchantId;
}

/**
 * `invoice.payment_failed`: the subscription enters dunning (past due) with Stripe's hosted invoice page as
 * the shopper's pay-or-update-card link; later failures of the same invoice count attempts. The dunning
 * belongs to the newest failing invoice: a newer one takes it over, while a retry of an older one failing
 * again is only recorded (its box stays held). A failure reported after that invoice was paid (events
 * come late) changes nothing.
 */
export async function recordPaymentFailure(deps: SubscriptionSyncDeps, eventCreatedAt: Date, invoice: FailedInvoiceFields): Promise<string | undefined> {
  const ref = invoice.parent?.subscription_details?.subscription;
  const stripeId = typeof ref === 'string' ? ref : ref?.id;
  if (!stripeId) return undefined;
  const subscription = await findByStripeSubscriptionId(stripeId);
  if (!subscription) return undefined;
  const paid = await isInvoiceOfABox(invoice.id);
  if (paid || subscription.status === 'cancelled') return subscription.merchantId;
  const current = subscription.dunning;
  const same = current?.stripeInvoiceId === invoice.id;
  if (same && current.attempts >= invoice.attempt_count) return subscription.merchantId;
  const periodStart = invoice.lines ? billedPeriodStart(invoice.lines) : same ? current.periodStart : undefined;
  const older = !same && current?.periodStart !== undefined && periodStart !== undefined && periodStart < current.periodStart;
  const dunning = {
    stripeInvoiceId: invoice.id,
    ...(periodStart ? { periodStart } : {}),
    since: same ? current.since : eventCreatedAt,
    attempts: invoice.attempt_count,
    lastFailureAt: eventCreatedAt,
    ...(invoice.hosted_invoice_url ? { updatePaymentUrl: invoice.hosted_invoice_url } : {}),
  };
  const startsDunning = !current && !older;
  const updated = await writeIfUnchanged(
    deps,
    subscription,
    { $set: { ...(older ? {} : { dunning }), ...(isStatusIn(subscription.status, ENTERS_DUNNING) ? { status: 'past_due' } : {}) } },
    [
      subscriptionFact(deps, 'subscription.payment_failed', {
        stripeInvoiceId: invoice.id,
        attempt: invoice.attempt_count,
        startsDunning,
        ...(older ? { olderInvoice: true } : {}),
        ...(invoice.hosted_invoice_url ? { updatePaymentUrl: invoice.hosted_invoice_url } : {}),
      }),
    ],
    { pushToStripe: false },
  );
  if (!updated) throw new Error(`subscription ${subscription._id} changed while recording a payment failure; retrying`);
  return subscription.merchantId;
}

/**
 * Stripe's retries ended with the invoice unpaid: the merchant's outcome applies. Cancelling ends the
 * subscription (the push that follows cancels it in Stripe); pausing stops boxes from the first open one,
 * until the shopper resumes. Either way the dunning record closes.
 */
async function endDunning(deps: SubscriptionSyncDeps, subscription: Subscription, eventCreatedAt: Date, now: Date): Promise<string> {
  const merchant = await merchantProfile(subscription.merchantId);
  const outcome = merchant ? subscriptionSettingsOf(merchant).dunningOutcome : 'cancel';
  const startsOn = firstOpenCycle(subscription, now).chargeOn;
  const set =
    outcome === 'cancel'
      ? { status: 'cancelled', cancellation: { requestedAt: now, reason: 'payment_failed', mode: 'now', effectiveAt: now } }
      : { status: 'paused', pause: { pausedAt: now, startsOn } };
  const ended = subscriptionFact(deps, 'subscription.dunning_ended', {
    outcome,
    stripeStatus: 'unpaid',
    stripeInvoiceId: subscription.dunning?.stripeInvoiceId ?? null,
  });
  const follows =
    outcome === 'cancel'
      ? subscriptionFact(deps, 'subscription.cancelled', { reason: 'payment_failed', mode: 'now', involuntary: true, from: subscription.status })
      : subscriptionFact(deps, 'subscription.paused', { startsOn, resumeOn: null, involuntary: true });
  const updated = await writeIfUnchanged(deps, subscription, { $set: { ...set, 'stripe.lastEventAt': eventCreatedAt }, $unset: { dunning: 1 } }, [
    ended,
    follows,
  ]);
  if (!updated) throw new Error(`subscription ${subscription._id} changed while ending dunning; retrying`);
  return subscription.merchantId;
}

/**
 * A box's invoice was paid: a trial or a Checkout becomes active, and when it is the invoice the dunning is
 * about, the dunning ends (`subscription.recovered`). A late payment of an older invoice leaves a newer one
 * past due, its box held. Nothing else changes on the subscription (the payment itself is the box's fact).
 */
export async function recordCyclePaid(
  deps: SubscriptionSyncDeps,
  subscriptionId: string,
  payment: { stripeInvoiceId: string; cycleKey: string; amountPaidMinor: number },
): Promise<void> {
  await changeWithRetry(deps, subscriptionId, (current) => {
    const endsDunning = current.dunning?.stripeInvoiceId === payment.stripeInvoiceId;
    const becomesActive = (!current.dunning || endsDunning) && isStatusIn(current.status, ACTIVATED_BY_PAYMENT);
    if (!endsDunning && !becomesActive) return null;
    const facts = [];
    if (endsDunning) facts.push(subscriptionFact(deps, 'subscription.recovered', { by: 'payment', ...payment, attempts: current.dunning!.attempts }));
    else facts.push(subscriptionFact(deps, 'subscription.activated', { via: 'payment', from: current.status, to: 'active', ...payment }));
    return {
      update: { $set: becomesActive ? { status: 'active' } : {}, ...(endsDunning ? { $unset: { dunning: 1 as const } } : {}) },
      facts,
      pushToStripe: becomesActive,
    };
  });
}

/** The Checkout Session a subscription made with Checkout waits for (its completion must name it). */
export async function checkoutSessionOf(merchantId: string, subscriptionId: string): Promise<string | undefined> {
  const found = await SubscriptionModel.findOne({ _id: subscriptionId, merchantId }).lean();
  return found?.stripe.checkoutSessionId;
}

/** Whether a subscription made with Checkout waits for Stripe to confirm it (its first invoice may come first). */
export async function isAwaitingCheckout(merchantId: string, subscriptionId: string): Promise<boolean> {
  return (await SubscriptionModel.exists({ _id: subscriptionId, merchantId, status: 'incomplete', 'stripe.checkoutSessionId': { $exists: true } })) !== null;
}

/**
 * Nothing can be sent for a cycle (out of stock at its cut-off): the cycle is skipped, so Stripe's invoice for
 * it is voided and nothing is charged. Idempotent: a cycle already skipped changes nothing.
 */
export async function skipCycleWithNothingToShip(
  deps: SubscriptionSyncDeps,
  subscriptionId: string,
  cycleKey: string,
  /** Why a locked box is not sent: nothing could be sent, or the shopper declined the box as it was adjusted. */
  reason: 'out_of_stock' | 'declined_adjusted_box' = 'out_of_stock',
): Promise<void> {
  await changeWithRetry(deps, subscriptionId, (current) =>
    current.skippedCycleKeys.includes(cycleKey)
      ? null
      : {
          update: { $addToSet: { skippedCycleKeys: cycleKey } },
          facts: [subscriptionFact(deps, 'subscription.box_skipped', { cycleKey, reason })],
        },
  );
}
