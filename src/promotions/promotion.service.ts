import { merchantProfile } from '../merchants/merchant.queries';
import { isDuplicateKeyError } from '../shared/db';
import { ConflictError, InvalidStateError, invalidInput, NotFoundError, PromoCodeRefusedError } from '../shared/errors';
import { derivedId, newId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import type { PromoCodeTerms } from '../subscriptions/subscription.service';
import { syncPromoCodeToStripe, type PromotionSyncDeps } from './promotion-stripe-sync.service';
import { PromoCodeModel, PromoCodeRedemptionModel, type PromoCode, type PromoCodeRedemption } from './promotion.model';
import type { CreatePromoCodeBody, PromoCodeView } from './promotion.schemas';

/**
 * Promo codes: the merchant creates and archives them; a shopper applies one at sign-up or to their
 * subscription (the subscriptions core asks through the `promoCode` question, answered here by
 * `promoCodeFor`). Each code is backed by a Stripe coupon and promotion code (promotion-stripe-sync.service.ts).
 */

export class PromoCodeTakenError extends ConflictError {
  override readonly code = 'promo_code_taken';
  override readonly title = 'Another promo code of yours has this code';
}

function isExpired(code: Pick<PromoCode, 'expiresAt'>, now: Date): boolean {
  return code.expiresAt !== undefined && code.expiresAt <= now;
}

function isUsedUp(code: Pick<PromoCode, 'maxRedemptions' | 'redemptionCount'>): boolean {
  return code.maxRedemptions !== undefined && code.redemptionCount >= code.maxRedemptions;
}

function toPromoCodeView(code: PromoCode, now: Date): PromoCodeView {
  return {
    id: code._id,
    object: 'promo_code',
    code: code.code,
    description: code.description,
    percentOff: code.percentOff ?? null,
    amountOff: code.amountOffMinor !== undefined ? { amountMinor: code.amountOffMinor, currency: code.currency! } : null,
    duration: code.duration,
    durationInBoxes: code.boxes ?? null,
    firstBoxOnly: code.firstBoxOnly,
    maxRedemptions: code.maxRedemptions ?? null,
    redemptionCount: code.redemptionCount,
    expiresAt: iso(code.expiresAt),
    status: code.status,
    usable: code.status === 'active' && !isExpired(code, now) && !isUsedUp(code),
    archivedAt: iso(code.archivedAt),
    stripe: {
      state: code.stripe.state,
      couponId: code.stripe.couponId ?? null,
      promotionCodeId: code.stripe.promotionCodeId ?? null,
      active: code.stripe.promotionCodeId !== undefined && code.stripe.deactivatedAt === undefined,
      lastError: code.stripe.lastError ?? null,
    },
    createdAt: iso(code.createdAt),
    updatedAt: iso(code.updatedAt),
  };
}

async function findPromoCode(merchantId: string, promoCodeId: string): Promise<PromoCode> {
  const code = await PromoCodeModel.findOne({ _id: promoCodeId, merchantId }).lean();
  if (!code) throw new NotFoundError('No promo code with this id.');
  return code;
}

/**
 * Creates a promo code and mirrors it to Stripe (a coupon and a promotion code; retried by the catalog sync
 * job when Stripe fails). With an Idempotency-Key its id, and so its Stripe keys, are the same on a retry.
 */
export async function createPromoCode(
  deps: PromotionSyncDeps,
  merchantId: string,
  input: CreatePromoCodeBody,
  idempotencyKey?: string,
): Promise<PromoCodeView> {
  const id = idempotencyKey ? derivedId('pcode', `${merchantId}:${idempotencyKey}`) : newId('pcode');
  const existing = await PromoCodeModel.findOne({ _id: id, merchantId }).lean();
  if (existing) return toPromoCodeView(existing, deps.clock.now());
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  const now = deps.clock.now();
  const expiresAt = input.expiresAt !== undefined ? new Date(input.expiresAt) : undefined;
  if (expiresAt && expiresAt <= now) throw invalidInput('expiresAt', 'must be in the future');
  const code: PromoCode = {
    _id: id,
    merchantId,
    code: input.code,
    description: input.description,
    ...(input.percentOff !== undefined
      ? { percentOff: input.percentOff }
      : { amountOffMinor: input.amountOffMinor!, currency: input.currency ?? merchant.defaultCurrency }),
    duration: input.duration,
    ...(input.duration === 'repeating' ? { boxes: input.durationInBoxes! } : {}),
    firstBoxOnly: input.firstBoxOnly,
    ...(input.maxRedemptions !== undefined ? { maxRedemptions: input.maxRedemptions } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    status: 'active',
    redemptionCount: 0,
    stripe: { state: 'pending' },
    revision: 0,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await PromoCodeModel.create(code);
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    const raced = await PromoCodeModel.findOne({ _id: id, merchantId }).lean();
    if (raced) return toPromoCodeView(raced, now); // a concurrent retry of the same request stored it
    throw new PromoCodeTakenError(`The code ${input.code} is one of your promo codes already (codes ignore case); choose another.`);
  }
  await syncPromoCodeToStripe(deps, id);
  return toPromoCodeView(await findPromoCode(merchantId, id), deps.clock.now());
}

export async function getPromoCode(clock: Clock, merchantId: string, promoCodeId: string): Promise<PromoCodeView> {
  return toPromoCodeView(await findPromoCode(merchantId, promoCodeId), clock.now());
}

export async function listPromoCodes(
  clock: Clock,
  merchantId: string,
  query: { limit: number; startingAfter?: string | undefined; status?: PromoCode['status'] | undefined },
) {
  const codes = await PromoCodeModel.find({ merchantId, ...(query.status ? { status: query.status } : {}), ...afterCursor(decodeCursor(query.startingAfter)) })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  const now = clock.now();
  return listPage(codes, query.limit, (code) => toPromoCodeView(code, now));
}

/**
 * Archives a code: no one can apply it any more, here or in Stripe (its promotion code is deactivated).
 * Subscriptions that applied it keep their discount for the boxes it covers.
 */
export async function archivePromoCode(deps: PromotionSyncDeps, merchantId: string, promoCodeId: string): Promise<PromoCodeView> {
  const now = deps.clock.now();
  const archived = await PromoCodeModel.findOneAndUpdate(
    { _id: promoCodeId, merchantId, status: 'active' },
    { $set: { status: 'archived', archivedAt: now, updatedAt: now, 'stripe.state': 'pending' }, $inc: { revision: 1 } },
    { returnDocument: 'after', lean: true },
  );
  if (!archived) {
    await findPromoCode(merchantId, promoCodeId);
    throw new InvalidStateError('This promo code is archived already.');
  }
  await syncPromoCodeToStripe(deps, promoCodeId);
  return toPromoCodeView(await findPromoCode(merchantId, promoCodeId), deps.clock.now());
}

function toRedemptionView(redemption: PromoCodeRedemption) {
  return {
    id: redemption._id,
    object: 'promo_code_redemption' as const,
    promoCodeId: redemption.promoCodeId,
    subscriptionId: redemption.subscriptionId,
    customerId: redemption.customerId,
    redeemedAt: iso(redemption.createdAt),
  };
}

/** The subscriptions that used a code, newest first. */
export async function listPromoCodeRedemptions(merchantId: string, promoCodeId: string, query: { limit: number; startingAfter?: string | undefined }) {
  await findPromoCode(merchantId, promoCodeId);
  const redemptions = await PromoCodeRedemptionModel.find({ merchantId, promoCodeId, state: 'counted', ...afterCursor(decodeCursor(query.startingAfter)) })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(redemptions, query.limit, toRedemptionView);
}

// ---------------------------------------------------------------------------------------------------------
// Applying a code: the answer to the subscriptions core's `promoCode` question
// ---------------------------------------------------------------------------------------------------------

/**
 * Why a code cannot be applied now, in words, or undefined when it can (its limits as last read). A use
 * counted already for this subscription (a retried sign-up) is not refused for the limit it is part of.
 */
function refusalOf(code: PromoCode, now: Date, options: { counted?: boolean } = {}): PromoCodeRefusedError | undefined {
  if (code.status === 'archived') return new PromoCodeRefusedError(`The promo code ${code.code} is no longer offered.`, 'archived');
  if (isExpired(code, now)) return new PromoCodeRefusedError(`The promo code ${code.code} has expired.`, 'expired');
  if (isUsedUp(code) && !options.counted) return new PromoCodeRefusedError(`The promo code ${code.code} has been used as many times as it can be.`, 'used_up');
  return undefined;
}

function redemptionIdOf(promoCodeId: string, subscriptionId: string): string {
  return derivedId('pcr', `${promoCodeId}:${subscriptionId}`);
}

/** A claim older than this was left by a request that died: another request of the same subscription takes it over. */
const STALE_CLAIM_MS = 60_000;

/**
 * Counts one use of a code by a subscription: once per subscription, and never past `maxRedemptions`
 * whatever the concurrency.
 * 1. The subscription claims its redemption (keyed by code and subscription): of several requests of one
 *    subscription at once, one counts it; the others are told to retry (409), and a subscription already
 *    counted is not counted again.
 * 2. The claimer counts it with a `$inc` guarded by the code still being active, unexpired and under its
 *    limit; refused, it gives the claim back.
 * A request that dies after counting and before marking its claim counted leaves a use counted that a retry
 * counts again: the count can be too high by a crashed request, never past the limit.
 */
async function redeemPromoCode(code: PromoCode, input: { subscriptionId: string; customerId: string; now: Date }): Promise<void> {
  const redemptionId = redemptionIdOf(code._id, input.subscriptionId);
  const { now } = input;
  let claimed = false;
  try {
    const result = await PromoCodeRedemptionModel.updateOne(
      { _id: redemptionId },
      {
        $setOnInsert: {
          merchantId: code.merchantId,
          promoCodeId: code._id,
          subscriptionId: input.subscriptionId,
          customerId: input.customerId,
          state: 'claimed',
          createdAt: now,
        },
      },
      { upsert: true },
    );
    claimed = result.upsertedCount === 1;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // a concurrent request of the same subscription claimed it
  }
  if (!claimed) {
    const existing = await PromoCodeRedemptionModel.findById(redemptionId).lean();
    if (existing?.state === 'counted') return;
    const busy = new ConflictError('This promo code is being applied to this subscription by another request; try again in a moment.');
    if (!existing || existing.createdAt.getTime() > now.getTime() - STALE_CLAIM_MS) throw busy;
    const takenOver = await PromoCodeRedemptionModel.updateOne(
      { _id: redemptionId, state: 'claimed', createdAt: existing.createdAt },
      { $set: { createdAt: now } },
    );
    if (takenOver.modifiedCount === 0) throw busy;
  }
  const counted = await PromoCodeModel.updateOne(
    {
      _id: code._id,
      merchantId: code.merchantId,
      status: 'active',
      $or: [{ expiresAt: { $exists: false } }, { expiresAt: { $gt: now } }],
      // The limit never changes, so the value read is the guard.
      ...(code.maxRedemptions !== undefined ? { redemptionCount: { $lt: code.maxRedemptions } } : {}),
    },
    { $inc: { redemptionCount: 1 }, $set: { updatedAt: now } },
  );
  if (counted.matchedCount === 0) {
    await PromoCodeRedemptionModel.deleteOne({ _id: redemptionId, state: 'claimed' });
    const current = await PromoCodeModel.findById(code._id).lean();
    throw (current && refusalOf(current, now)) ?? new PromoCodeRefusedError(`The promo code ${code.code} cannot be used now.`, 'used_up');
  }
  await PromoCodeRedemptionModel.updateOne({ _id: redemptionId }, { $set: { state: 'counted', createdAt: now } });
}

/**
 * A code as a shopper types it (any case), for this subscription: its terms, or a refusal in words — unknown,
 * archived, expired, used up, for new subscribers only (`firstBoxOnly` on an existing subscription), an amount
 * in another currency than the boxes'. Counts nothing until `redeem` is called.
 */
export async function promoCodeFor(input: {
  merchantId: string;
  code: string;
  subscriptionId: string;
  customerId: string;
  currency: string;
  signUp: boolean;
  now: Date;
}): Promise<{ terms: PromoCodeTerms; redeem: () => Promise<void> }> {
  const typed = input.code.trim().toUpperCase();
  const code = /^[A-Z0-9-]{3,32}$/.test(typed) ? await PromoCodeModel.findOne({ merchantId: input.merchantId, code: typed }).lean() : null;
  if (!code) throw new PromoCodeRefusedError(`There is no promo code ${typed.slice(0, 32)} in this shop.`, 'unknown');
  const counted = (await PromoCodeRedemptionModel.exists({ _id: redemptionIdOf(code._id, input.subscriptionId), state: 'counted' })) !== null;
  const refusal = refusalOf(code, input.now, { counted });
  if (refusal) throw refusal;
  if (code.firstBoxOnly && !input.signUp) {
    throw new PromoCodeRefusedError(`The promo code ${code.code} is for new subscribers, when they subscribe.`, 'first_box_only');
  }
  if (code.amountOffMinor !== undefined && code.currency !== input.currency) {
    throw new PromoCodeRefusedError(
      `The promo code ${code.code} takes an amount in ${code.currency} off; these boxes are paid in ${input.currency}.`,
      'currency',
    );
  }
  if (!code.stripe.couponId || !code.stripe.promotionCodeId) {
    throw new InvalidStateError(`The promo code ${code.code} is not ready in Stripe yet; try again in a minute.`);
  }
  return {
    terms: {
      promoCodeId: code._id,
      code: code.code,
      description: code.description,
      ...(code.percentOff !== undefined ? { percentOff: code.percentOff } : { amountOffMinor: code.amountOffMinor!, currency: code.currency! }),
      duration: code.duration,
      ...(code.boxes !== undefined ? { boxes: code.boxes } : {}),
      stripeCouponId: code.stripe.couponId,
      stripePromotionCodeId: code.stripe.promotionCodeId,
    },
    redeem: () => redeemPromoCode(code, input),
  };
}
