import { findAddon } from '../addons/addon.queries';
import { fact, initialFacts } from '../events/fact-source';
import { actors } from '../events/fact-types';
import { customersWithBirthdayOn } from '../customers/customer.queries';
import { loyaltyProgramOf, pointsExpiryFor } from '../loyalty/loyalty.service';
import { ledgerEntryOf, postLedgerEntry } from '../loyalty/loyalty-ledger.service';
import { standingOf } from '../loyalty/loyalty-standing.service';
import { merchantProfile } from '../merchants/merchant.queries';
import type { BoxOrder } from '../orders/box-order.model';
import { isEligible } from '../perks/eligibility';
import { checkCatalogRefs, checkDateWindow } from '../perks/perk.service';
import { addLocalDays, anniversaryIn, localDateOf } from '../shared/calendar';
import { InvalidStateError, NotFoundError } from '../shared/errors';
import { derivedId, newId } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { percentOf } from '../shared/money';
import { batchShare, readEveryTime, type RunMemo } from '../shared/run-memo';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { isStatusIn, LIVE_STATUSES } from '../subscriptions/subscription-states';
import type { Subscription } from '../subscriptions/subscription.model';
import { oldestSubscriptionOfEach, subscriptionEndingsOf, subscriptionsWithAnniversaryOn } from '../subscriptions/subscription.queries';
import { BoxRewardModel, OfferModel, thresholdTermsOf, type BoxReward, type Offer } from './offer.model';
import type { CreateOfferBody, OfferView } from './offer.schemas';

export { thresholdTermsOf };

const DAY_MS = 24 * 3_600_000;
/** Yearly rewards are granted on the day, or up to this many days late if the job could not run. */
const YEARLY_CATCH_UP_DAYS = 7;

function toOfferView(offer: Offer): OfferView {
  return {
    id: offer._id,
    object: 'offer',
    name: offer.name,
    kind: offer.kind,
    status: offer.status,
    currency: offer.currency,
    eligibility: { ...offer.eligibility },
    threshold: thresholdTermsOf(offer) ?? null,
    comeback: offer.comeback
      ? { withinDays: offer.comeback.withinDays, percentOff: offer.comeback.percentOff ?? null, amountOffMinor: offer.comeback.amountOffMinor ?? null }
      : null,
    reward: offer.reward ? { ...offer.reward } : null,
    createdAt: iso(offer.createdAt),
  };
}

export async function createOffer(clock: Clock, merchantId: string, input: CreateOfferBody): Promise<OfferView> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  const eligibility = 'eligibility' in input ? input.eligibility : {};
  checkDateWindow(eligibility, 'eligibility');
  await checkCatalogRefs(merchantId, { planIds: eligibility.planIds }, 'eligibility');
  if ('reward' in input && input.reward.type === 'free_addon') await checkCatalogRefs(merchantId, { addonIds: [input.reward.addonId] }, 'reward');
  const now = clock.now();
  const offer: Offer = {
    _id: newId('ofr'),
    merchantId,
    name: input.name,
    status: 'active',
    kind: input.kind,
    eligibility,
    currency: merchant.defaultCurrency,
    ...(input.kind === 'threshold' ? { threshold: { basis: input.basis, minSpendMinor: input.minSpendMinor, amountOffMinor: input.amountOffMinor } } : {}),
    ...(input.kind === 'comeback'
      ? {
          comeback: {
            withinDays: input.withinDays,
            ...(input.percentOff !== undefined ? { percentOff: input.percentOff } : {}),
            ...(input.amountOffMinor !== undefined ? { amountOffMinor: input.amountOffMinor } : {}),
          },
        }
      : {}),
    ...(input.kind === 'birthday' || input.kind === 'anniversary' ? { reward: input.reward } : {}),
    createdAt: now,
    updatedAt: now,
  };
  await OfferModel.create(offer);
  return toOfferView(offer);
}

