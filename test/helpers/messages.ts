import type { OutgoingMessage } from '../../src/messages/message-contract';
import { storedMessagesForTests } from '../../src/messages/message.service';

/**
 * What was queued for sending (the outbox), oldest first, filtered by any fields of the message. Until the
 * delivery half is merged it reads the stand-in queueMessage's store; at the merge it reads the real outbox.
 */
export function queuedMessages(filter: Partial<Record<keyof OutgoingMessage, unknown>> = {}): Promise<Array<OutgoingMessage & { id: string }>> {
  return storedMessagesForTests(filter);
}

/** The templates of the messages queued, oldest first (what a shopper was told, in order). */
export async function queuedTemplates(filter: Partial<Record<keyof OutgoingMessage, unknown>> = {}): Promise<string[]> {
  return (await queuedMessages(filter)).map((message) => message.template);
}

/** The action links in a message's plain text (`…/a/<token>`), in order. */
export function actionLinksIn(text: string): string[] {
  return [...text.matchAll(/https?:\/\/\S+\/a\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/g)].map((match) => match[1]!);
}
