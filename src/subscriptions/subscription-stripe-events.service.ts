import { z } from 'zod';
import { BoxOrderModel } from '../orders/box-order.model';
import { billedPeriodStart, InvoiceLines } from '../orders/order.service';
import { MerchantModel } from '../merchants/merchant.model';
import { subscriptionSettingsOf } from './subscription-settings';
import { anchoredScheduleAt, firstOpenCycle, recordSubscriptionEvent, type SubscriptionSyncDeps } from './subscription.service';
import { SubscriptionModel, type Subscription, type SubscriptionStatus } from './subscription.model';

/** The fields of Stripe objects these handlers read, checked before use. */
export const CheckoutSessionFields = z.object({
  id: z.string(),
  mode: z.string(),
  client_reference_id: z.string().nullable().optional(),
  subscription: z.union([z.string(), z.object({ id: z.string() })]).nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});

export const StripeSubscriptionFields = z.object({
  id: z.string(),
  status: z.string(),
  canceled_at: z.number().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});


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
  const now = deps.clock.now();
  let anchoredAt = current.billingCycleAnchor;
  if (anchoredAt && anchoredAt.getTime() < subscription.createdAt.getTime() - ANCHOR_SKEW_MS) {
    // Stripe cannot bill from before the session existed: keep our calendar rather than trust it.
    deps.logger.warn({ subscriptionId: subscription._id, stripeSubscriptionId: current.id, billingCycleAnchor: anchoredAt }, 'Stripe billing anchor before the Checkout Session; calendar kept');
    anchoredAt = undefined;
  }
  const schedule = anchoredAt ? anchoredScheduleAt(subscription.schedule, anchoredAt) : undefined;
  const updated = await SubscriptionModel.findOneAndUpdate(
    { _id: subscription._id, merchantId, status: 'incomplete', revision: subscription.revision },
    {
      $set: {
        status,
        'stripe.subscriptionId': current.id,
        ...(current.itemId ? { 'stripe.itemId': current.itemId } : {}),
        // Nothing is keyed to the first box's date yet: an incomplete subscription takes no changes.
        ...(schedule ? { schedule, firstChargeKey: schedule.anchorOn } : {}),
        updatedAt: now,
        stripeSyncDueAt: now,
      },
      $inc: { revision: 1 },
    },
    { returnDocument: 'after', lean: true },
  );
  if (updated) {
    await recordSubscriptionEvent(deps, updated, 'subscription.activated', {
      via: 'checkout',
      stripeSubscriptionId: current.id,
      status,
      ...(anchoredAt ? { anchoredAt: anchoredAt.toISOString(), firstChargeKey: updated.firstChargeKey } : {}),
    });
  }
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
  const subscription = await SubscriptionModel.findOne({ 'stripe.subscriptionId': stripeSubscription.id }).lean();
  if (!subscription) return undefined;
  if (subscription.stripe.lastEventAt && subscription.stripe.lastEventAt > eventCreatedAt) return subscription.merchantId;
  const now = deps.clock.now();
  if (stripeSubscription.status === 'unpaid' && ['active', 'trialing', 'past_due'].includes(subscription.status)) {
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
  if (status && status !== subscription.status) {
    set.status = status;
    set.updatedAt = now;
    if (status === 'cancelled' && !subscription.cancellation) {
      const at = stripeSubscription.canceled_at ? new Date(stripeSubscription.canceled_at * 1000) : now;
      set.cancellation = { requestedAt: at, reason: 'stripe', mode: 'now', effectiveAt: at };
      set['stripe.canceledAt'] = at;
    }
  }
  const changesStatus = set.status !== undefined;
  const endsDunning = unset.dunning !== undefined;
  const updated = await SubscriptionModel.findOneAndUpdate(
    { _id: subscription._id, revision: subscription.revision },
    { $set: set, ...(endsDunning ? { $unset: unset } : {}), ...(changesStatus || endsDunning ? { $inc: { revision: 1 } } : {}) },
    { returnDocument: 'after', lean: true },
  );
  if (!updated) throw new Error(`subscription ${subscription._id} changed while applying a Stripe event; retrying`);
  if (changesStatus) await recordSubscriptionEvent(deps, updated, `subscription.${status === 'cancelled' ? 'cancelled' : 'status_changed'}`, { by: 'stripe', from: subscription.status, to: status });
  else if (endsDunning) await recordSubscriptionEvent(deps, updated, 'subscription.dunning_ended', { outcome: 'recovered', stripeStatus: stripeSubscription.status });
  return subscription.merchantId;
}

