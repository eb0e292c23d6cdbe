import { z } from 'zod';
import type { ListenerDeps } from '../events/dispatcher.service';
import type { Fact } from '../events/fact.model';
import { merchantProfile } from '../merchants/merchant.queries';
import { actionLinkSecret, actionUrl, linkExpiry, type MessageAction } from './action-links';
import { messageDepsOf, sendTemplate, type MessageDeps, type SendOutcome } from './message-sending.service';

/** What the listeners that send messages share: reading a fact's data, making links, sending once per fact. */

/** The fields a message reads from a fact's data: checked, so a fact of another shape fails loudly (and is retried, then kept failed). */
export function dataOf<S extends z.ZodType>(schema: S, fact: Pick<Fact, '_id' | 'type' | 'data'>): z.output<S> {
  const parsed = schema.safeParse(fact.data);
  if (!parsed.success) throw new Error(`${fact.type} ${fact._id} lacks what its message needs: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  return parsed.data;
}

/** A postal address as facts record it (`customer.address_changed`, `subscription.box_address_set`). */
export const FactAddress = z.object({
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  region: z.string().optional(),
  postalCode: z.string(),
  country: z.string(),
});

/** Where a shopper manages a subscription: its page in the store's portal (which asks them to sign in first). */
export async function manageUrl(deps: MessageDeps, subscription: { merchantId: string; _id: string }): Promise<string> {
  const handle = (await merchantProfile(subscription.merchantId))?.handle;
  return handle ? `${deps.links.publicUrl}/shop/${handle}/subscriptions/${subscription._id}` : deps.links.publicUrl;
}

/**
 * A signed link for `action` on `subjectId`, valid while the action is possible (`possibleUntil`) and never
 * more than 30 days; null when it is no longer possible.
 */
export async function linkFor(
  deps: MessageDeps,
  input: { action: MessageAction; merchantId: string; subjectId: string; data?: Record<string, string>; possibleUntil?: Date | undefined },
): Promise<{ url: string; expiresAt: Date } | null> {
  const now = deps.clock.now();
  const expiresAt = linkExpiry(now, input.possibleUntil);
  if (!expiresAt) return null;
  const secret = await actionLinkSecret(deps.links.appSecret, now);
  return {
    url: actionUrl(deps.links.publicUrl, secret, {
      action: input.action,
      merchantId: input.merchantId,
      subjectId: input.subjectId,
      ...(input.data ? { data: input.data } : {}),
      expiresAt,
    }),
    expiresAt,
  };
}

/**
 * Sends a template about a fact to the shopper it concerns (or `customerId`), keyed by the fact: the dispatcher
 * runs a listener at least once, and a second run queues nothing more.
 */
export function sendAboutFact(
  deps: MessageDeps,
  fact: Pick<Fact, '_id' | 'merchantId' | 'customerId' | 'subscriptionId'>,
  template: string,
  data: unknown,
  options: { customerId?: string; subscriptionId?: string | undefined } = {},
): Promise<SendOutcome> {
  return sendTemplate(deps, {
    template,
    merchantId: fact.merchantId,
    customerId: options.customerId ?? fact.customerId,
    subscriptionId: 'subscriptionId' in options ? options.subscriptionId : fact.subscriptionId,
    key: fact._id,
    factId: fact._id,
    data,
  });
}

export function messagesOf(deps: ListenerDeps): MessageDeps {
  return messageDepsOf(deps);
}
