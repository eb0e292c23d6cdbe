import { AddonModel, type Addon } from './addon.model';

/** What other domains may read of a merchant's add-ons: narrow, merchant-scoped reads. Nothing here writes. */

export async function findAddon(merchantId: string, addonId: string): Promise<Addon | undefined> {
  return (await AddonModel.findOne({ _id: addonId, merchantId }).lean()) ?? undefined;
}

/** These add-ons of the merchant (those that exist), in no particular order. */
export async function findAddons(merchantId: string, addonIds: readonly string[]): Promise<Addon[]> {
  if (addonIds.length === 0) return [];
  return AddonModel.find({ _id: { $in: [...new Set(addonIds)] }, merchantId }).lean();
}

/** Which of these add-on ids are not the merchant's (none: all are). */
export async function addonsNotOf(merchantId: string, addonIds: readonly string[]): Promise<string[]> {
  const unique = [...new Set(addonIds)];
  if (unique.length === 0) return [];
  const found = new Set((await AddonModel.find({ merchantId, _id: { $in: unique } }, { _id: 1 }).lean()).map((addon) => addon._id));
  return unique.filter((id) => !found.has(id));
}
