import { findAddons } from '../addons/addon.queries';
import { merchantProfile } from '../merchants/merchant.queries';
import { postLedgerEntry } from '../loyalty/loyalty-ledger.service';
import { loyaltyProgramOf, pointsExpiryFor } from '../loyalty/loyalty.service';
import { readEveryTime, type RunMemo } from '../shared/run-memo';
import type { Clock } from '../shared/time';
import type { BoxLine } from '../subscriptions/subscription.queries';
import type { Standing } from './eligibility';
import { addonIdsGivenBy, applyPerks, type PerkBox } from './perk-rules';
import type { Perk } from './perk.model';
import { activePerks } from './perk.service';

/** What the box builder knows of the box being built. */
export interface PerkBoxDraft {
  orderId: string;
  merchantId: string;
  customerId: string;
  subscriptionId: string;
  /** The shopper's own lines. */
  lines: BoxLine[];
  currency: string;
}

/** The catalog and programme facts `applyPerk` needs about a merchant's perks. */
export async function perkBoxContext(merchantId: string, perks: readonly Perk[]): Promise<Pick<PerkBox, 'addons' | 'loyaltyProgram' | 'storeCurrency'>> {
  const [addons, program, merchant] = await Promise.all([
    findAddons(merchantId, addonIdsGivenBy(perks)),
    loyaltyProgramOf(merchantId),
    merchantProfile(merchantId),
  ]);
  return {
    addons: new Map(addons.map((addon) => [addon._id, { name: addon.name, sku: addon.sku }])),
    loyaltyProgram: program !== undefined,
    storeCurrency: merchant?.defaultCurrency ?? '',
  };
}

/**
 * For the box builder at the cut-off: the merchant's active perks applied to the box (perk-rules.ts), and
 * the bonus points of a milestone posted once per box (`perk:<perk>:<subscription>:box-<n>`), so building
 * the box again grants nothing twice. Takes the extras so far (shipping first) and returns them after the
 * perks: the shipping line waived, the perks' lines added.
 */
export async function applyPerksToBox(
  clock: Clock,
  draft: PerkBoxDraft,
  standing: Standing,
  extras: BoxLine[],
  /** The run's reads (src/shared/run-memo.ts): the merchant's perks and their context, once per run. */
  memo: RunMemo = readEveryTime,
): Promise<BoxLine[]> {
  const { merchantId } = draft;
  const perks = await memo(`perks:${merchantId}`, () => activePerks(merchantId));
  if (perks.length === 0) return extras;
  const boxNumber = standing.paidBoxes + 1;
  const applied = applyPerks(perks, standing, {
    boxNumber,
    lines: draft.lines,
    extras,
    currency: draft.currency,
    ...(await memo(`perk-box-context:${merchantId}`, () => perkBoxContext(merchantId, perks))),
  });
  for (const { perk, outcome } of applied.outcomes) {
    if (!outcome.gives || !outcome.bonusPoints) continue;
    const program = await memo(`loyalty-program:${merchantId}`, () => loyaltyProgramOf(merchantId));
    if (!program) continue;
    const expiresAt = pointsExpiryFor(program, clock.now());
    await postLedgerEntry(clock, {
      merchantId: draft.merchantId,
      customerId: draft.customerId,
      source: `perk:${perk._id}:${draft.subscriptionId}:box-${boxNumber}`,
      kind: 'bonus',
      points: outcome.bonusPoints,
      currency: program.currency,
      description: `${perk.name}: box ${boxNumber}`,
      subscriptionId: draft.subscriptionId,
      orderId: draft.orderId,
      ...(expiresAt ? { expiresAt } : {}),
    });
  }
  return applied.extras;
}
