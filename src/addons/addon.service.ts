import type { StockPlace } from '../inventory/stock';
import { syncCatalogItemToStripe, type CatalogItemKind, type CatalogSyncDeps } from '../catalog/catalog-sync.service';
import { toPriceView, toStripeSyncView } from '../catalog/catalog-views';
import { merchantProfile } from '../merchants/merchant.queries';
import { isDuplicateKeyError } from '../shared/db';
import { ConflictError, InvalidStateError, NotFoundError } from '../shared/errors';
import { newId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import { holdsOfOrderFilter, refusedAdjustment, stockAdjustmentGuard } from '../inventory/stock';
import { AddonModel, type Addon } from './addon.model';
import type { AddonView, CreateAddonBody, UpdateAddonBody } from './addon.schemas';

export type AddonDeps = CatalogSyncDeps;

export const addonCatalogKind: CatalogItemKind<Addon> = {
  kind: 'addon',
  model: AddonModel,
  // Add-ons are billed per box as invoice lines: their Stripe Prices are one-time.
  recurringOf: () => undefined,
};

export class SkuTakenError extends ConflictError {
  override readonly code = 'sku_taken';
  override readonly title = 'Another add-on of yours has this SKU';
}

export function toAddonView(addon: Addon): AddonView {
  const price = addon.prices.find((p) => p._id === addon.currentPriceId)!;
  return {
    id: addon._id,
    object: 'addon',
    name: addon.name,
    description: addon.description,
    sku: addon.sku,
    kind: addon.kind,
    status: addon.status,
    releasesOn: addon.releasesOn ?? null,
    price: toPriceView(price),
    stock: { tracked: addon.stock.tracked, onHand: addon.stock.tracked ? addon.stock.onHand : null, reserved: addon.stock.reserved ?? 0 },
    stripe: toStripeSyncView(addon.stripe),
    createdAt: iso(addon.createdAt),
    updatedAt: iso(addon.updatedAt),
  };
}

async function findAddon(merchantId: string, addonId: string): Promise<Addon> {
  const addon = await AddonModel.findOne({ _id: addonId, merchantId }).lean();
  if (!addon) throw new NotFoundError('No add-on with this id.');
  return addon;
}

async function syncedView(deps: AddonDeps, merchantId: string, addonId: string): Promise<AddonView> {
  await syncCatalogItemToStripe(deps, addonCatalogKind, addonId);
  return toAddonView(await findAddon(merchantId, addonId));
}

export async function createAddon(deps: AddonDeps, merchantId: string, input: CreateAddonBody): Promise<AddonView> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  const now = deps.clock.now();
  const currency = input.currency ?? merchant.defaultCurrency;
  const priceId = newId('prc');
  const addon: Addon = {
    _id: newId('addon'),
    merchantId,
    name: input.name,
    description: input.description ?? '',
    sku: input.sku,
    kind: input.kind,
    status: 'active',
    currency,
    currentPriceId: priceId,
    prices: [{ _id: priceId, cadenceKey: 'one_time', amountMinor: input.priceMinor, currency, active: true, createdAt: now }],
    stock: { tracked: input.stock !== undefined && input.stock !== null, onHand: input.stock ?? 0, reserved: 0, holds: [] },
    ...(input.releasesOn ? { releasesOn: input.releasesOn } : {}),
    stripe: { state: 'pending' },
    revision: 0,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await AddonModel.create(addon);
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new SkuTakenError(`The SKU "${input.sku}" is taken by another add-on.`);
    throw error;
  }
  return syncedView(deps, merchantId, addon._id);
}

export async function getAddon(merchantId: string, addonId: string): Promise<AddonView> {
  return toAddonView(await findAddon(merchantId, addonId));
}

export async function listAddons(merchantId: string, query: { limit: number; startingAfter?: string | undefined; status?: Addon['status'] | undefined }) {
  const filter = { merchantId, ...(query.status ? { status: query.status } : {}), ...afterCursor(decodeCursor(query.startingAfter)) };
  const addons = await AddonModel.find(filter)
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(addons, query.limit, toAddonView);
}

/** Changes an add-on, conditional on the revision read (a concurrent edit answers 409). */
export async function updateAddon(deps: AddonDeps, merchantId: string, addonId: string, input: UpdateAddonBody): Promise<AddonView> {
  const addon = await findAddon(merchantId, addonId);
  const set: Record<string, unknown> = {};
  if (input.name !== undefined) set.name = input.name;
  if (input.description !== undefined) set.description = input.description;
  if (input.status !== undefined) set.status = input.status;
  if (input.releasesOn !== undefined) set.releasesOn = input.releasesOn;
  const current = addon.prices.find((p) => p._id === addon.currentPriceId)!;
  if (input.priceMinor !== undefined && input.priceMinor !== current.amountMinor) {
    const priceId = newId('prc');
    set.prices = [
      ...addon.prices.map((p) => (p._id === current._id ? { ...p, active: false } : p)),
      { _id: priceId, cadenceKey: 'one_time', amountMinor: input.priceMinor, currency: addon.currency, active: true, createdAt: deps.clock.now() },
    ];
    set.currentPriceId = priceId;
  }
  if (Object.keys(set).length === 0) return toAddonView(addon);
  const result = await AddonModel.updateOne(
    { _id: addonId, merchantId, revision: addon.revision },
    { $set: { ...set, 'stripe.state': 'pending', updatedAt: deps.clock.now() }, $inc: { revision: 1 } },
  );
  if (result.matchedCount === 0) throw new ConflictError('The add-on was changed by another request meanwhile. Read it again and retry.');
  return syncedView(deps, merchantId, addonId);
}

/**
 * Adds or removes stock atomically; an adjustment that would go below zero or above MAX_STOCK_UNITS changes
 * nothing and answers 409.
 */
export async function adjustAddonStock(deps: AddonDeps, merchantId: string, addonId: string, adjustBy: number): Promise<AddonView> {
  const addon = await findAddon(merchantId, addonId);
  if (!addon.stock.tracked) throw new InvalidStateError('This add-on does not track stock.');
  const result = await AddonModel.updateOne(
    { _id: addonId, merchantId, 'stock.tracked': true, ...stockAdjustmentGuard(adjustBy) },
    { $inc: { 'stock.onHand': adjustBy }, $set: { updatedAt: deps.clock.now() } },
  );
  if (result.matchedCount === 0) {
    const current = await findAddon(merchantId, addonId);
    throw new InvalidStateError(refusedAdjustment(current.stock.onHand, adjustBy));
  }
  return toAddonView(await findAddon(merchantId, addonId));
}

/** Where an add-on's units are counted: for the stock holds of boxes (reserve, release, consume in src/inventory/stock.ts). */
export function addonStockPlace(merchantId: string, addonId: string): StockPlace {
  return { model: AddonModel, filter: { _id: addonId, merchantId } };
}

/** Every add-on holding a hold of one order, with those holds (for the sweep of holds no line records). */
export async function addonHoldsOfOrder(merchantId: string, orderId: string): Promise<Array<{ addonId: string; holds: string[] }>> {
  const addons = await AddonModel.find({ merchantId, ...holdsOfOrderFilter(orderId) }, { stock: 1 }).lean();
  return addons.map((addon) => ({ addonId: addon._id, holds: (addon.stock?.holds ?? []).filter((id) => id.startsWith(`${orderId}:`)) }));
}
