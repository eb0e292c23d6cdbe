import { factsOfSubject } from '../events/timeline.service';
import { findOrderOfCycle } from '../orders/order.queries';
import type { Plan } from '../plans/plan.model';
import { upcomingCycles, type Cycle } from '../shared/calendar';
import { iso } from '../shared/schemas';
import { boxContentsFor, plansOf } from './box-contents';
import { boxAddressFor, boxFor, cycleState, firstBoxCycle, firstOpenCycle, nextChargedCycle, type CycleState } from './subscription-calendar';
import { runningPromoCode } from './subscription-discounts';
import type { BoxSelection, Subscription } from './subscription.model';
import type { SubscriptionView } from './subscription.schemas';

/** How a subscription reads in the API: its box, the next charge with its lines, the coming cycles, its history. */

function boxView(box: BoxSelection, plans: Map<string, Plan>) {
  const plan = plans.get(box.planId);
  const variant = plan?.variants.find((v) => v._id === box.variantId);
  const cadence = plan?.cadences.find((c) => c.key === box.cadenceKey);
  const price = plan?.prices.find((p) => p._id === box.priceId);
  if (!plan || !variant || !cadence || !price) throw new Error(`subscription box refers to a missing plan part: ${JSON.stringify(box)}`);
  return {
    planId: plan._id,
    planName: plan.name,
    variantId: variant._id,
    variantName: variant.name,
    cadence: { key: cadence.key, interval: cadence.interval, intervalCount: cadence.intervalCount },
    price: { id: price._id, amountMinor: price.amountMinor, currency: price.currency },
  };
}

type FirstBoxState = 'awaiting_payment' | 'charged';

/**
 * The first box through the first period: `awaiting_payment` until the shopper has paid (Checkout open, or
 * the first invoice failing) and `charged` once Stripe has taken the payment. None after the first period, for
 * a trial (its first box is an ordinary upcoming cycle) or for a cancelled subscription.
 */
async function firstBoxOf(subscription: Subscription, now: Date): Promise<{ cycle: Cycle; state: FirstBoxState } | undefined> {
  if (subscription.status === 'cancelled') return undefined;
  const cycle = firstBoxCycle(subscription, now);
  if (!cycle) return undefined;
  if (subscription.status === 'incomplete') return { cycle, state: 'awaiting_payment' };
  if (subscription.status === 'past_due') {
    const box = await findOrderOfCycle(subscription.merchantId, subscription._id, cycle.cycleKey);
    if (!box?.stripeInvoiceId) return { cycle, state: 'awaiting_payment' };
  }
  return { cycle, state: 'charged' };
}

async function nextChargeView(subscription: Subscription, cycle: Cycle, plans: Map<string, Plan>): Promise<NonNullable<SubscriptionView['nextCharge']>> {
  const contents = await boxContentsFor(subscription, cycle, plans);
  return {
    cycleKey: cycle.cycleKey,
    chargeAt: iso(cycle.chargeAt),
    cutoffAt: iso(cycle.cutoffAt),
    box: boxView(boxFor(subscription, cycle), plans),
    lines: contents.lines.map((line) => ({ description: line.description, quantity: line.quantity, amountMinor: line.unitAmountMinor })),
    total: { amountMinor: contents.totalMinor, currency: contents.currency },
  };
}

export async function toSubscriptionView(
  subscription: Subscription,
  now: Date,
  options: { history: boolean; checkoutUrl?: string | null },
): Promise<SubscriptionView> {
  const plans = await plansOf(subscription);
  const first = await firstBoxOf(subscription, now);
  const cycleView = (cycle: Cycle, state: CycleState | FirstBoxState) => ({
    cycleKey: cycle.cycleKey,
    chargeAt: iso(cycle.chargeAt),
    cutoffAt: iso(cycle.cutoffAt),
    state,
  });
  // Until Checkout is paid the first box is what the shopper pays next, and nothing after it is due yet.
  if (subscription.status === 'incomplete') {
    return viewOf(
      subscription,
      now,
      plans,
      options,
      first ? await nextChargeView(subscription, first.cycle, plans) : null,
      first ? [cycleView(first.cycle, first.state)] : [],
    );
  }
  const next = nextChargedCycle(subscription, now);
  const nextCharge = next ? await nextChargeView(subscription, next, plans) : null;
  const upcoming =
    subscription.status === 'cancelled'
      ? []
      : [
          ...(first ? [cycleView(first.cycle, first.state)] : []),
          ...upcomingCycles(subscription.schedule, now, 6)
            .filter((cycle) => !subscription.cancellation || cycle.chargeAt < subscription.cancellation.effectiveAt)
            .map((cycle) => cycleView(cycle, cycleState(subscription, cycle))),
        ];
  return viewOf(subscription, now, plans, options, nextCharge, upcoming);
}

