import { findAddons } from '../addons/addon.queries';
import type { LineGrant, LineKind } from '../orders/box-order.model';
import type { FirstBoxDiscount, Plan } from '../plans/plan.model';
import { findPlan, findPlans } from '../plans/plan.queries';
import type { Cycle } from '../shared/calendar';
import { percentOf } from '../shared/money';
import { readEveryTime, type RunMemo } from '../shared/run-memo';
import { addonsFor, boxFor } from './subscription-calendar';
import { promoCodeDiscountFor, promoCodeOff, saveOfferDiscountFor } from './subscription-discounts';
import type { BoxSelection, FirstBoxOffer, Subscription } from './subscription.model';

/** One line of a box: what the shopper chose (plan, add-ons, their discounts) or what was granted to them. */
export interface BoxLine {
  kind: LineKind;
  /** Stable within the cycle: `plan`, `addon:<subscription add-on line id>`, `discount:<what>`, `gift:<award>`... */
  key: string;
  /** Why the retention engine put it in the box (perks, gifts, offers, loyalty). */
  grantedBy?: LineGrant;
  description: string;
  sku?: string;
  quantity: number;
  unitAmountMinor: number;
  planId?: string;
  variantId?: string;
  addonId?: string;
  /** Our price id the line is charged at (plan or add-on price). */
  priceId?: string;
}

export interface BoxContents {
  box: BoxSelection;
  lines: BoxLine[];
  totalMinor: number;
  currency: string;
}

export function planFirstBoxOffer(discount: FirstBoxDiscount): FirstBoxOffer {
  return discount.type === 'amount'
    ? { source: 'plan', description: 'First box discount', amountOffMinor: discount.amountOffMinor }
    : { source: 'plan', description: 'First box discount', percentOff: discount.percentOff };
}

/** What a first-box offer takes off a box of this price. */
export function firstBoxOff(offer: FirstBoxOffer, priceMinor: number): number {
  return offer.percentOff !== undefined ? percentOf(priceMinor, offer.percentOff) : Math.min(offer.amountOffMinor ?? 0, priceMinor);
}

/** The plans a subscription's box and its pending change refer to, read once. */
export async function plansOf(subscription: Pick<Subscription, 'merchantId' | 'box' | 'pendingChange'>): Promise<Map<string, Plan>> {
  const ids = [...new Set([subscription.box.planId, subscription.pendingChange?.planId].filter((id): id is string => Boolean(id)))];
  const plans = await findPlans(subscription.merchantId, ids);
  return new Map(plans.map((plan) => [plan._id, plan]));
}

/**
 * What the shopper chose for a cycle's box, and what it costs: the plan variant at the subscriber's price, the
 * add-ons for that cycle, the first-box discount on the first charge (or a promo code that won it), a promo
 * code's discount on the boxes it covers, and a save offer's one-time discount for that cycle.
 * All integer minor units. This is the one reading of "what is in my box" before the retention engine adds to
 * it at the cut-off (src/renewals builds the order from it).
 */
export async function boxContentsFor(
  subscription: Subscription,
  cycle: Cycle,
  /** Plans the caller already read (the view does), to read them once. */
  plans?: Map<string, Plan>,
  /** The catalog reads of a run that builds many boxes (the cut-off job): made once per run. */
  memo: RunMemo = readEveryTime,
): Promise<BoxContents> {
  const box = boxFor(subscription, cycle);
  const { merchantId } = subscription;
  const plan = plans?.get(box.planId) ?? (await memo(`plan:${merchantId}:${box.planId}`, () => findPlan(merchantId, box.planId)));
  const variant = plan?.variants.find((v) => v._id === box.variantId);
  const price = plan?.prices.find((p) => p._id === box.priceId);
  if (!plan || !variant || !price) throw new Error(`subscription ${subscription._id} refers to a missing plan part`);
  const lines: BoxLine[] = [
    {
      kind: 'plan',
      key: 'plan',
      description: `${plan.name}: ${variant.name}`,
      sku: variant.sku,
      quantity: 1,
      unitAmountMinor: price.amountMinor,
      planId: plan._id,
      variantId: variant._id,
      priceId: price._id,
    },
  ];
  const extras = addonsFor(subscription, cycle);
  if (extras.length > 0) {
    const addonIds = [...new Set(extras.map((line) => line.addonId))].sort();
    const addons = new Map((await memo(`addons:${merchantId}:${addonIds.join(',')}`, () => findAddons(merchantId, addonIds))).map((a) => [a._id, a]));
    for (const line of extras) {
      const addon = addons.get(line.addonId);
      const addonPrice = addon?.prices.find((p) => p._id === line.priceId);
      if (addon && addonPrice) {
        lines.push({
          kind: 'addon',
          key: `addon:${line._id}`,
          description: addon.name,
          sku: addon.sku,
          quantity: line.quantity,
          unitAmountMinor: addonPrice.amountMinor,
          addonId: addon._id,
          priceId: addonPrice._id,
        });
      }
    }
  }
  const subtotal = (): number => lines.reduce((sum, line) => sum + line.unitAmountMinor * line.quantity, 0);
  // One discount from sign-up offers and promo codes per box (src/subscriptions/subscription-discounts.ts):
  // on the first box, a code that won it replaces the first-box offer.
  const promo = promoCodeDiscountFor(subscription, cycle.cycleKey);
  const firstBox = subscription.firstBoxOffer ?? (plan.firstBoxDiscount ? planFirstBoxOffer(plan.firstBoxDiscount) : undefined);
  if (cycle.cycleKey === subscription.firstChargeKey && firstBox && !promo) {
    lines.push({
      kind: 'discount',
      key: 'discount:first-box',
      description: firstBox.description,
      quantity: 1,
      unitAmountMinor: -firstBoxOff(firstBox, price.amountMinor),
    });
  }
  if (promo) {
    const off = promoCodeOff(promo, subtotal(), price.currency);
    if (off > 0) {
      lines.push({
        kind: 'discount',
        key: `discount:${promo._id}`,
        description: `Promo code ${promo.code}: ${promo.description}`,
        quantity: 1,
        unitAmountMinor: -off,
      });
    }
  }
  const saveOffer = saveOfferDiscountFor(subscription, cycle.cycleKey);
  if (saveOffer) {
    lines.push({
      kind: 'discount',
      key: `discount:${saveOffer._id}`,
      description: `${saveOffer.percentOff}% off this box`,
      quantity: 1,
      unitAmountMinor: -percentOf(subtotal(), saveOffer.percentOff),
    });
  }
  return { box, lines, totalMinor: subtotal(), currency: price.currency };
}
