import type { Listener, ListenerDeps } from '../events/dispatcher.service';
import { actors } from '../events/fact-types';
import type { Fact } from '../events/fact.model';
import { settleGiftsOfOrder } from '../gifts/gift.service';
import { restoreLoyaltyCredit } from '../loyalty/loyalty.service';
import { settleRewardsOfOrder } from '../offers/offer.service';
import type { BoxOrder } from '../orders/box-order.model';
import { findOrder } from '../orders/order.queries';

/**
 * What the retention engine granted a box follows the box, after the facts about it. Each listener reads
 * the order as it is now (not as the fact saw it) and is safe to run again: the settlements are guarded by
 * the state of what they move (the award, the reward, the `restore:<order>` ledger entry).
 */

async function orderOf(fact: Fact): Promise<BoxOrder | undefined> {
  return findOrder(fact.merchantId, fact.subjectId);
}

/**
 * After `box.cancelled` and `box.refunded`: a box not sent gives back what it was granted — its surprise
 * gift to the campaign (a box refunded after it left keeps it: delivered), its free items to wait for the
 * next box, and the loyalty credit it took to the shopper's ledger.
 */
export const settleGrantsOfEndedBox: Listener = {
  name: 'retention.settle-grants-of-ended-box',
  run: async (deps: ListenerDeps, fact: Fact) => {
    const order = await orderOf(fact);
    if (!order) return;
    // A gift granted for the cycle and not in the box (built before the grant, or out of stock) goes back too.
    await settleGiftsOfOrder(deps, order, actors.system());
    if (!order.lines.some((line) => line.grantedBy)) return;
    await settleRewardsOfOrder(order);
    await restoreLoyaltyCredit(deps.clock, order);
  },
};

/**
 * After `box.reserved` (the box built at its cut-off, its stock decided): the surprise gift and free items
 * it holds are marked in the box, and those left out (out of stock) go back — the gift to its campaign,
 * a free item to wait for the next box — so the next box does not take them again.
 */
export const settleGrantsOfBuiltBox: Listener = {
  name: 'retention.settle-grants-of-built-box',
  run: async (deps: ListenerDeps, fact: Fact) => {
    const order = await orderOf(fact);
    if (!order) return;
    await settleGiftsOfOrder(deps, order, actors.system());
    if (order.lines.some((line) => line.grantedBy)) await settleRewardsOfOrder(order);
  },
};
