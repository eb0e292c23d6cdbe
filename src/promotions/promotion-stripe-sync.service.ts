import type { Logger } from '../shared/logger';
import type { Clock } from '../shared/time';
import type { StripeGateway } from '../stripe/stripe-gateway';
import { PromoCodeModel, type PromoCode } from './promotion.model';

export interface PromotionSyncDeps {
  clock: Clock;
  stripe: StripeGateway;
  logger: Logger;
}

/** Whether no one can apply the code any more in Stripe either: archived, or past its expiry. */
function isClosed(code: PromoCode, now: Date): boolean {
  return code.status === 'archived' || (code.expiresAt !== undefined && code.expiresAt <= now);
}

/**
 * Brings Stripe in line with one promo code, the way the catalog sync does for plans: its coupon once
 * (`promo:<id>:coupon`: `once` for a one-box code, `forever` for the others — Stripe counts a repeating
 * coupon in months, our codes count boxes, so the subscription sync takes it off after the last box), its
 * promotion code once (`promo:<id>:promotion-code`, with the code's use limit; Stripe's count stays at or
 * below ours, since only sign-ups redeem it), and the promotion code deactivated once the code is archived or
 * expired (`promo:<id>:promotion-code:deactivate`). Stripe is not told the expiry: a sign-up that starts just
 * before it must not be refused by Stripe just after; the deactivation follows within a minute.
 * Each step records its result with a conditional update, so a repeat or a second worker makes nothing twice.
 * A failure leaves the code `pending` for the catalog sync job; it never fails the merchant's request.
 */
export async function syncPromoCodeToStripe(deps: PromotionSyncDeps, promoCodeId: string): Promise<void> {
  const code = await PromoCodeModel.findById(promoCodeId).lean();
  if (!code) return;
  const metadata = { boxcycle_merchant_id: code.merchantId, boxcycle_promo_code_id: code._id, boxcycle_code: code.code };
  const now = deps.clock.now();
  try {
    let couponId = code.stripe.couponId;
    if (!couponId) {
      const coupon = await deps.stripe.createCoupon(
        {
          name: code.code,
          duration: code.duration === 'once' ? 'once' : 'forever',
          ...(code.percentOff !== undefined ? { percentOff: code.percentOff } : { amountOffMinor: code.amountOffMinor!, currency: code.currency! }),
          metadata,
        },
        `promo:${code._id}:coupon`,
      );
      await PromoCodeModel.updateOne({ _id: code._id, 'stripe.couponId': { $exists: false } }, { $set: { 'stripe.couponId': coupon.id } });
      couponId = (await PromoCodeModel.findById(code._id, { stripe: 1 }).lean())?.stripe.couponId ?? coupon.id;
    }
    let promotionCodeId = code.stripe.promotionCodeId;
    if (!promotionCodeId) {
      const promotionCode = await deps.stripe.createPromotionCode(
        { couponId, ...(code.maxRedemptions !== undefined ? { maxRedemptions: code.maxRedemptions } : {}), metadata },
        `promo:${code._id}:promotion-code`,
      );
      await PromoCodeModel.updateOne({ _id: code._id, 'stripe.promotionCodeId': { $exists: false } }, { $set: { 'stripe.promotionCodeId': promotionCode.id } });
      promotionCodeId = (await PromoCodeModel.findById(code._id, { stripe: 1 }).lean())?.stripe.promotionCodeId ?? promotionCode.id;
    }
    if (isClosed(code, now) && !code.stripe.deactivatedAt) {
      await deps.stripe.deactivatePromotionCode(promotionCodeId, `promo:${code._id}:promotion-code:deactivate`);
      await PromoCodeModel.updateOne({ _id: code._id, 'stripe.deactivatedAt': { $exists: false } }, { $set: { 'stripe.deactivatedAt': now } });
    }
    // Synced as of the revision read; a change made meanwhile keeps the code pending for the next run.
    await PromoCodeModel.updateOne(
      { _id: code._id, revision: code.revision },
      { $set: { 'stripe.state': 'synced', 'stripe.syncedRevision': code.revision, 'stripe.attemptedAt': now }, $unset: { 'stripe.lastError': 1 } },
    );
  } catch (error) {
    deps.logger.warn({ err: error, promoCodeId: code._id }, 'promo code not synced to Stripe; the catalog sync job will retry');
    await PromoCodeModel.updateOne(
      { _id: code._id },
      { $set: { 'stripe.state': 'pending', 'stripe.lastError': error instanceof Error ? error.message : String(error), 'stripe.attemptedAt': now } },
    );
  }
}

/**
 * For the catalog sync job: every promo code still `pending` with Stripe (oldest attempt first), and every
 * code that expired with its promotion code still active, a batch at a time.
 */
export async function syncPendingPromoCodes(deps: PromotionSyncDeps, batchSize = 50): Promise<number> {
  const now = deps.clock.now();
  // Two reads, each by its own index: `{ stripe.state, stripe.attemptedAt }` and `{ stripe.deactivatedAt, expiresAt }`.
  const pending = await PromoCodeModel.find({ 'stripe.state': 'pending' }, { _id: 1 }).sort({ 'stripe.attemptedAt': 1 }).limit(batchSize).lean();
  const expired = await PromoCodeModel.find(
    { 'stripe.deactivatedAt': { $exists: false }, expiresAt: { $lte: now }, 'stripe.promotionCodeId': { $exists: true } },
    { _id: 1 },
  )
    .limit(batchSize)
    .lean();
  const due = [...new Set([...pending, ...expired].map((code) => code._id))];
  for (const id of due) await syncPromoCodeToStripe(deps, id);
  return due.length;
}
