import { findAddons } from '../addons/addon.queries';
import type { StockLevel } from '../inventory/stock';
import { stockOfSkus } from '../inventory/stock-item.queries';
import { findPlans } from '../plans/plan.queries';
import { addLocalDays, localDateOf, toInstant, upcomingCycles } from '../shared/calendar';
import { LIVE_STATUSES } from '../subscriptions/subscription-states';
import { boxContentsFor, isCycleCharged, subscriptionsRenewingBy, type BoxLine } from '../subscriptions/subscription.queries';
import { boxesShippingBetween, type BoxState } from './order.queries';

/**
 * The coming days of a store, for its fulfilment page (through its stored forecast, fulfilment-forecast.service.ts): per ship date, the boxes built (reserved at the cut-off,
 * paid, packed, held while a payment fails) and the boxes not built yet whose charge falls that day; and per
 * SKU, the units those boxes need against the stock that can still be promised.
 *
 * Stock's `onHand` is already what is left after every reservation (a hold moves units from `onHand` to
 * `reserved`): units a built box holds are covered; what still needs units is a built box's line not reserved
 * (pending, or short: paid while out of stock) and every line of the boxes not built yet.
 */
export const COMING_DAYS = 7;

/** Boxes built and still to send, by where they stand. */
const COMING_STATUSES = ['reserved', 'paid', 'packed', 'held'] as const;
type ComingStatus = (typeof COMING_STATUSES)[number];

export interface ComingDay {
  shipOn: string;
  built: Record<ComingStatus, number>;
  notBuilt: number;
  total: number;
}

export interface SkuNeed {
  sku: string;
  description: string;
  /** Units of this SKU in every coming box, built or not. */
  units: number;
  /** Of those, units already held in stock by built boxes. */
  reserved: number;
  /** Units that still have to come out of stock (boxes not built yet, lines of built boxes not reserved). */
  stillNeeded: number;
  /** Units on hand that no box holds yet; null when the SKU's stock is not counted. */
  available: number | null;
  /** How many units will be missing: still needed beyond what is available. */
  short: number;
}

export interface ComingDays {
  fromOn: string;
  toOn: string;
  days: ComingDay[];
  skus: SkuNeed[];
}

/** A SKU's units in the coming boxes, before the stock is read: the add-on it belongs to, if any, says where its stock is. */
export type Need = Omit<SkuNeed, 'available' | 'short'> & { addonId?: string };

function needOf(needs: Map<string, Need>, line: { sku: string; description: string; addonId?: string | undefined }): Need {
  let need = needs.get(line.sku);
  if (!need) {
    need = { sku: line.sku, description: line.description, units: 0, reserved: 0, stillNeeded: 0, ...(line.addonId ? { addonId: line.addonId } : {}) };
    needs.set(line.sku, need);
  }
  return need;
}

/** Lines with units to pick: the plan variant and add-ons, gifts and free items (not amounts). */
const hasUnits = (line: Pick<BoxLine, 'kind' | 'sku'>): line is Pick<BoxLine, 'kind'> & { sku: string } => line.kind !== 'discount' && Boolean(line.sku);

function countBuiltBox(box: BoxState, needs: Map<string, Need>): void {
  for (const line of box.lines) {
    if (!hasUnits(line)) continue;
    if (line.stock === 'released' || line.stock === 'consumed') continue;
    const need = needOf(needs, { sku: line.sku, description: line.description, addonId: line.addonId });
    need.units += line.quantity;
    if (line.stock === 'reserved') need.reserved += line.quantity;
    else if (line.stock === 'pending' || line.stock === 'short') need.stillNeeded += line.quantity;
  }
}

