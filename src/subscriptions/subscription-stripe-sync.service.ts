import { actors } from '../events/fact-types';
import type { Plan } from '../plans/plan.model';
import { findPlan } from '../plans/plan.queries';
import { nextCycle, type Cycle } from '../shared/calendar';
import { InvalidStateError } from '../shared/errors';
import type { StripeDiscountRef } from '../stripe/stripe-gateway';
import { boxFor, cycleState, firstCycleOnOrAfter, nextChargedCycle } from './subscription-calendar';
import type { SubscriptionSyncDeps } from './subscription-deps';
import { promoCodeDiscountFor, promoCodeDiscountsOf, saveOfferDiscountFor } from './subscription-discounts';
import { setBookkeeping, subscriptionFact, writeIfUnchanged } from './subscription-store';
import { SubscriptionModel, type Subscription } from './subscription.model';

const HOUR_MS = 3_600_000;
const SYNC_RETRY_MS = 60_000;
/**
 * After a charge, the next push waits this long: our calendar keeps the merchant's local time while Stripe
 * renews at a fixed UTC instant, so across a DST change Stripe's invoice can come an hour after our
 * chargeAt. Pushing the following cycle's pause before that invoice exists would void it.
 */
export const PUSH_AFTER_CHARGE_MS = 3 * HOUR_MS;

export function stripePriceOf(plan: Plan, priceId: string): string {
  const price = plan.prices.find((p) => p._id === priceId);
  if (!price?.stripePriceId) throw new InvalidStateError('This plan is not mirrored to Stripe yet; try again in a minute.');
  return price.stripePriceId;
}

/**
 * Brings Stripe in line with our record, for the invoice Stripe will create next: collection paused while
 * that cycle is paused or skipped (its invoice is voided; collection resumes at the following box's
 * cut-off), the item on the price of the box charged next, cancellation at period end, a moved charge date,
 * a cancellation now, the discounts of the box charged next (a save offer's, a promo code's). One update, keyed by the record revision and the cycle, so a repeat sends the same key.
 * It never fails the caller: on failure the push is due again in a minute, and the job retries it. On
 * success the next push is due after the next charge, when the following cycle becomes the one Stripe bills.
 */