export async function getOffer(merchantId: string, offerId: string): Promise<OfferView> {
  const offer = await OfferModel.findOne({ _id: offerId, merchantId }).lean();
  if (!offer) throw new NotFoundError('No such offer.');
  return toOfferView(offer);
}

export async function listOffers(merchantId: string, query: { limit: number; startingAfter?: string | undefined; kind?: Offer['kind'] | undefined }) {
  const offers = await OfferModel.find({ merchantId, ...(query.kind ? { kind: query.kind } : {}), ...afterCursor(decodeCursor(query.startingAfter)) })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(offers, query.limit, toOfferView);
}

export async function archiveOffer(clock: Clock, merchantId: string, offerId: string): Promise<OfferView> {
  const offer = await OfferModel.findOneAndUpdate(
    { _id: offerId, merchantId, status: 'active' },
    { $set: { status: 'archived', updatedAt: clock.now() } },
    { returnDocument: 'after', lean: true },
  );
  if (offer) return toOfferView(offer);
  await getOffer(merchantId, offerId);
  throw new InvalidStateError('This offer is archived already.');
}

export async function activeOffers(merchantId: string, kind: Offer['kind']): Promise<Offer[]> {
  return OfferModel.find({ merchantId, status: 'active', kind }).sort({ createdAt: 1, _id: 1 }).lean();
}

// ---------------------------------------------------------------------------------------------------------
// Comeback: a discount on the first box of a shopper who returns within the window
// ---------------------------------------------------------------------------------------------------------

/**
 * The comeback offer worth most on the first box of a shopper subscribing again now, if their last
 * subscription ended within its window: a percentage of the box's price, or an amount in the offer's
 * currency (never given in another currency: ¥1500 is not $15.00). The oldest wins a tie.
 */
export async function comebackOfferFor(
  merchantId: string,
  customerId: string,
  now: Date,
  firstBox: { currency: string; priceMinor: number },
): Promise<Offer | undefined> {
  const offers = await activeOffers(merchantId, 'comeback');
  if (offers.length === 0) return undefined;
  const subscriptions = await subscriptionEndingsOf(merchantId, customerId);
  if (subscriptions.length === 0 || subscriptions.some((s) => isStatusIn(s.status, LIVE_STATUSES))) return undefined;
  const endedAt = Math.max(...subscriptions.map((s) => s.cancellation?.effectiveAt?.getTime() ?? 0));
  if (endedAt === 0 || endedAt > now.getTime()) return undefined;
  let best: { offer: Offer; off: number } | undefined;
  for (const offer of offers) {
    const terms = offer.comeback!;
    if (now.getTime() - endedAt > terms.withinDays * DAY_MS) continue;
    if (terms.percentOff === undefined && offer.currency !== firstBox.currency) continue;
    const off = terms.percentOff !== undefined ? percentOf(firstBox.priceMinor, terms.percentOff) : Math.min(terms.amountOffMinor ?? 0, firstBox.priceMinor);
    if (!best || off > best.off) best = { offer, off };
  }
  return best?.offer;
}

// ---------------------------------------------------------------------------------------------------------
// Birthday and anniversary rewards
// ---------------------------------------------------------------------------------------------------------

/** The local dates from `days - 1` days ago to today: a reward whose day is among them is due now. */
function recentDays(today: string, days: number): string[] {
  return Array.from({ length: days }, (_, index) => addLocalDays(today, -index));
}

/**
 * The birthdays (`MM-DD`) whose day (`anniversaryIn`) is one of `days`: each day's own month-day, and 02-29
 * when 02-28 of a year that is not a leap year is among them (a 02-29 birthday is kept on 02-28 then).
 */
export function birthdayMonthDaysIn(days: readonly string[]): string[] {
  const monthDays = new Set(days.map((day) => day.slice(5)));
  for (const day of days) if (day.slice(5) === '02-28' && anniversaryIn('02-29', Number(day.slice(0, 4))) === day) monthDays.add('02-29');
  return [...monthDays].sort();
}