/** The coming days' boxes and each SKU's units in them, without the stock: what a stored forecast keeps. */
export async function comingNeeds(merchantId: string, timezone: string, now: Date): Promise<Omit<ComingDays, 'skus'> & { needs: Need[] }> {
  const fromOn = localDateOf(now, timezone);
  const toOn = addLocalDays(fromOn, COMING_DAYS - 1);
  const days = new Map<string, ComingDay>();
  for (let i = 0; i < COMING_DAYS; i += 1) {
    const shipOn = addLocalDays(fromOn, i);
    days.set(shipOn, { shipOn, built: { reserved: 0, paid: 0, packed: 0, held: 0 }, notBuilt: 0, total: 0 });
  }
  const needs = new Map<string, Need>();

  const built = await boxesShippingBetween(merchantId, fromOn, toOn);
  const builtCycles = new Set(built.map((box) => `${box.subscriptionId}:${box.cycleKey}`));
  for (const box of built) {
    const day = days.get(box.shipOn);
    if (!day || !(COMING_STATUSES as readonly string[]).includes(box.status)) continue;
    day.built[box.status as ComingStatus] += 1;
    day.total += 1;
    countBuiltBox(box, needs);
  }

  // Boxes not built yet: the charged cycles in the window whose box does not exist, of the live
  // subscriptions whose next box is due by the window's end (not the whole store).
  const endOfWindow = toInstant(addLocalDays(toOn, 1), '00:00', timezone);
  const subscriptions = await subscriptionsRenewingBy(merchantId, LIVE_STATUSES, endOfWindow);
  const plans = new Map(
    (await findPlans(merchantId, [...new Set(subscriptions.flatMap((s) => [s.box.planId, ...(s.pendingChange ? [s.pendingChange.planId] : [])]))])).map(
      (plan) => [plan._id, plan],
    ),
  );
  const startOfToday = new Date(toInstant(fromOn, '00:00', timezone).getTime() - 1);
  for (const subscription of subscriptions) {
    const cycles = upcomingCycles(subscription.schedule, startOfToday, 2).filter(
      (cycle) =>
        cycle.chargeOn >= fromOn && cycle.chargeOn <= toOn && isCycleCharged(subscription, cycle) && !builtCycles.has(`${subscription._id}:${cycle.cycleKey}`),
    );
    for (const cycle of cycles) {
      const day = days.get(cycle.chargeOn)!;
      day.notBuilt += 1;
      day.total += 1;
      // A subscription whose plan lost a part still counts as a box; its lines cannot be known.
      const contents = await boxContentsFor(subscription, cycle, plans).catch(() => undefined);
      for (const line of contents?.lines ?? []) {
        if (!hasUnits(line)) continue;
        const need = needOf(needs, { sku: line.sku, description: line.description, addonId: line.addonId });
        need.units += line.quantity;
        need.stillNeeded += line.quantity;
      }
    }
  }

  return { fromOn, toOn, days: [...days.values()], needs: [...needs.values()] };
}

/** Each SKU's needs against its stock now (what can still be promised): available, and how many will be short. */
export async function againstStock(merchantId: string, needs: readonly Need[]): Promise<SkuNeed[]> {
  const variantStock = await stockOfSkus(
    merchantId,
    needs.filter((need) => !need.addonId).map((need) => need.sku),
  );
  const addonStock = new Map(
    (
      await findAddons(
        merchantId,
        needs.flatMap((need) => (need.addonId ? [need.addonId] : [])),
      )
    ).map((addon) => [addon._id, addon.stock]),
  );
  const skus = needs.map(({ addonId, ...need }): SkuNeed => {
    const stock: StockLevel | undefined = addonId ? addonStock.get(addonId) : variantStock.get(need.sku);
    const available = stock?.tracked ? stock.onHand : null;
    return { ...need, available, short: available === null ? 0 : Math.max(0, need.stillNeeded - available) };
  });
  skus.sort((a, b) => b.short - a.short || a.sku.localeCompare(b.sku));
  return skus;
}

/** The coming days of a store, computed now: reads every coming box and every subscription due in the window. */
export async function comingDays(merchantId: string, timezone: string, now: Date): Promise<ComingDays> {
  const { needs, ...window } = await comingNeeds(merchantId, timezone, now);
  return { ...window, skus: await againstStock(merchantId, needs) };
}
