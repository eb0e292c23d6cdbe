import type { Customer } from '../customers/customer.model';
import { customerExists, findCustomer } from '../customers/customer.queries';
import { fact, initialFacts, recordFacts, type PendingFact } from '../events/fact-source';
import { actors, type Actor } from '../events/fact-types';
import { postLedgerEntry } from '../loyalty/loyalty-ledger.service';
import { merchantProfile } from '../merchants/merchant.queries';
import { hasPaidBox } from '../orders/order.queries';
import { isDuplicateKeyError } from '../shared/db';
import { InvalidStateError, NotFoundError, ReferralRefusedError } from '../shared/errors';
import { derivedId } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { hasOtherSubscription } from '../subscriptions/subscription.queries';
import { holdReasons, isReferralCode, newReferralCode, normalizeReferralCode, selfReferralReason, type Party } from './referral-rules';
import {
  ReferralCodeModel,
  ReferralModel,
  ReferralProgramModel,
  type Referral,
  type ReferralProgram,
  type ReferrerReward,
  type WelcomeOffer,
} from './referral.model';
import type { ListReferralsQuery, ReferralCodeView, ReferralProgramBody, ReferralProgramView, ReferralView, ReviewReferralBody } from './referral.schemas';

export type { ReferrerReward, WelcomeOffer };

export interface ReferralDeps {
  clock: Clock;
  logger: Logger;
}

const DAY_MS = 24 * 3_600_000;
/** An attribution whose subscription still does not exist this long after was a creation that failed. */
const ABANDONED_ATTRIBUTION_MS = 10 * 60_000;
const CODE_ATTEMPTS = 5;

// ---------------------------------------------------------------------------------------------------------
// The programme
// ---------------------------------------------------------------------------------------------------------

function toProgramView(program: ReferralProgram): ReferralProgramView {
  return {
    object: 'referral_program',
    enabled: program.enabled,
    currency: program.currency,
    welcomeOffer: program.welcomeOffer,
    referrerReward: program.referrerReward,
    review: { maxReferralsPer30Days: program.review.maxReferralsPer30Days },
    createdAt: iso(program.createdAt),
    updatedAt: iso(program.updatedAt),
  };
}

export async function getReferralProgram(merchantId: string): Promise<ReferralProgramView> {
  const program = await ReferralProgramModel.findOne({ _id: merchantId, merchantId }).lean();
  if (!program) throw new NotFoundError('No referral programme is set up yet.');
  return toProgramView(program);
}

/** Whether the merchant's referral programme is running (shoppers get and share codes). */
export async function isReferralProgramRunning(merchantId: string): Promise<boolean> {
  return (await ReferralProgramModel.exists({ _id: merchantId, merchantId, enabled: true })) !== null;
}

/**
 * Creates or replaces the merchant's programme. Amounts are in the merchant's default currency, taken now.
 * Referrals already made keep the offer and reward they were made with.
 */
export async function saveReferralProgram(clock: Clock, merchantId: string, body: ReferralProgramBody): Promise<ReferralProgramView> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  const now = clock.now();
  const program = await ReferralProgramModel.findOneAndUpdate(
    { _id: merchantId },
    {
      $set: {
        merchantId,
        enabled: body.enabled,
        currency: merchant.defaultCurrency,
        welcomeOffer: body.welcomeOffer,
        referrerReward: body.referrerReward,
        review: { maxReferralsPer30Days: body.review.maxReferralsPer30Days },
        updatedAt: now,
      },
      $setOnInsert: { createdAt: now },
    },
    { upsert: true, returnDocument: 'after', lean: true },
  );
  if (!program) throw new Error(`referral programme of ${merchantId} not found after its upsert`);
  return toProgramView(program);
}

// ---------------------------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------------------------

/**
 * The shopper's code, made on first ask: one per shopper (unique on merchant + customer), so concurrent
 * first asks get the same code. A new code that happens to be taken already is drawn again.
 */