export const FailedInvoiceFields = z.object({
  id: z.string(),
  attempt_count: z.number().int(),
  hosted_invoice_url: z.string().nullable().optional(),
  lines: InvoiceLines.optional(),
  parent: z
    .object({ subscription_details: z.object({ subscription: z.union([z.string(), z.object({ id: z.string() })]) }).nullable().optional() })
    .nullable()
    .optional(),
});

/**
 * `invoice.payment_failed`: the subscription enters dunning (past due) with Stripe's hosted invoice page as
 * the shopper's pay-or-update-card link; later failures of the same invoice count attempts. The dunning
 * belongs to the newest failing invoice: a newer one takes it over, while a retry of an older one failing
 * again is only recorded (its box stays held). A failure reported after that invoice was paid (events
 * come late) changes nothing.
 */
export async function recordPaymentFailure(deps: SubscriptionSyncDeps, eventCreatedAt: Date, invoice: z.infer<typeof FailedInvoiceFields>): Promise<string | undefined> {
  const ref = invoice.parent?.subscription_details?.subscription;
  const stripeId = typeof ref === 'string' ? ref : ref?.id;
  if (!stripeId) return undefined;
  const subscription = await SubscriptionModel.findOne({ 'stripe.subscriptionId': stripeId }).lean();
  if (!subscription) return undefined;
  const paid = await BoxOrderModel.exists({ stripeInvoiceId: invoice.id });
  if (paid || subscription.status === 'cancelled') return subscription.merchantId;
  const current = subscription.dunning;
  const same = current?.stripeInvoiceId === invoice.id;
  if (same && current.attempts >= invoice.attempt_count) return subscription.merchantId;
  const periodStart = invoice.lines ? billedPeriodStart(invoice.lines) : (same ? current.periodStart : undefined);
  const older = !same && current?.periodStart !== undefined && periodStart !== undefined && periodStart < current.periodStart;
  const dunning = {
    stripeInvoiceId: invoice.id,
    ...(periodStart ? { periodStart } : {}),
    since: same ? current.since : eventCreatedAt,
    attempts: invoice.attempt_count,
    lastFailureAt: eventCreatedAt,
    ...(invoice.hosted_invoice_url ? { updatePaymentUrl: invoice.hosted_invoice_url } : {}),
  };
  const updated = await SubscriptionModel.findOneAndUpdate(
    { _id: subscription._id, revision: subscription.revision },
    {
      $set: {
        ...(older ? {} : { dunning }),
        updatedAt: deps.clock.now(),
        ...(['active', 'trialing'].includes(subscription.status) ? { status: 'past_due' } : {}),
      },
      $inc: { revision: 1 },
    },
    { returnDocument: 'after', lean: true },
  );
  if (!updated) throw new Error(`subscription ${subscription._id} changed while recording a payment failure; retrying`);
  await recordSubscriptionEvent(deps, updated, 'subscription.payment_failed', { stripeInvoiceId: invoice.id, attempt: invoice.attempt_count });
  return subscription.merchantId;
}

/**
 * Stripe's retries ended with the invoice unpaid: the merchant's outcome applies. Cancelling ends the
 * subscription (the push that follows cancels it in Stripe); pausing stops boxes from the next one that is
 * not locked, until the shopper resumes. Either way the dunning record closes.
 */
async function endDunning(deps: SubscriptionSyncDeps, subscription: Subscription, eventCreatedAt: Date, now: Date): Promise<string> {
  const merchant = await MerchantModel.findById(subscription.merchantId, { subscriptionSettings: 1 }).lean();
  const outcome = merchant ? subscriptionSettingsOf(merchant).dunningOutcome : 'cancel';
  const startsOn = firstOpenCycle(subscription, now).chargeOn;
  const set =
    outcome === 'cancel'
      ? { status: 'cancelled', cancellation: { requestedAt: now, reason: 'payment_failed', mode: 'now', effectiveAt: now } }
      : { status: 'paused', pause: { pausedAt: now, startsOn } };
  const updated = await SubscriptionModel.findOneAndUpdate(
    { _id: subscription._id, revision: subscription.revision },
    { $set: { ...set, 'stripe.lastEventAt': eventCreatedAt, updatedAt: now, stripeSyncDueAt: now }, $unset: { dunning: 1 }, $inc: { revision: 1 } },
    { returnDocument: 'after', lean: true },
  );
  if (!updated) throw new Error(`subscription ${subscription._id} changed while ending dunning; retrying`);
  await recordSubscriptionEvent(deps, updated, 'subscription.dunning_ended', { outcome, stripeStatus: 'unpaid' });
  return subscription.merchantId;
}