const GRANT_JOB = actors.job('offers.grant-yearly-rewards');

/**
 * The fact of a yearly reward granted, recorded with the grant (on the box reward or the ledger entry that
 * holds it): the shopper's message follows it.
 */
function grantedFact(now: Date, offer: Offer, reason: string, years: number | undefined, currency: string | undefined) {
  const reward = offer.reward!;
  return fact('reward.granted', GRANT_JOB, now, {
    occasion: offer.kind,
    offerId: offer._id,
    offerName: offer.name,
    reason,
    ...(years !== undefined ? { years } : {}),
    reward:
      reward.type === 'points'
        ? { type: 'points', points: reward.points }
        : reward.type === 'credit'
          ? { type: 'credit', creditMinor: reward.creditMinor, currency }
          : { type: 'free_addon', addonId: reward.addonId, quantity: reward.quantity },
  });
}

async function grantYearlyReward(
  deps: { clock: Clock },
  offer: Offer,
  subscription: Pick<Subscription, '_id' | 'customerId'>,
  source: string,
  reason: string,
  years?: number,
): Promise<boolean> {
  const reward = offer.reward!;
  if (reward.type === 'free_addon') {
    const result = await BoxRewardModel.updateOne(
      { merchantId: offer.merchantId, source },
      {
        $setOnInsert: {
          _id: derivedId('rwd', `${offer.merchantId}:${source}`),
          customerId: subscription.customerId,
          subscriptionId: subscription._id,
          reason,
          offerId: offer._id,
          addonId: reward.addonId,
          quantity: reward.quantity,
          status: 'pending',
          createdAt: deps.clock.now(),
          ...initialFacts(grantedFact(deps.clock.now(), offer, reason, years, undefined)),
        },
      },
      { upsert: true },
    );
    return result.upsertedCount === 1;
  }
  const program = await loyaltyProgramOf(offer.merchantId);
  if (!program) return false; // points and credit need the loyalty programme
  if (await ledgerEntryOf(offer.merchantId, source)) return false; // granted before: not counted again
  const expiresAt = reward.type === 'points' ? pointsExpiryFor(program, deps.clock.now()) : undefined;
  const entry = await postLedgerEntry(deps.clock, {
    merchantId: offer.merchantId,
    customerId: subscription.customerId,
    source,
    kind: offer.kind === 'birthday' ? 'birthday' : 'anniversary',
    ...(reward.type === 'points' ? { points: reward.points } : { creditMinor: reward.creditMinor }),
    currency: program.currency,
    description: reason,
    subscriptionId: subscription._id,
    ...(expiresAt ? { expiresAt } : {}),
    facts: [grantedFact(deps.clock.now(), offer, reason, years, program.currency)],
  });
  return entry !== undefined;
}

/**
 * The offers.grant-yearly-rewards job: each birthday (of a shopper with a live subscription) and each
 * subscription anniversary whose day has come within the last week gets the offer's reward, once per year:
 * the source (`birthday:<customer>:<year>`, `anniversary:<subscription>:<year>`) is unique in the ledger or
 * among box rewards, so running the job again or on several workers grants nothing more. It reads only what
 * is due: the shoppers whose birthday month-day is in the window (`customersWithBirthdayOn`, a page at a time)
 * and their live subscriptions, and the subscriptions started on a date whose anniversary is in it.
 */