export async function referralCodeFor(clock: Clock, merchantId: string, customerId: string): Promise<string> {
  if (!(await customerExists(merchantId, customerId))) throw new NotFoundError('No customer with this id.');
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt += 1) {
    try {
      const code = await ReferralCodeModel.findOneAndUpdate(
        { merchantId, customerId },
        { $setOnInsert: { _id: newReferralCode(), createdAt: clock.now() } },
        { upsert: true, returnDocument: 'after', lean: true },
      );
      if (code) return code._id;
    } catch (error) {
      // Either a concurrent first ask stored this shopper's code (found on the next turn), or the code drawn
      // belongs to someone else (another is drawn).
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
  throw new Error(`no referral code stored for ${customerId} after ${CODE_ATTEMPTS} attempts`);
}

export async function getCustomerReferralCode(clock: Clock, merchantId: string, customerId: string): Promise<ReferralCodeView> {
  return { object: 'referral_code', code: await referralCodeFor(clock, merchantId, customerId), customerId };
}

/** A referrer's side of the programme, for their rewards page. */
export interface ReferrerStanding {
  code: string;
  /** The programme's terms now: what a friend gets off their first box, and what the referrer earns once it is paid. */
  welcomeOffer: WelcomeOffer;
  reward: ReferrerReward;
  /** Friends who subscribed with the code: waiting for their first box to be paid (or for the store's review), rewarded, or not accepted. */
  referrals: { total: number; waiting: number; rewarded: number; declined: number };
  /** What the rewarded referrals earned, in the programme's currency. */
  earned: { points: number; creditMinor: number; currency: string };
}

/**
 * The shopper's code (made on first ask), the programme's terms and how their referrals stand; undefined
 * when the merchant runs no referral programme.
 */
export async function referrerStandingOf(clock: Clock, merchantId: string, customerId: string): Promise<ReferrerStanding | undefined> {
  const program = await ReferralProgramModel.findOne({ _id: merchantId, merchantId, enabled: true }).lean();
  if (!program) return undefined;
  const code = await referralCodeFor(clock, merchantId, customerId);
  const referrals = await ReferralModel.find({ merchantId, referrerCustomerId: customerId }, { status: 1, reward: 1 }).lean();
  const rewarded = referrals.filter((referral) => referral.status === 'rewarded');
  const inCurrency = rewarded.filter((referral) => referral.reward.currency === program.currency);
  return {
    code,
    welcomeOffer: copyOffer(program),
    reward: copyReward(program),
    referrals: {
      total: referrals.length,
      waiting: referrals.filter((referral) => referral.status === 'pending' || referral.status === 'held').length,
      rewarded: rewarded.length,
      declined: referrals.filter((referral) => referral.status === 'rejected').length,
    },
    earned: {
      points: inCurrency.reduce((sum, referral) => sum + (referral.reward.type === 'points' ? referral.reward.points : 0), 0),
      creditMinor: inCurrency.reduce((sum, referral) => sum + (referral.reward.type === 'credit' ? referral.reward.creditMinor : 0), 0),
      currency: program.currency,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Attribution
// ---------------------------------------------------------------------------------------------------------

/** One referral per friend, ever: the id says so. */
export function referralIdOf(merchantId: string, friendCustomerId: string): string {
  return derivedId('ref', `${merchantId}:${friendCustomerId}`);
}

function partyOf(customer: Customer): Party {
  return { customerId: customer._id, email: customer.email, shippingAddress: customer.shippingAddress };
}

function copyOffer(program: ReferralProgram): WelcomeOffer {
  const offer = program.welcomeOffer;
  return offer.type === 'percent'
    ? { type: 'percent', percentOff: offer.percentOff }
    : { type: 'amount', amountOffMinor: offer.amountOffMinor, currency: program.currency };
}

function copyReward(program: ReferralProgram): ReferrerReward {
  const reward = program.referrerReward;
  return reward.type === 'points'
    ? { type: 'points', points: reward.points, currency: program.currency }
    : { type: 'credit', creditMinor: reward.creditMinor, currency: program.currency };
}

/** What a fact about a referral says of it: both parties, and what each gets. */
function referralFactData(referral: Pick<Referral, 'code' | 'referrerCustomerId' | 'friendCustomerId' | 'friendSubscriptionId' | 'reward' | 'welcomeOffer'>) {
  return {
    code: referral.code,
    referrerCustomerId: referral.referrerCustomerId,
    friendCustomerId: referral.friendCustomerId,
    friendSubscriptionId: referral.friendSubscriptionId,
    reward: referral.reward,
    welcomeOffer: referral.welcomeOffer,
  };
}

/**
 * What an earlier referral of this friend means for this creation: the same subscription is a retry (the
 * same referral and offer, whatever its status); another one is a second referral (refused), unless the
 * earlier creation failed — 10 minutes on, the friend still has no subscription at all — when this
 * creation takes the referral over (a shopper whose card was declined can try again without a key): the
 * referral is attributed again, to the new subscription.
 */
async function resumeEarlier(
  clock: Clock,
  earlier: Referral,
  friendSubscriptionId: string,
  actor: Actor,
): Promise<{ referralId: string; welcomeOffer: WelcomeOffer }> {
  if (earlier.friendSubscriptionId === friendSubscriptionId) return { referralId: earlier._id, welcomeOffer: earlier.welcomeOffer };
  const abandoned =
    (earlier.status === 'pending' || earlier.status === 'held') &&
    earlier.createdAt.getTime() <= clock.now().getTime() - ABANDONED_ATTRIBUTION_MS &&
    !(await hasOtherSubscription(earlier.merchantId, earlier.friendCustomerId, friendSubscriptionId));
  if (abandoned) {
    await ReferralModel.updateOne(
      { _id: earlier._id, merchantId: earlier.merchantId, friendSubscriptionId: earlier.friendSubscriptionId, status: { $in: ['pending', 'held'] } },
      recordFacts(
        { $set: { friendSubscriptionId } },
        fact('referral.attributed', actor, clock.now(), {
          ...referralFactData({ ...earlier, friendSubscriptionId }),
          replacesSubscriptionId: earlier.friendSubscriptionId,
        }),
      ),
    );
    // Taken over by this call, or by a concurrent retry of this same creation.
    const current = await ReferralModel.findOne({ _id: earlier._id, merchantId: earlier.merchantId }).lean();
    if (current?.friendSubscriptionId === friendSubscriptionId) return { referralId: current._id, welcomeOffer: current.welcomeOffer };
  }
  throw new ReferralRefusedError('This shopper was already referred: a shopper can be referred once.');
}

/**
 * Attributes a new subscription to the owner of `code`, before the subscription is created in Stripe, and
 * returns the friend's welcome offer. Refused (`ReferralRefusedError`) when there is no running programme,
 * the code is not the merchant's, the friend is the referrer (same shopper or same mailbox), or the friend
 * was referred or subscribed before. Held for review (the friend still gets the offer; the referrer's
 * reward waits) when the two share a shipping address, have near-identical e-mail addresses, or the
 * referrer reached the programme's 30-day limit. A retry of the same creation (same `friendSubscriptionId`)
 * returns the same referral. The 30-day count is not a budget: two attributions at the same instant may
 * both pass it.
 */
export async function attributeReferral(
  deps: { clock: Clock },
  input: { merchantId: string; code: string; friendCustomerId: string; friendSubscriptionId: string; actor?: Actor },
): Promise<{ referralId: string; welcomeOffer: WelcomeOffer }> {
  const { merchantId } = input;
  const actor = input.actor ?? actors.merchant();
  const referralId = referralIdOf(merchantId, input.friendCustomerId);
  const earlier = await ReferralModel.findOne({ _id: referralId, merchantId }).lean();
  if (earlier) return resumeEarlier(deps.clock, earlier, input.friendSubscriptionId, actor);

  const program = await ReferralProgramModel.findOne({ _id: merchantId, merchantId }).lean();
  if (!program?.enabled) throw new ReferralRefusedError('This shop has no referral programme running.');
  const code = normalizeReferralCode(input.code);
  const owner = isReferralCode(code) ? await ReferralCodeModel.findOne({ _id: code, merchantId }).lean() : null;
  if (!owner) throw new ReferralRefusedError('This referral code is not valid in this shop.');
  const [referrer, friend] = await Promise.all([findCustomer(merchantId, owner.customerId), findCustomer(merchantId, input.friendCustomerId)]);
  if (!friend) throw new NotFoundError('No customer with this id.');
  if (!referrer) throw new ReferralRefusedError('This referral code is not valid in this shop.');
  const self = selfReferralReason(partyOf(referrer), partyOf(friend));
  if (self) throw new ReferralRefusedError(self);
  if (await hasOtherSubscription(merchantId, friend._id, input.friendSubscriptionId)) {
    throw new ReferralRefusedError('Referral codes are for new subscribers: this shopper has subscribed before.');
  }

  const now = deps.clock.now();
  const recent = await ReferralModel.countDocuments({
    merchantId,
    referrerCustomerId: referrer._id,
    createdAt: { $gt: new Date(now.getTime() - 30 * DAY_MS) },
  });
  const reasons = holdReasons(partyOf(referrer), partyOf(friend), recent, program.review.maxReferralsPer30Days);
  const terms = {
    code,
    referrerCustomerId: referrer._id,
    friendCustomerId: friend._id,
    friendSubscriptionId: input.friendSubscriptionId,
    reward: copyReward(program),
    welcomeOffer: copyOffer(program),
  };
  const facts: PendingFact[] = [fact('referral.attributed', actor, now, referralFactData(terms))];
  if (reasons.length > 0) facts.push(fact('referral.held', actor, now, { ...referralFactData(terms), reasons }));
  const referral: Omit<Referral, '_id'> = {
    merchantId,
    ...terms,
    status: reasons.length > 0 ? 'held' : 'pending',
    heldReasons: reasons,
    createdAt: now,
    ...initialFacts(...facts),
  };
  let stored: Referral | null = null;
  try {
    stored = await ReferralModel.findOneAndUpdate({ _id: referralId }, { $setOnInsert: referral }, { upsert: true, returnDocument: 'after', lean: true });
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // a concurrent attribution of the same friend won
  }
  stored ??= await ReferralModel.findOne({ _id: referralId, merchantId }).lean();
  if (!stored) throw new Error(`referral ${referralId} not found after its upsert`);
  return resumeEarlier(deps.clock, stored, input.friendSubscriptionId, actor);
}

// ---------------------------------------------------------------------------------------------------------
// The reward
// ---------------------------------------------------------------------------------------------------------

/**
 * Rewards the referrer of a pending referral whose friend has a paid box; does nothing otherwise. Every step
 * is keyed, so a replay or a second worker adds nothing, and a crash part-way is completed by the next call:
 * claim (from then on the referral cannot be rejected) → the ledger entry (one per `referral:<id>`) →
 * `rewarded` with its fact, last, so a referral marked rewarded has its reward (a message listener tells the
 * referrer).
 */
async function grantReward(deps: ReferralDeps, referral: Referral, actor: Actor): Promise<void> {
  const { merchantId } = referral;
  if (!(await hasPaidBox(merchantId, referral.friendSubscriptionId))) return;
  const now = deps.clock.now();
  await ReferralModel.updateOne({ _id: referral._id, merchantId, status: 'pending', rewardClaimedAt: { $exists: false } }, { $set: { rewardClaimedAt: now } });
  // Claimed by this call or an earlier one; not claimed means rejected (or rewarded) before it.
  if (!(await ReferralModel.exists({ _id: referral._id, merchantId, status: 'pending', rewardClaimedAt: { $exists: true } }))) return;

  const reward = referral.reward;
  await postLedgerEntry(deps.clock, {
    merchantId,
    customerId: referral.referrerCustomerId,
    source: `referral:${referral._id}`,
    kind: 'referral',
    ...(reward.type === 'points' ? { points: reward.points } : { creditMinor: reward.creditMinor }),
    currency: reward.currency,
    description: 'Reward for referring a friend',
  });
  const marked = await ReferralModel.updateOne(
    { _id: referral._id, merchantId, status: 'pending' },
    recordFacts({ $set: { status: 'rewarded', rewardedAt: now } }, fact('referral.rewarded', actor, now, referralFactData(referral))),
  );
  // matchedCount 0: a concurrent worker marked it first, after the same keyed writes.
  if (marked.matchedCount > 0) {
    deps.logger.info({ merchantId, referralId: referral._id, referrerCustomerId: referral.referrerCustomerId, reward }, 'referrer rewarded');
  }
}

/**
 * After every paid box of a subscription: if it is a referred friend's and the referral is pending, the
 * referrer is rewarded once the friend has a paid box. One indexed read when there is no such referral.
 */
export async function rewardReferrerForPaidBox(
  deps: { clock: Clock; logger: Logger },
  input: { merchantId: string; friendSubscriptionId: string; actor?: Actor },
): Promise<void> {
  const referral = await ReferralModel.findOne({ merchantId: input.merchantId, friendSubscriptionId: input.friendSubscriptionId, status: 'pending' }).lean();
  if (!referral) return;
  await grantReward(deps, referral, input.actor ?? actors.system());
}

// ---------------------------------------------------------------------------------------------------------
// Review
// ---------------------------------------------------------------------------------------------------------

function toReferralView(referral: Referral): ReferralView {
  return {
    id: referral._id,
    object: 'referral',
    code: referral.code,
    referrerCustomerId: referral.referrerCustomerId,
    friendCustomerId: referral.friendCustomerId,
    friendSubscriptionId: referral.friendSubscriptionId,
    status: referral.status,
    heldReasons: referral.heldReasons,
    welcomeOffer: referral.welcomeOffer,
    reward: referral.reward,
    rewardedAt: iso(referral.rewardedAt),
    reviewedAt: iso(referral.reviewedAt),
    reviewNote: referral.reviewNote ?? null,
    createdAt: iso(referral.createdAt),
  };
}

async function findReferral(merchantId: string, referralId: string): Promise<Referral> {
  const referral = await ReferralModel.findOne({ _id: referralId, merchantId }).lean();
  if (!referral) throw new NotFoundError('No referral with this id.');
  return referral;
}

export async function listReferrals(merchantId: string, query: ListReferralsQuery) {
  const referrals = await ReferralModel.find({
    merchantId,
    ...(query.status ? { status: query.status } : {}),
    ...afterCursor(decodeCursor(query.startingAfter)),
  })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(referrals, query.limit, toReferralView);
}

export async function getReferral(merchantId: string, referralId: string): Promise<ReferralView> {
  return toReferralView(await findReferral(merchantId, referralId));
}

/** A held referral goes on as pending; if the friend's box is paid already, the referrer is rewarded now. */
export async function approveReferral(
  deps: ReferralDeps,
  merchantId: string,
  referralId: string,
  body: ReviewReferralBody,
  actor: Actor = actors.merchant(),
): Promise<ReferralView> {
  const referral = await findReferral(merchantId, referralId);
  const now = deps.clock.now();
  const approved = await ReferralModel.findOneAndUpdate(
    { _id: referralId, merchantId, status: 'held' },
    recordFacts(
      { $set: { status: 'pending', reviewedAt: now, ...(body.note ? { reviewNote: body.note } : {}) } },
      fact('referral.approved', actor, now, { ...referralFactData(referral), note: body.note ?? null }),
    ),
    { returnDocument: 'after', lean: true },
  );
  if (!approved) {
    const current = await findReferral(merchantId, referralId);
    throw new InvalidStateError(`This referral is ${current.status}: only a held referral can be approved.`);
  }
  await grantReward(deps, approved, actor);
  return toReferralView(await findReferral(merchantId, referralId));
}

/**
 * A held or pending referral is closed without a reward (the friend keeps their offer). Once the friend's
 * box is paid and the reward is being granted, it can no longer be rejected.
 */
export async function rejectReferral(
  clock: Clock,
  merchantId: string,
  referralId: string,
  body: ReviewReferralBody,
  actor: Actor = actors.merchant(),
): Promise<ReferralView> {
  const referral = await findReferral(merchantId, referralId);
  const now = clock.now();
  const rejected = await ReferralModel.findOneAndUpdate(
    { _id: referralId, merchantId, status: { $in: ['held', 'pending'] }, rewardClaimedAt: { $exists: false } },
    recordFacts(
      { $set: { status: 'rejected', reviewedAt: now, ...(body.note ? { reviewNote: body.note } : {}) } },
      fact('referral.rejected', actor, now, { ...referralFactData(referral), note: body.note ?? null }),
    ),
    { returnDocument: 'after', lean: true },
  );
  if (!rejected) {
    const current = await findReferral(merchantId, referralId);
    throw new InvalidStateError(
      current.status === 'pending'
        ? "The friend's box is paid and the referrer's reward is being granted: this referral can no longer be rejected."
        : `This referral is ${current.status}: only a held or pending referral can be rejected.`,
    );
  }
  return toReferralView(rejected);
}
