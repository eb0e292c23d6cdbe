import type { Listener } from '../events/dispatcher.service';
import { findOrder, PAID_BOX_STATUSES } from '../orders/order.queries';
import { earnPointsForPaidBox } from './loyalty.service';

/**
 * After `box.paid`: the shopper's points for the box, once per invoice, at the tier held when the payment
 * was recorded. A box refunded or cancelled before this runs earns nothing.
 */
export const earnLoyaltyPoints: Listener = {
  name: 'loyalty.earn-points',
  run: async (deps, fact) => {
    const order = await findOrder(fact.merchantId, fact.subjectId);
    if (!order || !(PAID_BOX_STATUSES as readonly string[]).includes(order.status)) return;
    await earnPointsForPaidBox(deps, order, fact.at);
  },
};
