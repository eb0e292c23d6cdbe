import { z } from 'zod';
import { LoyaltyAccountView } from '../loyalty/loyalty.schemas';

export const SubscriptionRewardsParams = z.strictObject({ id: z.string().max(100) });

export const SubscriptionRewardsView = z
  .strictObject({
    object: z.literal('subscription_rewards'),
    subscriptionId: z.string(),
    customerId: z.string(),
    paidBoxes: z.number().int().describe("The subscription's tenure"),
    nextBox: z.strictObject({ number: z.number().int(), shipOn: z.string() }).nullable(),
    perks: z.array(
      z.strictObject({
        id: z.string(),
        name: z.string(),
        description: z.string().nullable(),
        kind: z.string(),
        eligible: z.boolean(),
        condition: z.string().nullable().describe('Why not yet, in words ("after 6 paid boxes (2 so far)")'),
        inNextBox: z
          .boolean()
          .describe(
            'Whether the next box gets it, as the box is now: what the box builder will give at the cut-off (an add-on discount needs add-ons in the box, free shipping a fee to waive)',
          ),
        whyNotInNextBox: z
          .string()
          .nullable()
          .describe('Why the next box does not get it, in words ("in box 6", "for boxes with add-ons: this one has none"); null when it does'),
      }),
    ),
    loyalty: LoyaltyAccountView.nullable(),
    referralCode: z.string().nullable(),
    granted: z
      .array(
        z.strictObject({
          orderId: z.string(),
          shipOn: z.string(),
          kind: z.string(),
          description: z.string(),
          amountMinor: z.number().int(),
          currency: z.string(),
          source: z.string(),
          reason: z.string(),
        }),
      )
      .describe('What the last 12 boxes got from perks, offers, rewards and loyalty credit, and why (a surprise gift shows once its box has shipped)'),
  })
  .meta({ id: 'SubscriptionRewards' });
export type SubscriptionRewardsView = z.infer<typeof SubscriptionRewardsView>;

export const ShopperRedeemBody = z.strictObject({ points: z.number().int().min(1).max(100_000_000) });
