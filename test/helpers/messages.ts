import type { OutgoingMessage } from '../../src/messages/message-contract';
import { MessageModel, type Message } from '../../src/messages/message.model';

/**
 * What was queued for sending (the outbox), oldest first — in the order queued: the local database keeps
 * insertion order, and several messages are often queued at the same instant of a test's clock.
 */
export async function queuedMessages(filter: Partial<Record<keyof OutgoingMessage, unknown>> = {}): Promise<Array<OutgoingMessage & { id: string }>> {
  const stored = await MessageModel.find(filter as Record<string, unknown>)
    .sort({ $natural: 1 })
    .lean<Message[]>();
  return stored.map((message) => ({
    id: message._id,
    key: message.key,
    template: message.template,
    category: message.category,
    audience: message.audience,
    ...(message.merchantId ? { merchantId: message.merchantId } : {}),
    ...(message.customerId ? { customerId: message.customerId } : {}),
    ...(message.subscriptionId ? { subscriptionId: message.subscriptionId } : {}),
    to: message.to,
    ...(message.from ? { from: { name: message.from.name, address: message.from.address } } : {}),
    ...(message.replyTo ? { replyTo: message.replyTo } : {}),
    subject: message.subject,
    html: message.html,
    text: message.text,
    sendAfter: message.sendAfter,
    timezone: message.timezone,
    ...(message.factId ? { factId: message.factId } : {}),
  }));
}

/** The templates of the messages queued, oldest first (what a shopper was told, in order). */
export async function queuedTemplates(filter: Partial<Record<keyof OutgoingMessage, unknown>> = {}): Promise<string[]> {
  return (await queuedMessages(filter)).map((message) => message.template);
}

/** The action links in a message's plain text (`…/a/<token>`), in order. */
export function actionLinksIn(text: string): string[] {
  return [...text.matchAll(/https?:\/\/\S+\/a\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/g)].map((match) => match[1]!);
}
