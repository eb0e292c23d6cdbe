import { isDeepStrictEqual } from 'node:util';
import type { PostalAddress } from '../customers/customer.model';
import { storedAddress } from '../customers/customer.service';
import { findFact } from '../events/timeline.service';
import { InvalidStateError, NotFoundError } from '../shared/errors';
import {
  changeCadence,
  changeChargeDate,
  reactivateSubscription,
  removeAddon,
  resumeSubscription,
  skipBox,
  swapBox,
  unskipBox,
} from './subscription-changes.service';
import { shipBoxTo } from './subscription-box-address.service';
import { boxAddressFor } from './subscription-calendar';
import type { SubscriptionDeps } from './subscription-deps';
import { findSubscription } from './subscription-store';
import type { SubscriptionView } from './subscription.schemas';

/**
 * Undo: the change a fact records, taken back by its inverse change, while that is still possible (the inverse's
 * own rules decide: a box past its cut-off cannot be un-skipped any more). What can be undone:
 */
const UNDOABLE = [
  'subscription.skipped',
  'subscription.unskipped',
  'subscription.paused',
  'subscription.swapped',
  'subscription.cadence_changed',
  'subscription.charge_date_changed',
  'subscription.addon_added',
  'subscription.box_address_set',
  'subscription.cancellation_scheduled',
] as const;

export function isUndoable(type: string): boolean {
  return (UNDOABLE as readonly string[]).includes(type);
}

/** Undoes the change recorded by `factId` on this subscription (recorded as a change of its own). */
export async function undoChange(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, factId: string): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  const fact = await findFact(merchantId, factId);
  if (!fact || fact.subjectId !== subscription._id) throw new NotFoundError('No such change on this subscription.');
  const data = fact.data;
  const text = (key: string): string => {
    const value = data[key];
    if (typeof value !== 'string') throw new InvalidStateError('This change cannot be undone.');
    return value;
  };
  switch (fact.type) {
    case 'subscription.skipped':
      return unskipBox(deps, merchantId, subscriptionId, text('cycleKey'));
    case 'subscription.unskipped':
      return skipBox(deps, merchantId, subscriptionId, text('cycleKey'));
    case 'subscription.paused':
      if (subscription.status !== 'paused' || subscription.pause?.startsOn !== data.startsOn)
        throw new InvalidStateError('This pause has already ended or changed.');
      return resumeSubscription(deps, merchantId, subscriptionId);
    case 'subscription.swapped': {
      const from = data.from as { planId?: string; variantId?: string } | undefined;
      if (!from?.variantId || !from.planId) throw new InvalidStateError('This change cannot be undone.');
      return swapBox(deps, merchantId, subscriptionId, { planId: from.planId, variantId: from.variantId });
    }
    case 'subscription.cadence_changed':
      return changeCadence(deps, merchantId, subscriptionId, text('from'));
    case 'subscription.charge_date_changed':
      return changeChargeDate(deps, merchantId, subscriptionId, text('from'));
    case 'subscription.addon_added':
      return removeAddon(deps, merchantId, subscriptionId, text('lineId'));
    case 'subscription.box_address_set': {
      // The box goes back where it went before (`from`; null: the shopper's own address), unless it changed since.
      const cycleKey = text('cycleKey');
      const current = boxAddressFor(subscription, cycleKey);
      const set = (data.address ?? null) as PostalAddress | null;
      if (!isDeepStrictEqual(current === undefined ? null : storedAddress(current), set))
        throw new InvalidStateError('The address of this box has changed since.');
      return shipBoxTo(deps, merchantId, subscriptionId, { cycleKey, address: (data.from ?? null) as PostalAddress | null });
    }
    case 'subscription.cancellation_scheduled':
      return reactivateSubscription(deps, merchantId, subscriptionId);
    default:
      throw new InvalidStateError('This change cannot be undone.');
  }
}