export async function syncSubscriptionToStripe(deps: SubscriptionSyncDeps, subscription: Subscription): Promise<void> {
  const now = deps.clock.now();
  const stripeId = subscription.stripe.subscriptionId;
  const done = (set: Record<string, unknown>, unset: Record<string, 1> = {}) => setBookkeeping(subscription, set, { 'stripe.lastSyncError': 1, ...unset });
  try {
    if (!stripeId || subscription.status === 'incomplete') {
      await done({}, { stripeSyncDueAt: 1 });
      return;
    }
    if (subscription.status === 'cancelled') {
      if (subscription.cancellation?.mode === 'now' && !subscription.stripe.canceledAt) {
        await deps.stripe.cancelSubscription(stripeId, `subscription:${subscription._id}:cancel`);
      }
      await done({ 'stripe.canceledAt': subscription.stripe.canceledAt ?? now }, { stripeSyncDueAt: 1 });
      return;
    }
    const next = nextCycle(subscription.schedule, now);
    const nextState = cycleState(subscription, next);
    const following = nextCycle(subscription.schedule, next.chargeAt);
    let pauseCollection: { resumesAt?: Date } | null = null;
    if (nextState === 'paused') {
      const resume = subscription.pause?.resumeOn ? firstCycleOnOrAfter(subscription.schedule, subscription.pause.resumeOn) : undefined;
      pauseCollection = resume ? { resumesAt: resume.cutoffAt } : {};
    } else if (nextState === 'skipped') {
      pauseCollection = { resumesAt: following.cutoffAt };
    }
    const charged = nextChargedCycle(subscription, now);
    let item: { itemId: string; priceId: string } | undefined;
    if (charged && subscription.stripe.itemId) {
      const box = boxFor(subscription, charged);
      const plan = await findPlan(subscription.merchantId, box.planId);
      if (!plan) throw new Error(`plan ${box.planId} of subscription ${subscription._id} is missing`);
      item = { itemId: subscription.stripe.itemId, priceId: stripePriceOf(plan, box.priceId) };
    }
    let couponId: string | undefined;
    const discount = charged && saveOfferDiscountFor(subscription, charged.cycleKey);
    if (discount) {
      couponId =
        discount.stripeCouponId ??
        (
          await deps.stripe.createCoupon(
            {
              name: `${discount.percentOff}% off your next box`,
              percentOff: discount.percentOff,
              metadata: { boxcycle_merchant_id: subscription.merchantId, boxcycle_subscription_id: subscription._id, boxcycle_discount_id: discount._id },
            },
            `subscription-discount:${discount._id}:coupon`,
          )
        ).id;
      await SubscriptionModel.updateOne({ _id: subscription._id, 'discounts._id': discount._id }, { $set: { 'discounts.$.stripeCouponId': couponId } });
    }
    // With a promo code, Stripe is told every discount of the invoice it makes next, and so the code's coupon
    // goes on for the boxes it covers and comes off after; otherwise only a save offer's once-coupon is added.
    const discounts = promoCodeDiscountsOf(subscription).length > 0 ? stripeDiscountsFor(subscription, charged, couponId) : undefined;
    await deps.stripe.updateSubscription(
      stripeId,
      {
        ...(discounts ? { discounts } : couponId ? { couponId } : {}),
        pauseCollection,
        cancelAtPeriodEnd: subscription.cancellation?.mode === 'period_end',
        ...(item ? { item } : {}),
        ...(subscription.stripe.moveNextChargeTo ? { trialEnd: subscription.stripe.moveNextChargeTo } : {}),
      },
      `subscription:${subscription._id}:sync:r${subscription.revision}:${next.cycleKey}`,
    );
    await done({ stripeSyncDueAt: new Date(next.chargeAt.getTime() + PUSH_AFTER_CHARGE_MS) }, { 'stripe.moveNextChargeTo': 1 });
  } catch (error) {
    deps.logger.warn({ err: error, subscriptionId: subscription._id }, 'subscription not synced to Stripe; retrying in a minute');
    await setBookkeeping(subscription, {
      stripeSyncDueAt: new Date(now.getTime() + SYNC_RETRY_MS),
      'stripe.lastSyncError': error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * The discounts Stripe's next invoice must carry, for a subscription with a promo code: the first box's
 * (a promo code that won it, or the first-box coupon), a promo code's coupon on a box it covers, and a
 * save offer's once-coupon. None when the next charged box has none.
 */
function stripeDiscountsFor(subscription: Subscription, charged: Cycle | undefined, saveOfferCouponId: string | undefined): StripeDiscountRef[] {
  if (!charged) return [];
  const refs: StripeDiscountRef[] = [];
  const promo = promoCodeDiscountFor(subscription, charged.cycleKey);
  if (promo) refs.push({ couponId: promo.stripeCouponId });
  else if (charged.cycleKey === subscription.firstChargeKey && subscription.stripe.couponId) refs.push({ couponId: subscription.stripe.couponId });
  if (saveOfferCouponId) refs.push({ couponId: saveOfferCouponId });
  return refs;
}

const SYNC_JOB = actors.job('subscriptions.sync-to-stripe');

/**
 * The job's step for one subscription: a pause whose last box has passed ends by itself, a swap whose box has
 * come becomes the box, then Stripe is brought in line. Each is conditional on the revision read, so several
 * workers running it change nothing twice.
 */
export async function runDueSubscriptionSync(base: SubscriptionSyncDeps, subscriptionId: string): Promise<void> {
  const deps = { ...base, actor: SYNC_JOB };
  const found = await SubscriptionModel.findById(subscriptionId).lean();
  if (!found) return;
  let subscription: Subscription = found;
  const now = deps.clock.now();
  const resumeOn = subscription.pause?.resumeOn;
  if (subscription.status === 'paused' && resumeOn && nextCycle(subscription.schedule, now).chargeOn >= resumeOn) {
    const resumed = await writeIfUnchanged(
      deps,
      subscription,
      { $set: { status: 'active' }, $unset: { pause: 1 } },
      [subscriptionFact(deps, 'subscription.resumed', { automatic: true, resumeOn })],
      {
        extra: { status: 'paused' },
        pushToStripe: false,
      },
    );
    if (!resumed) return; // changed meanwhile: the next run sees the new state
    subscription = resumed;
  }
  const change = subscription.pendingChange;
  if (change && nextCycle(subscription.schedule, now).chargeOn >= change.effectiveCycleKey) {
    // The swapped box's cycle has come: it is the box from now on.
    const { effectiveCycleKey, requestedAt: _requestedAt, ...box } = change;
    const applied = await writeIfUnchanged(
      deps,
      subscription,
      { $set: { box }, $unset: { pendingChange: 1 } },
      [subscriptionFact(deps, 'subscription.swap_applied', { effectiveCycleKey, box })],
      {
        pushToStripe: false,
      },
    );
    if (!applied) return;
    subscription = applied;
  }
  await syncSubscriptionToStripe(deps, subscription);
}

/** Every subscription whose Stripe push is due, a batch at a time. */
export async function syncDueSubscriptions(deps: SubscriptionSyncDeps, batchSize = 100): Promise<number> {
  const due = await SubscriptionModel.find({ stripeSyncDueAt: { $lte: deps.clock.now() } }, { _id: 1 })
    .sort({ stripeSyncDueAt: 1 })
    .limit(batchSize)
    .lean();
  for (const { _id } of due) await runDueSubscriptionSync(deps, _id);
  return due.length;
}
