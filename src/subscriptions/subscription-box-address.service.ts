import { isDeepStrictEqual } from 'node:util';
import type { PostalAddress } from '../customers/customer.model';
import { storedAddress } from '../customers/customer.service';
import type { Cycle } from '../shared/calendar';
import { ConflictError, InvalidStateError } from '../shared/errors';
import { boxAddressFor, firstOpenChargedCycle, isCycleCharged } from './subscription-calendar';
import { changeableCycle, requireCan } from './subscription-changes.service';
import type { SubscriptionDeps } from './subscription-deps';
import { findSubscription, subscriptionFact, writeIfUnchanged } from './subscription-store';
import { toSubscriptionView } from './subscription-views';
import type { Subscription } from './subscription.model';
import type { SubscriptionView } from './subscription.schemas';

/**
 * One box sent to another address than the shopper's (a holiday, a gift): the shopper's own address
 * (customers' `updateCustomer`) is where every box goes; this is for one box only, until its cut-off. The
 * box is built and paid to it (src/orders/box-assembly.service.ts, order-payments.service.ts).
 */

/** The box to send elsewhere: the cycle given (open, and to be sent), or the first open box that will be charged. */
function boxToSend(subscription: Subscription, now: Date, cycleKey: string | undefined, setting: boolean): Cycle {
  if (!cycleKey) {
    const cycle = firstOpenChargedCycle(subscription, now);
    if (!cycle) throw new InvalidStateError('No upcoming box can be sent to another address.');
    return cycle;
  }
  const cycle = changeableCycle(subscription, now, cycleKey);
  // Clearing is always possible while the box is open (it may have been skipped since).
  if (setting && !isCycleCharged(subscription, cycle)) throw new InvalidStateError(`The box of ${cycle.cycleKey} will not be sent (skipped, paused or ended).`);
  return cycle;
}

/**
 * Sends one box to `address` (null: back to the shopper's own address). Setting it again replaces it; the
 * same address again changes nothing. Recorded as `subscription.box_address_set` `{ cycleKey, address, from }`
 * (`from`: the box's address before, null for the shopper's own), which undo takes back. Stripe bills the
 * same: nothing is pushed to it.
 */
export async function shipBoxTo(
  deps: SubscriptionDeps,
  merchantId: string,
  subscriptionId: string,
  input: { cycleKey?: string | undefined; address: PostalAddress | null },
): Promise<SubscriptionView> {
  const subscription = await findSubscription(merchantId, subscriptionId);
  requireCan(subscription, 'shipBoxElsewhere');
  const now = deps.clock.now();
  const address = input.address === null ? null : storedAddress(input.address);
  const cycle = boxToSend(subscription, now, input.cycleKey, address !== null);
  const from = boxAddressFor(subscription, cycle.cycleKey) ?? null;
  if (isDeepStrictEqual(address, from === null ? null : storedAddress(from))) return toSubscriptionView(subscription, now, { history: true });
  const others = (subscription.boxAddresses ?? []).filter((entry) => entry.cycleKey !== cycle.cycleKey);
  const updated = await writeIfUnchanged(
    deps,
    subscription,
    { $set: { boxAddresses: address === null ? others : [...others, { cycleKey: cycle.cycleKey, address, setAt: now }] } },
    [subscriptionFact(deps, 'subscription.box_address_set', { cycleKey: cycle.cycleKey, address, from: from === null ? null : storedAddress(from) })],
    { pushToStripe: false },
  );
  if (!updated) throw new ConflictError('The subscription was changed by another request meanwhile. Read it again and retry.');
  return toSubscriptionView(updated, now, { history: true });
}

/** The box of `cycleKey` (default: the first open box) goes to the shopper's own address again. */
export async function clearBoxAddress(deps: SubscriptionDeps, merchantId: string, subscriptionId: string, cycleKey?: string): Promise<SubscriptionView> {
  return shipBoxTo(deps, merchantId, subscriptionId, { cycleKey, address: null });
}
