import { giftLinesFor } from '../gifts/gift.service';
import { postLedgerEntry } from '../loyalty/loyalty-ledger.service';
import { standingOf } from '../loyalty/loyalty-standing.service';
import { loyaltyProgramOf, pointsExpiryFor, takeLoyaltyCredit } from '../loyalty/loyalty.service';
import { MerchantModel } from '../merchants/merchant.model';
import { shippingFeeFor } from '../merchants/shipping-fees';
import { thresholdTermsOf, type Offer } from '../offers/offer.model';
import { activeOffers, addonForReward, pendingBoxRewards } from '../offers/offer.service';
import { isEligible } from '../perks/eligibility';
import type { Perk } from '../perks/perk.model';
import { activePerks } from '../perks/perk.service';
import type { Cycle } from '../shared/calendar';
import { percentOf } from '../shared/money';
import type { Clock } from '../shared/time';
import type { Subscription } from '../subscriptions/subscription.model';
import type { BoxDraft, BoxExtras } from '../orders/order.service';
import type { BoxLine } from '../subscriptions/subscription.service';

const sum = (lines: BoxLine[], filter: (line: BoxLine) => boolean = () => true) =>
  lines.filter(filter).reduce((total, line) => total + line.unitAmountMinor * line.quantity, 0);

/**
 * What the retention engine adds to a box built at its cut-off, in this order: the shipping fee, the
 * surprise gift granted for the cycle, free add-ons earned (birthday, anniversary), the perks the
 * subscription is eligible for, the best threshold offer reached, and last the shopper's loyalty credit, up to what is left
 * to pay. Every line says what granted it. Side effects (points of a milestone, credit taken) are ledger
 * entries keyed by the order, so building the box again takes and grants nothing twice.
 */
export async function retentionLinesFor(clock: Clock, subscription: Subscription, cycle: Cycle, draft: BoxDraft): Promise<BoxLine[]> {
  const merchant = await MerchantModel.findById(subscription.merchantId, { defaultCurrency: 1, subscriptionSettings: 1 }).lean();
  const standing = await standingOf(subscription, cycle.chargeOn);
  const boxNumber = standing.paidBoxes + 1;
  const extras: BoxLine[] = [];
  // The fee of the box's own currency: none when the merchant set none for it.
  const shippingFee = merchant ? shippingFeeFor(merchant, draft.currency) : 0;
  if (shippingFee > 0) extras.push({ kind: 'shipping', key: 'shipping', description: 'Shipping', quantity: 1, unitAmountMinor: shippingFee });
  extras.push(...(await giftLinesFor(subscription, cycle)));
  for (const reward of await pendingBoxRewards(subscription)) {
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
      grantedBy: { source: 'reward', id: reward.offerId, reason: reward.reason },
    });
  }
  for (const perk of await activePerks(subscription.merchantId)) {
    if (!isEligible(perk.eligibility, standing)) continue;
    extras.push(...(await perkLines(clock, perk, boxNumber, draft, extras)));
  }
  // Threshold offers count the shopper's own lines (the box total) or their add-ons: never shipping or what was granted.
  const counted = { box_total: sum(draft.lines), addons: sum(draft.lines, (line) => line.kind === 'addon') };
  const goodsLeft = Math.max(0, sum([...draft.lines, ...extras], (line) => line.kind !== 'shipping'));
  // One per box, the one saving most (the oldest on a tie): "spend 50, save 5" and "spend 100, save 15" are tiers, not a sum.
  let best: { offer: Offer; off: number } | undefined;
  for (const offer of await activeOffers(subscription.merchantId, 'threshold')) {
    const terms = thresholdTermsOf(offer)!;
    if (offer.currency !== draft.currency || !isEligible(offer.eligibility, standing) || counted[terms.basis] < terms.minSpendMinor) continue;
    const off = Math.min(terms.amountOffMinor, counted[terms.basis], goodsLeft);
    if (off > (best?.off ?? 0)) best = { offer, off };
  }
  if (best) {
    const { offer, off } = best;
    extras.push({ kind: 'credit', key: `offer:${offer._id}`, description: offer.name, quantity: 1, unitAmountMinor: -off, grantedBy: { source: 'offer', id: offer._id, reason: offer.name } });
  }
  const payable = sum([...draft.lines, ...extras]);
  const credit = await takeLoyaltyCredit(clock, { ...draft, _id: draft.orderId }, payable);
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

