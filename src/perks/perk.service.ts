import { addonsNotOf } from '../addons/addon.queries';
import { merchantProfile } from '../merchants/merchant.queries';
import { plansNotOf } from '../plans/plan.queries';
import { invalidInput, InvalidStateError, NotFoundError } from '../shared/errors';
import { newId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import type { Eligibility, Perk, PerkBenefit } from './perk.model';
import { PerkModel } from './perk.model';
import type { CreatePerkBody, PerkView } from './perk.schemas';

function toPerkView(perk: Perk): PerkView {
  return {
    id: perk._id,
    object: 'perk',
    name: perk.name,
    description: perk.description ?? null,
    status: perk.status,
    eligibility: { ...perk.eligibility },
    benefit: { ...perk.benefit },
    createdAt: iso(perk.createdAt),
    updatedAt: iso(perk.updatedAt),
  };
}

/** The plans and add-ons a perk, offer or campaign names must be the merchant's own (`field`: the input naming them). */
export async function checkCatalogRefs(
  merchantId: string,
  refs: { planIds?: string[] | undefined; addonIds?: string[] | undefined },
  field: string,
): Promise<void> {
  if ((await plansNotOf(merchantId, refs.planIds ?? [])).length > 0) throw invalidInput(`${field}.planIds`, 'names a plan that is not yours');
  if ((await addonsNotOf(merchantId, refs.addonIds ?? [])).length > 0) throw invalidInput(`${field}.addonId`, 'names an add-on that is not yours');
}

export function checkDateWindow(eligibility: Eligibility, field: string): void {
  if (eligibility.startsOn && eligibility.endsOn && eligibility.endsOn < eligibility.startsOn) throw invalidInput(`${field}.endsOn`, 'is before startsOn');
}

function addonIdsOf(benefit: PerkBenefit): string[] {
  if (benefit.kind === 'free_addon') return [benefit.addonId];
  if (benefit.kind === 'early_access') return benefit.addonIds;
  if (benefit.kind === 'milestone_bonus' && benefit.bonus.type === 'free_addon') return [benefit.bonus.addonId];
  return [];
}

/** The benefit with every amount's currency written down: the one given, else the store's default. */
export function withAmountCurrency(benefit: CreatePerkBody['benefit'], defaultCurrency: string): PerkBenefit {
  if (benefit.kind === 'addon_discount' && benefit.amountOffMinor !== undefined) return { ...benefit, currency: benefit.currency ?? defaultCurrency };
  if (benefit.kind === 'milestone_bonus' && benefit.bonus.type === 'amount_off')
    return { ...benefit, bonus: { ...benefit.bonus, currency: benefit.bonus.currency ?? defaultCurrency } };
  return benefit;
}

export async function createPerk(clock: Clock, merchantId: string, input: CreatePerkBody): Promise<PerkView> {
  checkDateWindow(input.eligibility, 'eligibility');
  await checkCatalogRefs(merchantId, { planIds: input.eligibility.planIds }, 'eligibility');
  await checkCatalogRefs(merchantId, { addonIds: addonIdsOf(input.benefit) }, 'benefit');
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('No such merchant.');
  const now = clock.now();
  const perk: Perk = {
    _id: newId('prk'),
    merchantId,
    name: input.name,
    ...(input.description ? { description: input.description } : {}),
    status: 'active',
    eligibility: input.eligibility,
    benefit: withAmountCurrency(input.benefit, merchant.defaultCurrency),
    createdAt: now,
    updatedAt: now,
  };
  await PerkModel.create(perk);
  return toPerkView(perk);
}

export async function getPerk(merchantId: string, perkId: string): Promise<PerkView> {
  const perk = await PerkModel.findOne({ _id: perkId, merchantId }).lean();
  if (!perk) throw new NotFoundError('No such perk.');
  return toPerkView(perk);
}

export async function listPerks(merchantId: string, query: { limit: number; startingAfter?: string | undefined; status?: 'active' | 'archived' | undefined }) {
  const perks = await PerkModel.find({ merchantId, ...(query.status ? { status: query.status } : {}), ...afterCursor(decodeCursor(query.startingAfter)) })
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(perks, query.limit, toPerkView);
}

/** An archived perk is no longer granted; boxes built before keep what it gave them. */
export async function archivePerk(clock: Clock, merchantId: string, perkId: string): Promise<PerkView> {
  const perk = await PerkModel.findOneAndUpdate(
    { _id: perkId, merchantId, status: 'active' },
    { $set: { status: 'archived', updatedAt: clock.now() } },
    { returnDocument: 'after', lean: true },
  );
  if (perk) return toPerkView(perk);
  await getPerk(merchantId, perkId); // 404 when not theirs
  throw new InvalidStateError('This perk is archived already.');
}

export async function activePerks(merchantId: string): Promise<Perk[]> {
  return PerkModel.find({ merchantId, status: 'active' }).sort({ createdAt: 1, _id: 1 }).lean();
}
