import { z } from 'zod';
import type { Listener } from '../events/dispatcher.service';
import { standingOf } from '../loyalty/loyalty-standing.service';
import { findOrder, paidBoxCountBefore } from '../orders/order.queries';
import { unmetCondition } from '../perks/eligibility';
import { activePerks } from '../perks/perk.service';
import { cycleByKey, localDateOf } from '../shared/calendar';
import { findSubscription } from '../subscriptions/subscription.queries';
import { dataOf, linkFor, messagesOf, sendAboutFact } from './fact-messages';

/**
 * The messages that follow a box's facts: the receipt and any perk it unlocked, shipped, delivered, what
 * the cut-off could not put in the box as chosen (before it is charged), a box skipped for want of stock,
 * and a paid box waiting for stock. Each is sent once per fact.
 */

const Paid = z.object({ cycleKey: z.string(), amountPaidMinor: z.number().int(), currency: z.string() });

/** After `box.paid`: the receipt, line by line, and where the box goes. */
export const sendReceipt: Listener = {
  name: 'messages.send-receipt',
  run: async (deps, fact) => {
    const data = dataOf(Paid, fact);
    const messages = messagesOf(deps);
    const order = await findOrder(fact.merchantId, fact.subjectId);
    if (!order) return;
    await sendAboutFact(messages, fact, 'box.receipt', {
      shipOn: order.shipOn,
      paidAt: (order.paidAt ?? fact.at).toISOString(),
      lines: order.lines
        .filter((line) => line.kind !== 'discount' || line.amountMinor !== 0)
        .map((line) => ({
          description: line.description,
          quantity: line.quantity,
          amount: line.amountMinor === 0 ? null : { amountMinor: line.amountMinor, currency: order.currency },
        })),
      amountPaid: { amountMinor: data.amountPaidMinor, currency: data.currency },
      address: order.shippingAddress,
    });
  },
};

/**
 * After `box.paid`: the perks this box made the subscription eligible for, that it was not before (a perk
 * for subscribers of N paid boxes, reached with this one). Judged by the perk rules' own conditions, on the
 * subscription's tenure before and with this box, however late the listener runs.
 */
export const tellPerksUnlocked: Listener = {
  name: 'messages.tell-perks-unlocked',
  run: async (deps, fact) => {
    const data = dataOf(Paid, fact);
    if (!fact.subscriptionId) return;
    const perks = await activePerks(fact.merchantId);
    if (perks.length === 0) return;
    const subscription = await findSubscription(fact.merchantId, fact.subscriptionId);
    if (!subscription) return;
    const messages = messagesOf(deps);
    const before = await paidBoxCountBefore(fact.merchantId, subscription._id, data.cycleKey);
    const standing = await standingOf(subscription, localDateOf(fact.at, subscription.schedule.timezone));
    const unlocked = perks.filter(
      (perk) =>
        unmetCondition(perk.eligibility, { ...standing, paidBoxes: before }) !== undefined &&
        unmetCondition(perk.eligibility, { ...standing, paidBoxes: before + 1 }) === undefined,
    );
    if (unlocked.length === 0) return;
    await sendAboutFact(messages, fact, 'perk.unlocked', { perks: unlocked.map((perk) => ({ name: perk.name, description: perk.description ?? null })) });
  },
};

const Shipped = z.object({ shipOn: z.string(), carrier: z.string(), trackingNumber: z.string(), trackingUrl: z.string().nullable().optional() });

/** After `box.shipped`: the carrier, the tracking number and link. */
export const tellShipped: Listener = {
  name: 'messages.tell-shipped',
  run: async (deps, fact) => {
    const data = dataOf(Shipped, fact);
    const trackingUrl = data.trackingUrl && /^https?:\/\//.test(data.trackingUrl) ? data.trackingUrl : null;
    await sendAboutFact(messagesOf(deps), fact, 'box.shipped', {
      shipOn: data.shipOn,
      carrier: data.carrier,
      trackingNumber: data.trackingNumber,
      trackingUrl,
    });
  },
};

