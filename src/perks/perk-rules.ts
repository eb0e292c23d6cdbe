/**
 * What a perk gives a box, decided once, here: the box builder applies it at the cut-off and every view of
 * "what's in my next box" asks the same question of the box to come. Pure: no database, no clock.
 *
 * A box is the shopper's own lines (plan, add-ons, discounts) and the extras added before the perks
 * (shipping first, then the surprise gift and free rewards). Perks are applied in their order, each seeing
 * what the ones before it added:
 * - `free_addon`: the add-on, free, in every Nth box (box number = paid boxes before + 1);
 * - `addon_discount`: a percentage or an amount off the box's add-ons, never more than they cost: a box
 *   without add-ons gets nothing;
 * - `free_shipping`: the box's shipping line waived: a box with no fee (none set for its currency, or waived
 *   already) gets nothing;
 * - `early_access`: nothing in the box (it opens add-ons before their release, when the shopper adds one);
 * - `milestone_bonus`: in the listed box numbers only: a free add-on, an amount off what is left to pay, or
 *   points (with a loyalty programme running; the box says so on a free line).
 * An amount off is given only to a box in the amount's currency (a percentage to any box).
 */
import type { LineGrant } from '../orders/box-order.model';
import { percentOf } from '../shared/money';
import type { BoxLine } from '../subscriptions/subscription.queries';
import { unmetCondition, type Standing } from './eligibility';
import type { Perk } from './perk.model';

/** The box a perk is applied to. */
export interface PerkBox {
  /** 1 for the first paid box: the subscription's paid boxes before this one, plus one. */
  boxNumber: number;
  /** The shopper's own lines: the plan, add-ons, first-box and save-offer discounts. */
  lines: readonly BoxLine[];
  /** What was added before the perks (and by the perks before this one): shipping first, gifts, rewards. */
  extras: readonly BoxLine[];
  /** The add-ons the perks name, as the catalog has them: a perk whose add-on is gone gives nothing. */
  addons: ReadonlyMap<string, { name: string; sku: string }>;
  /** Whether a loyalty programme runs, so that bonus points can be granted. */
  loyaltyProgram: boolean;
  /** The box's currency: an amount in another one is not given. */
  currency: string;
  /** The store's default currency: the currency of an amount stored without one. */
  storeCurrency: string;
}

/** What one perk does to a box: the lines it adds or changes, and points to grant with it; or why nothing. */
export type PerkOutcome =
  | {
      gives: true;
      /** Lines the perk adds to the box. */
      added: BoxLine[];
      /** Lines of the box the perk changes (the shipping line it waives), by key. */
      changed: BoxLine[];
      /** Points granted with this box (the builder posts them, keyed by the perk, subscription and box). */
      bonusPoints?: number;
    }
  | { gives: false; whyNot: string };

const sum = (lines: readonly BoxLine[], filter: (line: BoxLine) => boolean = () => true): number =>
  lines.filter(filter).reduce((total, line) => total + line.unitAmountMinor * line.quantity, 0);

/** The first box number from `boxNumber` on that the perk's schedule names, if any. */
function nextScheduledBox(numbers: readonly number[], boxNumber: number): number | undefined {
  return numbers.filter((n) => n >= boxNumber).sort((a, b) => a - b)[0];
}

