import type { Listener } from '../events/dispatcher.service';
import { actors } from '../events/fact-types';
import { findOrder } from '../orders/order.queries';
import { settleGiftsOfOrder } from './gift.service';

/**
 * After `box.delivered`: the box's surprise gift is delivered (`gift.delivered`, whose listener thanks the
 * shopper). Reads the order as it is now, so a box refunded meanwhile is settled as such.
 */
export const deliverBoxGifts: Listener = {
  name: 'gifts.deliver-box-gifts',
  run: async (deps, fact) => {
    const order = await findOrder(fact.merchantId, fact.subjectId);
    if (order) await settleGiftsOfOrder(deps, order, actors.system());
  },
};
