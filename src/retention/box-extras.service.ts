import { giftLinesFor } from '../gifts/gift.service';
import { standingOf } from '../loyalty/loyalty-standing.service';
import { takeLoyaltyCredit } from '../loyalty/loyalty.service';
import { merchantProfile } from '../merchants/merchant.queries';
import { shippingFeeFor } from '../merchants/shipping-fees';
import { activeOffers, addonForReward, claimBoxRewards, thresholdTermsOf } from '../offers/offer.service';
import type { Offer } from '../offers/offer.model';
import { isEligible } from '../perks/eligibility';
import { applyPerksToBox } from '../perks/perk-box.service';
import { boxOrderId, type BoxDraft, type BoxExtras } from '../orders/order.service';
import type { Cycle } from '../shared/calendar';
import { readEveryTime, type RunMemo } from '../shared/run-memo';
import type { Clock } from '../shared/time';
import type { Subscription } from '../subscriptions/subscription.model';
import type { BoxLine } from '../subscriptions/subscription.service';

const sum = (lines: BoxLine[], filter: (line: BoxLine) => boolean = () => true) =>
  lines.filter(filter).reduce((total, line) => total + line.unitAmountMinor * line.quantity, 0);

/**
 * What the retention engine adds to a box built at its cut-off, from the box as reserved (the shopper's lines
 * that are really in it), in this order: the shipping fee, the surprise gift granted for the cycle, free
 * add-ons earned (birthday, anniversary), the perks the subscription is eligible for (src/perks/perk-rules.ts,
 * the same rules the shopper's view uses), the best threshold offer reached, and last the shopper's loyalty
 * credit, up to what is left to pay. Every line says what granted it. Side effects (points of a milestone,
 * credit taken, free items claimed) are keyed by the order, so building the box again takes and grants
 * nothing twice.
 */
export async function retentionLinesFor(
  clock: Clock,
  subscription: Subscription,
  cycle: Cycle,
  draft: BoxDraft,
  /** The run's reads (src/shared/run-memo.ts): what is the same for every box of the store, read once per run. */
  memo: RunMemo = readEveryTime,
): Promise<BoxLine[]> {
  const { merchantId } = subscription;
  const merchant = await memo(`merchant:${merchantId}`, () => merchantProfile(merchantId));
  const standing = await standingOf(subscription, cycle.chargeOn, memo);
  let extras: BoxLine[] = [];
  // The fee of the box's own currency: none when the merchant set none for it.
  const shippingFee = merchant ? shippingFeeFor(merchant, draft.currency) : 0;
  if (shippingFee > 0) extras.push({ kind: 'shipping', key: 'shipping', description: 'Shipping', quantity: 1, unitAmountMinor: shippingFee });
  extras.push(...(await giftLinesFor(subscription, cycle, memo)));
  // Claimed by this box: two boxes built in one run never take the same free item.
  const batch = { memo, cycleKey: cycle.cycleKey, orderIdOf: (subscriptionId: string) => boxOrderId(subscriptionId, cycle.cycleKey) };
  for (const reward of await claimBoxRewards(subscription, draft.orderId, batch)) {
    const addon = await addonForReward(subscription.merchantId, reward.addonId);
    if (!addon) continue;
    extras.push({
      kind: 'reward',
      key: `reward:${reward._id}`,
      description: `${addon.name} (free)`,
      sku: addon.sku,
      quantity: reward.quantity,
      unitAmountMinor: 0,
      addonId: addon._id,
      grantedBy: { source: 'reward', id: reward.offerId ?? reward.makeGoodId ?? reward._id, reason: reward.reason },
    });
  }
  extras = await applyPerksToBox(clock, draft, standing, extras, memo);
  // Threshold offers count the shopper's own lines (the box total) or their add-ons: never shipping or what was granted.
  const counted = { box_total: sum(draft.lines), addons: sum(draft.lines, (line) => line.kind === 'addon') };
  const goodsLeft = Math.max(
    0,
    sum([...draft.lines, ...extras], (line) => line.kind !== 'shipping'),
  );
  // One per box, the one saving most (the oldest on a tie): "spend 50, save 5" and "spend 100, save 15" are tiers, not a sum.
  let best: { offer: Offer; off: number } | undefined;
  for (const offer of await memo(`offers:threshold:${merchantId}`, () => activeOffers(merchantId, 'threshold'))) {
    const terms = thresholdTermsOf(offer)!;
    if (offer.currency !== draft.currency || !isEligible(offer.eligibility, standing) || counted[terms.basis] < terms.minSpendMinor) continue;
    const off = Math.min(terms.amountOffMinor, counted[terms.basis], goodsLeft);
    if (off > (best?.off ?? 0)) best = { offer, off };
  }
  if (best) {
    const { offer, off } = best;
    extras.push({
      kind: 'credit',
      key: `offer:${offer._id}`,
      description: offer.name,
      quantity: 1,
      unitAmountMinor: -off,
      grantedBy: { source: 'offer', id: offer._id, reason: offer.name },
    });
  }
  const payable = sum([...draft.lines, ...extras]);
  const credit = await takeLoyaltyCredit(clock, { ...draft, _id: draft.orderId }, payable, memo);
  if (credit > 0) {
    extras.push({
      kind: 'credit',
      key: 'credit:loyalty',
      description: 'Loyalty credit',
      quantity: 1,
      unitAmountMinor: -credit,
      grantedBy: { source: 'loyalty', id: `apply:${draft.orderId}`, reason: 'Points redeemed for credit' },
    });
  }
  return extras;
}

/** The retention layer's answer to "what goes in this box besides what the shopper chose" (src/orders/box-assembly.service.ts). */
export function boxExtras(clock: Clock): BoxExtras {
  return ({ subscription, cycle, draft, memo }) => retentionLinesFor(clock, subscription, cycle, draft, memo);
}