/** What `perk` gives the box, for a subscription of this standing (judged on the box's charge date). */
export function applyPerk(perk: Perk, standing: Standing, box: PerkBox): PerkOutcome {
  const unmet = unmetCondition(perk.eligibility, standing);
  if (unmet) return { gives: false, whyNot: unmet };
  const grantedBy: LineGrant = { source: 'perk', id: perk._id, reason: perk.name };
  const key = `perk:${perk._id}`;
  const none = (whyNot: string): PerkOutcome => ({ gives: false, whyNot });
  const adds = (...added: BoxLine[]): PerkOutcome => ({ gives: true, added, changed: [] });
  const freeAddon = (addonId: string, quantity: number): PerkOutcome => {
    const addon = box.addons.get(addonId);
    if (!addon) return none('its add-on is no longer in the catalog');
    return adds({ kind: 'perk', key, description: `${addon.name} (free)`, sku: addon.sku, quantity, unitAmountMinor: 0, addonId, grantedBy });
  };
  const otherCurrency = (currency: string | undefined): string | undefined => {
    const amountIn = currency ?? box.storeCurrency;
    return amountIn === box.currency ? undefined : `its amount is in ${amountIn} and this box is in ${box.currency}`;
  };
  const benefit = perk.benefit;
  switch (benefit.kind) {
    case 'free_addon': {
      if (box.boxNumber % benefit.everyNthBox !== 0) return none(`in box ${Math.ceil(box.boxNumber / benefit.everyNthBox) * benefit.everyNthBox}`);
      return freeAddon(benefit.addonId, benefit.quantity);
    }
    case 'addon_discount': {
      const addons = sum(box.lines, (line) => line.kind === 'addon');
      if (addons <= 0) return none('for boxes with add-ons: this one has none');
      const elsewhere = benefit.amountOffMinor !== undefined ? otherCurrency(benefit.currency) : undefined;
      if (elsewhere) return none(elsewhere);
      const off = benefit.percentOff !== undefined ? percentOf(addons, benefit.percentOff) : Math.min(benefit.amountOffMinor ?? 0, addons);
      if (off <= 0) return none('nothing to take off these add-ons');
      return adds({ kind: 'perk', key, description: `${perk.name}: off your add-ons`, quantity: 1, unitAmountMinor: -off, grantedBy });
    }
    case 'free_shipping': {
      const shipping = box.extras.find((line) => line.kind === 'shipping');
      if (!shipping) return none('no shipping fee on this box to waive');
      if (shipping.unitAmountMinor === 0) return none('shipping on this box is free already');
      return { gives: true, added: [], changed: [{ ...shipping, unitAmountMinor: 0, description: 'Shipping (free)', grantedBy }] };
    }
    case 'early_access':
      return none('opens add-ons before their release: nothing goes in the box itself');
    case 'milestone_bonus': {
      if (!benefit.boxNumbers.includes(box.boxNumber)) {
        const next = nextScheduledBox(benefit.boxNumbers, box.boxNumber);
        return none(next === undefined ? 'its milestones are past' : `in box ${next}`);
      }
      const bonus = benefit.bonus;
      switch (bonus.type) {
        case 'free_addon':
          return freeAddon(bonus.addonId, bonus.quantity);
        case 'amount_off': {
          const elsewhere = otherCurrency(bonus.currency);
          if (elsewhere) return none(elsewhere);
          const off = Math.min(bonus.amountOffMinor, sum([...box.lines, ...box.extras]));
          if (off <= 0) return none('nothing left to pay on this box');
          return adds({ kind: 'perk', key, description: `${perk.name}: box ${box.boxNumber}`, quantity: 1, unitAmountMinor: -off, grantedBy });
        }
        case 'points':
          if (!box.loyaltyProgram) return none('bonus points need the loyalty programme, which is not running');
          return {
            gives: true,
            added: [{ kind: 'perk', key, description: `${perk.name}: ${bonus.points} bonus points`, quantity: 1, unitAmountMinor: 0, grantedBy }],
            changed: [],
            bonusPoints: bonus.points,
          };
      }
    }
  }
}

/** Every perk applied to the box in turn: the extras after them, and each perk's outcome. */
export function applyPerks(
  perks: readonly Perk[],
  standing: Standing,
  box: PerkBox,
): { extras: BoxLine[]; outcomes: Array<{ perk: Perk; outcome: PerkOutcome }> } {
  let extras = [...box.extras];
  const outcomes: Array<{ perk: Perk; outcome: PerkOutcome }> = [];
  for (const perk of perks) {
    const outcome = applyPerk(perk, standing, { ...box, extras });
    if (outcome.gives) {
      const changed = new Map(outcome.changed.map((line) => [line.key, line]));
      extras = [...extras.map((line) => changed.get(line.key) ?? line), ...outcome.added];
    }
    outcomes.push({ perk, outcome });
  }
  return { extras, outcomes };
}

/** The add-ons perks may put in a box (free add-ons and milestone add-ons), for `PerkBox.addons`. */
export function addonIdsGivenBy(perks: readonly Perk[]): string[] {
  return [
    ...new Set(
      perks.flatMap((perk) => {
        const benefit = perk.benefit;
        if (benefit.kind === 'free_addon') return [benefit.addonId];
        if (benefit.kind === 'milestone_bonus' && benefit.bonus.type === 'free_addon') return [benefit.bonus.addonId];
        return [];
      }),
    ),
  ];
}