async function perkLines(clock: Clock, perk: Perk, boxNumber: number, draft: BoxDraft, extras: BoxLine[]): Promise<BoxLine[]> {
  const grantedBy = { source: 'perk' as const, id: perk._id, reason: perk.name };
  const key = `perk:${perk._id}`;
  const benefit = perk.benefit;
  const freeAddon = async (addonId: string, quantity: number): Promise<BoxLine[]> => {
    const addon = await addonForReward(draft.merchantId, addonId);
    return addon ? [{ kind: 'perk', key, description: `${addon.name} (free)`, sku: addon.sku, quantity, unitAmountMinor: 0, addonId, grantedBy }] : [];
  };
  switch (benefit.kind) {
    case 'free_addon':
      return boxNumber % benefit.everyNthBox === 0 ? freeAddon(benefit.addonId, benefit.quantity) : [];
    case 'addon_discount': {
      const addons = sum(draft.lines, (line) => line.kind === 'addon');
      const off = benefit.percentOff !== undefined ? percentOf(addons, benefit.percentOff) : Math.min(benefit.amountOffMinor ?? 0, addons);
      return off > 0 ? [{ kind: 'perk', key, description: `${perk.name}: off your add-ons`, quantity: 1, unitAmountMinor: -off, grantedBy }] : [];
    }
    case 'free_shipping': {
      const shipping = extras.find((line) => line.kind === 'shipping');
      if (!shipping || shipping.unitAmountMinor === 0) return [];
      shipping.unitAmountMinor = 0;
      shipping.description = 'Shipping (free)';
      shipping.grantedBy = grantedBy;
      return [];
    }
    case 'early_access':
      return []; // opens add-ons before their release date: checked when the shopper adds one
    case 'milestone_bonus': {
      if (!benefit.boxNumbers.includes(boxNumber)) return [];
      const bonus = benefit.bonus;
      if (bonus.type === 'free_addon') return freeAddon(bonus.addonId, bonus.quantity);
      if (bonus.type === 'amount_off') {
        const off = Math.min(bonus.amountOffMinor, sum([...draft.lines, ...extras]));
        return off > 0 ? [{ kind: 'perk', key, description: `${perk.name}: box ${boxNumber}`, quantity: 1, unitAmountMinor: -off, grantedBy }] : [];
      }
      const program = await loyaltyProgramOf(draft.merchantId);
      if (!program) return [];
      const expiresAt = pointsExpiryFor(program, clock.now());
      await postLedgerEntry(clock, {
        merchantId: draft.merchantId,
        customerId: draft.customerId,
        source: `perk:${perk._id}:${draft.subscriptionId}:box-${boxNumber}`,
        kind: 'bonus',
        points: bonus.points,
        currency: program.currency,
        description: `${perk.name}: box ${boxNumber}`,
        subscriptionId: draft.subscriptionId,
        orderId: draft.orderId,
        ...(expiresAt ? { expiresAt } : {}),
      });
      return [{ kind: 'perk', key, description: `${perk.name}: ${bonus.points} bonus points`, quantity: 1, unitAmountMinor: 0, grantedBy }];
    }
  }
}

/** The retention layer's answer to "what goes in this box besides what the shopper chose" (src/orders/box-assembly.service.ts). */
export function boxExtras(clock: Clock): BoxExtras {
  return ({ subscription, cycle, draft }) => retentionLinesFor(clock, subscription, cycle, draft);
}
