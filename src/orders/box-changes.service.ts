import { fact, recordFacts } from '../events/fact-source';
import { actors, type Actor } from '../events/fact-types';
import { variantStockPlace } from '../inventory/stock-item.service';
import { reserveStock, releaseStock } from '../inventory/stock';
import { findPlan } from '../plans/plan.queries';
import { InvalidStateError, invalidInput, NotFoundError } from '../shared/errors';
import type { Clock } from '../shared/time';
import { BoxOrderModel, type BoxOrder } from './box-order.model';
import { findOrderOfCycle } from './order.queries';

/**
 * After a box was adjusted at its cut-off (its variant substituted), the shopper may choose another variant of
 * the plan for it, until it is charged: the plan line's hold moves to that variant's stock (one guarded update
 * each way, so stock never goes below zero), and `box.adjusted` records the choice.
 */
export async function chooseVariantForBox(
  deps: { clock: Clock; actor?: Actor | undefined },
  merchantId: string,
  subscriptionId: string,
  cycleKey: string,
  variantId: string,
): Promise<BoxOrder> {
  const order = await findOrderOfCycle(merchantId, subscriptionId, cycleKey);
  if (!order) throw new NotFoundError('No box is built for this date yet: change the variant on the subscription instead.');
  if (order.status !== 'reserved') throw new InvalidStateError('This box is charged or on its way: its contents can no longer change.');
  const line = order.lines.find((l) => l.kind === 'plan');
  if (!line?.holdId || !line.sku) throw new InvalidStateError('This box has no variant to change.');
  const plan = await findPlan(merchantId, order.planId);
  const variant = plan?.variants.find((v) => v._id === variantId && v.status === 'active');
  if (!plan || !variant) throw invalidInput('variantId', 'is not an offered variant of this plan');
  if (variant.sku === line.sku) return order;
  const held = line.stock === 'reserved';
  const outcome = await reserveStock(variantStockPlace(merchantId, variant.sku), `${line.holdId}:${variant.sku}`, line.quantity);
  if (outcome === 'short') throw new InvalidStateError(`${variant.name} is out of stock too. Choose another, or keep the box as it is.`);
  const now = deps.clock.now();
  const chosen = {
    ...line,
    sku: variant.sku,
    variantId: variant._id,
    description: `${plan.name}: ${variant.name}`,
    holdId: `${line.holdId}:${variant.sku}`,
    stock: outcome,
    substitutedFor: { sku: line.substitutedFor?.sku ?? line.sku, description: line.substitutedFor?.description ?? line.description, rule: 'shopper_choice' },
  };
  const updated = await BoxOrderModel.findOneAndUpdate(
    { _id: order._id, status: 'reserved', 'lines.holdId': line.holdId },
    recordFacts(
      { $set: { 'lines.$': chosen } },
      fact('box.adjusted', deps.actor ?? actors.system(), now, {
        cycleKey,
        shipOn: order.shipOn,
        chosenByShopper: true,
        substituted: [
          {
            chosen: chosen.substitutedFor.description,
            chosenSku: chosen.substitutedFor.sku,
            sent: chosen.description,
            sku: chosen.sku,
            rule: 'shopper_choice',
          },
        ],
        omitted: [],
      }),
    ),
    { returnDocument: 'after', lean: true },
  );
  if (!updated) {
    // The box moved meanwhile (charged, cancelled, changed): the new hold goes back.
    await releaseStock(variantStockPlace(merchantId, variant.sku), chosen.holdId, line.quantity);
    throw new InvalidStateError('This box changed meanwhile. Look at it again.');
  }
  if (held) await releaseStock(variantStockPlace(merchantId, line.sku), line.holdId, line.quantity);
  return updated;
}