/** The code running from the first open box on, if any (a cancelled subscription has none). */
function promoCodeView(subscription: Subscription, now: Date): SubscriptionView['promoCode'] {
  const running = subscription.status === 'cancelled' ? undefined : runningPromoCode(subscription, firstOpenCycle(subscription, now));
  if (!running) return null;
  return {
    code: running.code,
    description: running.description,
    percentOff: running.percentOff ?? null,
    amountOff: running.amountOffMinor !== undefined ? { amountMinor: running.amountOffMinor, currency: running.currency! } : null,
    duration: running.duration,
    durationInBoxes: running.boxes ?? null,
    fromCycleKey: running.cycleKey,
    untilCycleKey: running.untilCycleKey ?? null,
  };
}

/** The address the next charged box goes to, when the shopper sent that box elsewhere. */
function nextBoxAddressView(subscription: Subscription, nextCharge: SubscriptionView['nextCharge']): SubscriptionView['nextBoxAddress'] {
  const address = nextCharge ? boxAddressFor(subscription, nextCharge.cycleKey) : undefined;
  if (!nextCharge || !address) return null;
  const { line2, region, ...rest } = address;
  return { cycleKey: nextCharge.cycleKey, address: { ...rest, ...(line2 ? { line2 } : {}), ...(region ? { region } : {}) } };
}

async function viewOf(
  subscription: Subscription,
  now: Date,
  plans: Map<string, Plan>,
  options: { history: boolean; checkoutUrl?: string | null },
  nextCharge: SubscriptionView['nextCharge'],
  upcoming: SubscriptionView['upcomingCycles'],
): Promise<SubscriptionView> {
  // The subscription's own facts, in the order they became true (its boxes' facts are on the timeline).
  const history = options.history
    ? (await factsOfSubject(subscription.merchantId, subscription._id)).map((f) => ({ type: f.type, at: iso(f.at), data: f.data }))
    : [];
  return {
    id: subscription._id,
    object: 'subscription',
    status: subscription.status,
    customerId: subscription.customerId,
    box: boxView(subscription.box, plans),
    pendingChange: subscription.pendingChange
      ? { ...boxView(subscription.pendingChange, plans), effectiveCycleKey: subscription.pendingChange.effectiveCycleKey }
      : null,
    secondChoiceVariantId: subscription.secondChoiceVariantId ?? null,
    nextCharge,
    nextBoxAddress: nextBoxAddressView(subscription, nextCharge),
    upcomingCycles: upcoming,
    promoCode: promoCodeView(subscription, now),
    addons: subscription.addons.map((line) => ({
      id: line._id,
      addonId: line.addonId,
      quantity: line.quantity,
      kind: line.kind,
      fromCycleKey: line.fromCycleKey,
    })),
    pause: subscription.pause
      ? { pausedAt: iso(subscription.pause.pausedAt), startsOn: subscription.pause.startsOn, resumeOn: subscription.pause.resumeOn ?? null }
      : null,
    cancellation: subscription.cancellation
      ? {
          requestedAt: iso(subscription.cancellation.requestedAt),
          reason: subscription.cancellation.reason,
          comment: subscription.cancellation.comment ?? null,
          mode: subscription.cancellation.mode,
          effectiveAt: iso(subscription.cancellation.effectiveAt),
        }
      : null,
    dunning: subscription.dunning
      ? {
          since: iso(subscription.dunning.since),
          attempts: subscription.dunning.attempts,
          lastFailureAt: iso(subscription.dunning.lastFailureAt),
          updatePaymentUrl: subscription.dunning.updatePaymentUrl ?? null,
        }
      : null,
    checkoutUrl: options.checkoutUrl ?? null,
    stripeSubscriptionId: subscription.stripe.subscriptionId ?? null,
    history,
    createdAt: iso(subscription.createdAt),
    updatedAt: iso(subscription.updatedAt),
  };
}
