import { customerName } from '../customers/customer.queries';
import type { Listener } from '../events/dispatcher.service';
import type { Fact } from '../events/fact.model';
import { queueNotification, type NotificationType } from './notification.service';

/**
 * Messages that follow a box's facts: the box differs from what the shopper chose, nothing could be sent (the
 * cycle is skipped), a paid box waits for stock. Each is queued once per box (keyed by the order), so a
 * replayed fact queues nothing more.
 */

async function tell(fact: Fact, type: NotificationType, data: Record<string, unknown>): Promise<void> {
  if (!fact.customerId) return;
  const name = await customerName(fact.merchantId, fact.customerId);
  await queueNotification(
    { now: () => fact.at },
    {
      merchantId: fact.merchantId,
      customerId: fact.customerId,
      ...(fact.subscriptionId ? { subscriptionId: fact.subscriptionId } : {}),
      type,
      aboutKey: fact.subjectId,
      data: { name: name ?? 'there', ...data },
    },
  );
}

/** `box.adjusted`: what was substituted, what was left out (and is not charged). */
export const tellBoxAdjusted: Listener = {
  name: 'messages.box-adjusted',
  run: async (_deps, fact) => {
    const data = fact.data as {
      shipOn: string;
      substituted: Array<{ chosen: string; sent: string; rule: string }>;
      omitted: Array<{ description: string; quantity: number }>;
    };
    await tell(fact, 'box.adjusted', { shipOn: data.shipOn, substituted: data.substituted, omitted: data.omitted });
  },
};

/** `box.cancelled` for want of stock: the box is skipped, and not charged. */
export const tellBoxSkippedForStock: Listener = {
  name: 'messages.box-skipped-out-of-stock',
  run: async (_deps, fact) => {
    const data = fact.data as { reason?: string; shipOn: string; description?: string };
    if (data.reason !== 'out_of_stock') return;
    await tell(fact, 'box.skipped_out_of_stock', { shipOn: data.shipOn, description: data.description ?? 'your box' });
  },
};

/** `box.back_ordered`: a paid box waits for stock. */
export const tellBoxBackOrdered: Listener = {
  name: 'messages.box-back-ordered',
  run: async (_deps, fact) => {
    const data = fact.data as { shipOn: string; short: Array<{ description: string; quantity: number }> };
    await tell(fact, 'box.back_ordered', { shipOn: data.shipOn, short: data.short });
  },
};
