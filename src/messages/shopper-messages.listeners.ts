import { z } from 'zod';
import { findAddon } from '../addons/addon.queries';
import type { Listener } from '../events/dispatcher.service';
import { giftForThanks } from '../gifts/gift.service';
import { dataOf, FactAddress, linkFor, messagesOf, sendAboutFact } from './fact-messages';

/**
 * The messages a shopper gets after a fact of the reacting domains (loyalty, referrals, rewards, gifts) or of
 * their own record (a new address), each rendered from the fact and what its owners' reads say now. Sent once
 * per fact.
 */

const TierChanged = z.object({ direction: z.enum(['promoted', 'demoted']), tier: z.string().nullable(), reason: z.string() });

/** After `loyalty.tier_changed`: the shopper's new tier, and why. */
export const tellTierChanged: Listener = {
  name: 'messages.tell-tier-changed',
  run: async (deps, fact) => {
    const data = dataOf(TierChanged, fact);
    if (!fact.customerId) return;
    await sendAboutFact(messagesOf(deps), fact, 'loyalty.tier_changed', data);
  },
};

const PointsExpiring = z.object({ points: z.number().int(), expiresAt: z.string() });

/** After `loyalty.points_expiring`: how many points expire, and when (the fact is recorded once per lot). */
export const tellPointsExpiring: Listener = {
  name: 'messages.tell-points-expiring',
  run: async (deps, fact) => {
    const data = dataOf(PointsExpiring, fact);
    if (!fact.customerId || data.points <= 0) return;
    await sendAboutFact(messagesOf(deps), fact, 'loyalty.points_expiring', { points: data.points, expiresAt: new Date(data.expiresAt).toISOString() });
  },
};

const ReferralRewarded = z.object({
  referrerCustomerId: z.string(),
  reward: z.discriminatedUnion('type', [
    z.object({ type: z.literal('points'), points: z.number().int() }),
    z.object({ type: z.literal('credit'), creditMinor: z.number().int(), currency: z.string() }),
  ]),
});

/** After `referral.rewarded`: the referrer (not the friend the referral is about) hears of their reward. */
export const tellReferrerRewarded: Listener = {
  name: 'messages.tell-referrer-rewarded',
  run: async (deps, fact) => {
    const { referrerCustomerId, reward } = dataOf(ReferralRewarded, fact);
    await sendAboutFact(
      messagesOf(deps),
      fact,
      'referral.rewarded',
      {
        reward:
          reward.type === 'points'
            ? { type: 'points', points: reward.points }
            : { type: 'credit', credit: { amountMinor: reward.creditMinor, currency: reward.currency } },
      },
      { customerId: referrerCustomerId, subscriptionId: undefined },
    );
  },
};

const RewardGranted = z.object({
  occasion: z.enum(['birthday', 'anniversary']),
  offerName: z.string(),
  years: z.number().int().nullable().optional(),
  reward: z.discriminatedUnion('type', [
    z.object({ type: z.literal('points'), points: z.number().int() }),
    z.object({ type: z.literal('credit'), creditMinor: z.number().int(), currency: z.string() }),
    z.object({ type: z.literal('free_addon'), addonId: z.string(), quantity: z.number().int() }),
  ]),
});

/** After `reward.granted`: a birthday or anniversary reward, and what it is. */
export const tellRewardGranted: Listener = {
  name: 'messages.tell-reward-granted',
  run: async (deps, fact) => {
    const data = dataOf(RewardGranted, fact);
    if (!fact.customerId) return;
    const reward = data.reward;
    const described =
      reward.type === 'points'
        ? { type: 'points' as const, points: reward.points }
        : reward.type === 'credit'
          ? { type: 'credit' as const, credit: { amountMinor: reward.creditMinor, currency: reward.currency } }
          : { type: 'free_addon' as const, addonName: (await findAddon(fact.merchantId, reward.addonId))?.name ?? 'A gift', quantity: reward.quantity };
    await sendAboutFact(messagesOf(deps), fact, 'reward.granted', {
      occasion: data.occasion,
      years: data.occasion === 'anniversary' ? (data.years ?? null) : null,
      offerName: data.offerName,
      reward: described,
    });
  },
};

const GiftDelivered = z.object({ shipOn: z.string(), description: z.string(), boxStatus: z.string() });

/** After `gift.delivered`: the shopper of a delivered box is thanked (a box refunded after it left is not). */
export const thankForGift: Listener = {
  name: 'messages.thank-for-gift',
  run: async (deps, fact) => {
    const data = dataOf(GiftDelivered, fact);
    if (data.boxStatus !== 'delivered') return;
    const gift = await giftForThanks(fact.merchantId, fact.subjectId);
    if (!gift) return;
    const { award, campaignName } = gift;
    await sendAboutFact(
      messagesOf(deps),
      fact,
      'gift.thank_you',
      { shipOn: data.shipOn, description: data.description, campaignName: campaignName ?? 'A thank-you' },
      { customerId: award.customerId, subscriptionId: award.subscriptionId },
    );
  },
};

const AddressChanged = z.object({ from: FactAddress, to: FactAddress });

/** How long the undo of an address change is offered: boxes paid after it go to the new address. */
const ADDRESS_UNDO_MS = 7 * 86_400_000;

/** After `customer.address_changed`: the new address, with a link to put the old one back for a week. */
export const confirmAddressChange: Listener = {
  name: 'messages.confirm-address-change',
  run: async (deps, fact) => {
    const { to } = dataOf(AddressChanged, fact);
    const messages = messagesOf(deps);
    const customerId = fact.customerId ?? fact.subjectId;
    const undo = await linkFor(messages, {
      action: 'customer.undo',
      merchantId: fact.merchantId,
      subjectId: customerId,
      data: { factId: fact._id },
      possibleUntil: new Date(messages.clock.now().getTime() + ADDRESS_UNDO_MS),
    });
    await sendAboutFact(
      messages,
      fact,
      'subscription.changed',
      {
        change: { kind: 'address_changed', to },
        undoUrl: undo?.url ?? null,
        undoUntil: undo ? undo.expiresAt.toISOString() : null,
        manageUrl: null,
      },
      { customerId, subscriptionId: undefined },
    );
  },
};

const MakeGoodGiven = z.object({
  subject: z.string(),
  body: z.string(),
  gift: z.discriminatedUnion('type', [
    z.object({ type: z.literal('points'), points: z.number().int() }),
    z.object({ type: z.literal('credit'), creditMinor: z.number().int(), currency: z.string() }),
    z.object({ type: z.literal('free_addon'), addonName: z.string(), quantity: z.number().int() }),
  ]),
});

/** After `make_good.given`: the store's apology in its own words, with what it gives (once per subscription's grant). */
export const sendMakeGoodApology: Listener = {
  name: 'messages.send-make-good-apology',
  run: async (deps, fact) => {
    const data = dataOf(MakeGoodGiven, fact);
    if (!fact.customerId) return;
    const gift = data.gift;
    await sendAboutFact(messagesOf(deps), fact, 'make_good.apology', {
      subject: data.subject,
      body: data.body,
      gift:
        gift.type === 'points'
          ? { type: 'points', points: gift.points }
          : gift.type === 'credit'
            ? { type: 'credit', credit: { amountMinor: gift.creditMinor, currency: gift.currency } }
            : { type: 'free_addon', addonName: gift.addonName, quantity: gift.quantity },
    });
  },
};