const Delivered = z.object({ shipOn: z.string() });

/** After `box.delivered` (the request to rate it follows days later: the messages.request-box-ratings job). */
export const tellDelivered: Listener = {
  name: 'messages.tell-delivered',
  run: async (deps, fact) => {
    await sendAboutFact(messagesOf(deps), fact, 'box.delivered', { shipOn: dataOf(Delivered, fact).shipOn });
  },
};

const Adjusted = z.object({
  cycleKey: z.string(),
  shipOn: z.string(),
  substituted: z.array(z.object({ chosen: z.string(), sent: z.string(), rule: z.string() })),
  omitted: z.array(z.object({ description: z.string(), quantity: z.number().int() })),
});

/**
 * After `box.adjusted` (at the cut-off, before the charge): what was substituted, what was left out (and is
 * not charged), with links to choose another variant or skip the box, good until it is charged.
 */
export const tellBoxAdjusted: Listener = {
  name: 'messages.box-adjusted',
  run: async (deps, fact) => {
    const data = dataOf(Adjusted, fact);
    const messages = messagesOf(deps);
    const subscription = fact.subscriptionId ? await findSubscription(fact.merchantId, fact.subscriptionId) : undefined;
    const chargeAt = subscription ? cycleByKey(subscription.schedule, data.cycleKey)?.chargeAt : undefined;
    const link = async (action: 'box.choose-variant' | 'box.decline') =>
      subscription && chargeAt
        ? ((
            await linkFor(messages, {
              action,
              merchantId: fact.merchantId,
              subjectId: subscription._id,
              data: { cycleKey: data.cycleKey },
              possibleUntil: chargeAt,
            })
          )?.url ?? null)
        : null;
    await sendAboutFact(messages, fact, 'box.stock_adjusted', {
      shipOn: data.shipOn,
      chargeAt: chargeAt && chargeAt > messages.clock.now() ? chargeAt.toISOString() : null,
      substituted: data.substituted.map((line) => ({ chosen: line.chosen, sent: line.sent, secondChoice: line.rule === 'second_choice' })),
      omitted: data.omitted.map((line) => ({ description: line.description, quantity: line.quantity })),
      chooseVariantUrl: data.substituted.length > 0 ? await link('box.choose-variant') : null,
      // The box is past its cut-off: declining it skips it and takes back what was reserved, until its charge.
      skipUrl: await link('box.decline'),
    });
  },
};

const CancelledBox = z.object({ reason: z.string().optional(), shipOn: z.string(), description: z.string().nullable().optional() });

/** After `box.cancelled` for want of stock: the box is skipped and not charged; a link to choose another variant for the next ones. */
export const tellBoxSkippedForStock: Listener = {
  name: 'messages.box-skipped-out-of-stock',
  run: async (deps, fact) => {
    if ((fact.data as { reason?: unknown }).reason !== 'out_of_stock') return;
    const data = dataOf(CancelledBox, fact);
    const messages = messagesOf(deps);
    const swap = fact.subscriptionId
      ? await linkFor(messages, { action: 'subscription.swap', merchantId: fact.merchantId, subjectId: fact.subscriptionId })
      : null;
    await sendAboutFact(messages, fact, 'box.skipped_out_of_stock', {
      shipOn: data.shipOn,
      description: data.description ?? 'your box',
      chooseVariantUrl: swap?.url ?? null,
    });
  },
};

const BackOrdered = z.object({ shipOn: z.string(), short: z.array(z.object({ description: z.string(), quantity: z.number().int() })) });

/** After `box.back_ordered`: a paid box waits for stock. */
export const tellBoxBackOrdered: Listener = {
  name: 'messages.box-back-ordered',
  run: async (deps, fact) => {
    const data = dataOf(BackOrdered, fact);
    await sendAboutFact(messagesOf(deps), fact, 'box.back_ordered', {
      shipOn: data.shipOn,
      short: data.short.map((line) => ({ description: line.description, quantity: line.quantity })),
    });
  },
};