export async function grantYearlyRewards(deps: { clock: Clock; logger: Logger }): Promise<number> {
  const now = deps.clock.now();
  let granted = 0;
  const offers = await OfferModel.find({ status: 'active', kind: { $in: ['birthday', 'anniversary'] } }).lean();
  for (const offer of offers) {
    const merchant = await merchantProfile(offer.merchantId);
    if (!merchant) continue;
    const today = localDateOf(now, merchant.timezone);
    const days = recentDays(today, YEARLY_CATCH_UP_DAYS + 1); // the day itself, and the 7 after it
    const eligible = async (subscription: Subscription) => isEligible(offer.eligibility, await standingOf(subscription, today));
    try {
      if (offer.kind === 'anniversary') {
        for (const subscription of await subscriptionsWithAnniversaryOn(offer.merchantId, LIVE_STATUSES, merchant.timezone, days)) {
          const started = localDateOf(subscription.createdAt, merchant.timezone);
          for (const year of new Set(days.map((d) => Number(d.slice(0, 4))))) {
            const day = anniversaryIn(started.slice(5), year);
            if (year <= Number(started.slice(0, 4)) || !days.includes(day) || !(await eligible(subscription))) continue;
            const years = year - Number(started.slice(0, 4));
            if (
              await grantYearlyReward(
                deps,
                offer,
                subscription,
                `anniversary:${subscription._id}:${year}`,
                `${offer.name}: ${years} year${years > 1 ? 's' : ''} with us`,
                years,
              )
            )
              granted += 1;
          }
        }
      } else {
        // Only the shoppers whose birthday falls in the window (a page at a time), then their live subscriptions.
        for await (const customers of customersWithBirthdayOn(offer.merchantId, birthdayMonthDaysIn(days))) {
          const byCustomer = await oldestSubscriptionOfEach(
            offer.merchantId,
            customers.map((customer) => customer.customerId),
            LIVE_STATUSES,
          );
          for (const customer of customers) {
            const monthDay = customer.birthday.slice(-5);
            const subscription = byCustomer.get(customer.customerId);
            if (!subscription) continue;
            for (const year of new Set(days.map((d) => Number(d.slice(0, 4))))) {
              const day = anniversaryIn(monthDay, year);
              if (!days.includes(day) || !(await eligible(subscription))) continue;
              if (await grantYearlyReward(deps, offer, subscription, `birthday:${customer.customerId}:${year}`, `${offer.name}: happy birthday`)) granted += 1;
            }
          }
        }
      }
    } catch (error) {
      deps.logger.warn({ err: error, offerId: offer._id }, 'yearly rewards not all granted; next run retries');
    }
  }
  return granted;
}

// ---------------------------------------------------------------------------------------------------------
// Free add-ons waiting for a box
// ---------------------------------------------------------------------------------------------------------

/**
 * For the box builder: the free items waiting for the subscription, claimed for the box being built
 * (`in_box` with its order id, each a guarded update), so another box built in the same run does not take
 * them too; a rebuild of the same box finds them claimed for it. A box that is not sent, or leaves one out,
 * gives it back (`settleRewardsOfOrder`, after the box's facts).
 */
export async function claimBoxRewards(
  subscription: Pick<Subscription, '_id' | 'merchantId'>,
  orderId: string,
  /**
   * A batch's reads (src/shared/run-memo.ts): what waits for every box of the batch, read once, `cycleKey` and
   * `orderIdOf` naming each subscription's box of that cycle. Safe because every claim is a guarded write.
   */
  batch: { memo: RunMemo; cycleKey: string; orderIdOf: (subscriptionId: string) => string } = {
    memo: readEveryTime,
    cycleKey: '',
    orderIdOf: () => orderId,
  },
) {
  const { merchantId } = subscription;
  const waiting =
    (await batchShare(batch.memo, `box-rewards:${batch.cycleKey}`, 'subscriptionIds', merchantId, subscription._id, async (ids) => {
      const rewards = await BoxRewardModel.find({
        merchantId,
        subscriptionId: { $in: [...ids] },
        $or: [{ status: 'pending' }, { status: 'in_box', orderId: { $in: ids.map(batch.orderIdOf) } }],
      })
        .sort({ createdAt: 1, _id: 1 })
        .lean();
      const bySubscription = new Map<string, BoxReward[]>();
      for (const reward of rewards) bySubscription.set(reward.subscriptionId, [...(bySubscription.get(reward.subscriptionId) ?? []), reward]);
      return bySubscription;
    })) ?? [];
  const claimed = [];
  for (const reward of waiting) {
    if (reward.status === 'in_box') {
      if (reward.orderId === orderId) claimed.push(reward);
      continue;
    }
    const taken = await BoxRewardModel.updateOne({ _id: reward._id, merchantId, status: 'pending' }, { $set: { status: 'in_box', orderId } });
    if (taken.modifiedCount === 1) claimed.push({ ...reward, status: 'in_box' as const, orderId });
    // Taken since it was read: by another worker building this same box, it is this box's all the same.
    else if (await BoxRewardModel.exists({ _id: reward._id, merchantId, status: 'in_box', orderId }))
      claimed.push({ ...reward, status: 'in_box' as const, orderId });
  }
  return claimed;
}

