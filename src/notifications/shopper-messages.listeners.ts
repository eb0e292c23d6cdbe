import { z } from 'zod';
import { customerName } from '../customers/customer.queries';
import type { Listener } from '../events/dispatcher.service';
import type { Fact } from '../events/fact.model';
import { giftForThanks } from '../gifts/gift.service';
import { formatMoney } from '../shared/money';
import { queueNotification } from './notification.service';

/**
 * The messages a shopper gets after a fact of the reacting domains, each rendered from the fact and what
 * its owners' reads say now (the shopper's name). Queued once per fact: the notification's id is derived
 * from what it is about, so a listener run again queues nothing more.
 */

/** The fields a message reads from a fact's data: checked, so a fact of another shape fails loudly (and is retried, then kept failed). */
function dataOf<S extends z.ZodType>(schema: S, fact: Fact): z.output<S> {
  const parsed = schema.safeParse(fact.data);
  if (!parsed.success) throw new Error(`${fact.type} ${fact._id} lacks what its message needs: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  return parsed.data;
}

async function nameOf(merchantId: string, customerId: string | undefined): Promise<string> {
  return (customerId ? await customerName(merchantId, customerId) : undefined) ?? 'there';
}

const TierChanged = z.object({ direction: z.enum(['promoted', 'demoted']), tier: z.string().nullable(), reason: z.string() });

/** After `loyalty.tier_changed`: the shopper is told of their new tier and why. */
export const tellTierChanged: Listener = {
  name: 'messages.tell-tier-changed',
  run: async (deps, fact) => {
    const data = dataOf(TierChanged, fact);
    if (!fact.customerId) return;
    await queueNotification(deps.clock, {
      merchantId: fact.merchantId,
      customerId: fact.customerId,
      type: 'loyalty.tier_changed',
      aboutKey: fact._id,
      data: { name: await nameOf(fact.merchantId, fact.customerId), direction: data.direction, tier: data.tier, reason: data.reason },
    });
  },
};

const PointsExpiring = z.object({ points: z.number().int(), expiresAt: z.string(), expiresOn: z.string() });

/** After `loyalty.points_expiring`: the shopper is told how many points expire, and when (once per lot). */
export const tellPointsExpiring: Listener = {
  name: 'messages.tell-points-expiring',
  run: async (deps, fact) => {
    const data = dataOf(PointsExpiring, fact);
    if (!fact.customerId) return;
    await queueNotification(deps.clock, {
      merchantId: fact.merchantId,
      customerId: fact.customerId,
      type: 'loyalty.points_expiring',
      aboutKey: `${fact.customerId}:${data.expiresAt}`,
      data: { name: await nameOf(fact.merchantId, fact.customerId), points: data.points, expiresOn: data.expiresOn },
    });
  },
};

const ReferralRewarded = z.object({
  referrerCustomerId: z.string(),
  reward: z.discriminatedUnion('type', [
    z.object({ type: z.literal('points'), points: z.number().int(), currency: z.string() }),
    z.object({ type: z.literal('credit'), creditMinor: z.number().int(), currency: z.string() }),
  ]),
});

/** After `referral.rewarded`: the referrer (not the friend the referral is about) hears of their reward, once per referral. */
export const tellReferrerRewarded: Listener = {
  name: 'messages.tell-referrer-rewarded',
  run: async (deps, fact) => {
    const { referrerCustomerId, reward } = dataOf(ReferralRewarded, fact);
    await queueNotification(deps.clock, {
      merchantId: fact.merchantId,
      customerId: referrerCustomerId,
      type: 'referral.rewarded',
      aboutKey: fact.subjectId,
      data: {
        name: await nameOf(fact.merchantId, referrerCustomerId),
        reward: reward.type === 'points' ? `${reward.points} points` : `${formatMoney(reward.creditMinor, reward.currency)} of credit`,
      },
    });
  },
};

const GiftDelivered = z.object({ shipOn: z.string(), description: z.string(), boxStatus: z.string() });

/** After `gift.delivered`: the shopper of a delivered box is thanked, once per gift (a box refunded after it left is not). */
export const thankForGift: Listener = {
  name: 'messages.thank-for-gift',
  run: async (deps, fact) => {
    const data = dataOf(GiftDelivered, fact);
    if (data.boxStatus !== 'delivered') return;
    const gift = await giftForThanks(fact.merchantId, fact.subjectId);
    if (!gift) return;
    const { award, campaignName } = gift;
    await queueNotification(deps.clock, {
      merchantId: award.merchantId,
      customerId: award.customerId,
      subscriptionId: award.subscriptionId,
      type: 'gift.thank_you',
      aboutKey: award._id,
      data: { name: await nameOf(award.merchantId, award.customerId), description: data.description, shipOn: data.shipOn, campaignName },
    });
  },
};