/**
 * A free add-on the merchant gives a shopper outside any offer (a make-good for a mistake), waiting for the
 * subscription's next box like a birthday's. Once per source (`make-good:<action>:<subscription>`): giving it
 * again finds it and adds nothing. Answers whether this call gave it. The caller records the occasion's fact.
 */
export async function grantFreeAddon(
  clock: Clock,
  grant: {
    merchantId: string;
    customerId: string;
    subscriptionId: string;
    source: string;
    reason: string;
    addonId: string;
    quantity: number;
    makeGoodId: string;
  },
): Promise<boolean> {
  const result = await BoxRewardModel.updateOne(
    { merchantId: grant.merchantId, source: grant.source },
    {
      $setOnInsert: {
        _id: derivedId('rwd', `${grant.merchantId}:${grant.source}`),
        customerId: grant.customerId,
        subscriptionId: grant.subscriptionId,
        reason: grant.reason,
        makeGoodId: grant.makeGoodId,
        addonId: grant.addonId,
        quantity: grant.quantity,
        status: 'pending',
        createdAt: clock.now(),
      },
    },
    { upsert: true },
  );
  return result.upsertedCount === 1;
}

export async function pendingBoxRewards(subscription: Pick<Subscription, '_id' | 'merchantId'>) {
  return BoxRewardModel.find({ merchantId: subscription.merchantId, subscriptionId: subscription._id, status: 'pending' })
    .sort({ createdAt: 1, _id: 1 })
    .lean();
}

export async function addonForReward(merchantId: string, addonId: string): Promise<{ _id: string; name: string; sku: string } | undefined> {
  const addon = await findAddon(merchantId, addonId);
  return addon ? { _id: addon._id, name: addon.name, sku: addon.sku } : undefined;
}

/**
 * Makes rewards follow the box they went in: `in_box` while it may be sent, `pending` again (for the next
 * box) when it was cancelled or the item was out of stock. Safe to repeat.
 */
export async function settleRewardsOfOrder(order: BoxOrder): Promise<void> {
  const keys = order.lines.filter((line) => line.kind === 'reward' && line.key).map((line) => line.key!.slice('reward:'.length));
  const omitted = order.status === 'cancelled' || order.status === 'refunded';
  for (const rewardId of keys) {
    const line = order.lines.find((l) => l.key === `reward:${rewardId}`)!;
    if (omitted || line.stock === 'released') {
      await BoxRewardModel.updateOne(
        { _id: rewardId, merchantId: order.merchantId, status: 'in_box', orderId: order._id },
        { $set: { status: 'pending' }, $unset: { orderId: 1 } },
      );
    } else {
      await BoxRewardModel.updateOne({ _id: rewardId, merchantId: order.merchantId, status: 'pending' }, { $set: { status: 'in_box', orderId: order._id } });
    }
  }
  // A reward line left out at the cut-off (out of stock) waits for the next box.
  await BoxRewardModel.updateMany(
    { merchantId: order.merchantId, subscriptionId: order.subscriptionId, status: 'in_box', orderId: order._id, _id: { $nin: keys } },
    { $set: { status: 'pending' }, $unset: { orderId: 1 } },
  );
}
