import { marketingConsentOf } from '../customers/customer.queries';
import { isDuplicateKeyError } from '../shared/db';
import { invalidInput, NotFoundError } from '../shared/errors';
import { derivedId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import type { MessageCategory, OutgoingMessage, QueuedMessage, QueueMessage } from './message-contract';
import { isUnsubscribed } from './message-preference.service';
import { suppressionOf } from './message-suppression.service';
import { MESSAGE_STATUSES, MessageModel, type Message, type SuppressedReason } from './message.model';
import { OutgoingMessageInput, type ListMessagesQuery, type MessageDetailView, type MessageView } from './message.schemas';
import { earliestSendAt } from './quiet-hours';

export type { QueuedMessage };

/** What queueing needs. A listener's deps will do. */
export interface QueueMessageDeps {
  clock: Clock;
}

/** The outbox id of a message: derived from its store, key, template and recipient, so queueing it again finds it. */
export function outboxIdOf(message: Pick<OutgoingMessage, 'merchantId' | 'key' | 'template' | 'to'>): string {
  return derivedId('msg', `${message.merchantId ?? ''}\n${message.key}\n${message.template}\n${message.to.trim().toLowerCase()}`);
}

/**
 * Why this message must not go to its recipient now, if it must not. Asked when it is queued and again
 * just before it is sent (a bounce or an unsubscribe may come in between):
 *   - an address that bounced permanently gets no reminder or marketing; nor anything at all once the server
 *     refused the mailbox itself (essential mail to a dead address cannot be delivered: it is recorded so);
 *   - a shopper who unsubscribed from reminders or marketing gets none;
 *   - marketing needs the shopper's marketing consent.
 */
export async function suppressionReasonFor(message: Pick<Message, 'merchantId' | 'customerId' | 'category' | 'to'>): Promise<SuppressedReason | undefined> {
  const bounce = await suppressionOf(message.merchantId, message.to);
  if (bounce && (message.category !== 'transactional' || bounce.recipientRefused)) return 'address_bounced';
  if (message.category === 'transactional') return undefined;
  if (message.merchantId && message.customerId && (await isUnsubscribed(message.merchantId, message.customerId, message.category))) {
    return 'unsubscribed';
  }
  if (message.category === 'marketing') {
    const consent = message.merchantId && message.customerId ? await marketingConsentOf(message.merchantId, message.customerId) : undefined;
    if (consent !== true) return 'no_marketing_consent';
  }
  return undefined;
}

/**
 * Puts a rendered message in the outbox, once: a second queueing of the same (store, key, template,
 * recipient) stores nothing and answers what the first did. A message that must not go (see
 * `suppressionReasonFor`) is stored `suppressed`, so the merchant sees it was not sent and why. Reminders and
 * marketing wait for the recipient's daytime (08:00–20:00 in `timezone`); transactional mail goes at once.
 */
export async function queueMessage(deps: QueueMessageDeps, message: OutgoingMessage): Promise<QueuedMessage> {
  const parsed = OutgoingMessageInput.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalidInput(issue.path.join('.') || 'message', issue.message);
  }
  const input = parsed.data;
  if (input.audience === 'shopper' && canUnsubscribe(input.category) && (!input.merchantId || !input.customerId)) {
    // Its one-click unsubscribe names the store and the shopper.
    throw invalidInput('customerId', `is needed for a ${input.category} message to a shopper`);
  }
  const id = outboxIdOf(input);
  const existing = await MessageModel.findById(id, { status: 1 }).lean();
  if (existing) return { id, queued: false, status: existing.status };

  const now = deps.clock.now();
  const reason = await suppressionReasonFor(input);
  const requested = input.sendAfter && input.sendAfter > now ? input.sendAfter : now;
  const fields: Omit<Message, '_id'> = {
    ...(input.merchantId ? { merchantId: input.merchantId } : {}),
    key: input.key,
    template: input.template,
    category: input.category,
    audience: input.audience,
    ...(input.customerId ? { customerId: input.customerId } : {}),
    ...(input.subscriptionId ? { subscriptionId: input.subscriptionId } : {}),
    ...(input.factId ? { factId: input.factId } : {}),
    to: input.to,
    ...(input.from ? { from: input.from } : {}),
    ...(input.replyTo ? { replyTo: input.replyTo } : {}),
    subject: input.subject,
    html: input.html,
    text: input.text,
    timezone: input.timezone,
    sendAfter: earliestSendAt(requested, input.timezone, input.category),
    attempts: 0,
    createdAt: now,
    ...(reason
      ? { status: 'suppressed', state: 'succeeded', suppressedReason: reason, history: [{ at: now, event: 'suppressed', detail: reason }] }
      : { status: 'queued', state: 'pending', history: [{ at: now, event: 'queued' }] }),
  };
  try {
    const result = await MessageModel.updateOne({ _id: id }, { $setOnInsert: fields }, { upsert: true });
    if (result.upsertedCount === 1) return { id, queued: true, status: fields.status };
  } catch (error) {
    // Another worker queued the same message at the same moment: it is queued once, by them.
    if (!isDuplicateKeyError(error)) throw error;
  }
  const stored = await MessageModel.findById(id, { status: 1 }).lean();
  return { id, queued: false, status: stored?.status ?? fields.status };
}

/** The message that signs a shopper in: its link and code are a key to their account, for their eyes only. */
export const SIGN_IN_TEMPLATE = 'shopper.sign_in';
export const HIDDEN_LINK = '[sign-in link hidden]';

/** A sign-in message's words with every URL and the 6-digit code hidden (what the store and its API see of it). */
export function redactSignIn(text: string): string {
  return text.replace(/https?:\/\/[^\s<>"')\]]+/g, HIDDEN_LINK).replace(/\b\d{6}\b/g, '[code hidden]');
}

const shownText = (message: Message, text: string): string => (message.template === SIGN_IN_TEMPLATE ? redactSignIn(text) : text);

function toMessageView(message: Message): MessageView {
  return {
    id: message._id,
    object: 'message',
    template: message.template,
    category: message.category,
    audience: message.audience,
    key: message.key,
    customerId: message.customerId ?? null,
    subscriptionId: message.subscriptionId ?? null,
    factId: message.factId ?? null,
    to: message.to,
    subject: shownText(message, message.subject),
    status: message.status,
    suppressedReason: message.suppressedReason ?? null,
    attempts: message.attempts,
    sendAfter: iso(message.sendAfter),
    nextAttemptAt: message.status === 'queued' ? iso(message.nextAttemptAt) : null,
    sentAt: iso(message.sentAt),
    lastError: message.lastError ?? null,
    providerMessageId: message.providerMessageId ?? null,
    createdAt: iso(message.createdAt),
  };
}

function toMessageDetailView(message: Message): MessageDetailView {
  return {
    ...toMessageView(message),
    from: message.from ? { name: message.from.name, address: message.from.address } : null,
    replyTo: message.replyTo ?? null,
    timezone: message.timezone,
    text: shownText(message, message.text),
    html: message.template === SIGN_IN_TEMPLATE ? `<p>${HIDDEN_LINK}: this message signs a shopper in, so only they see it.</p>` : message.html,
    headers: message.headers ?? null,
    providerResponse: message.providerResponse ?? null,
    history: message.history.map((entry) => ({
      at: iso(entry.at),
      event: entry.event,
      detail: entry.detail ?? null,
      responseCode: entry.responseCode ?? null,
    })),
  };
}

/**
 * The merchant's message log, newest first: filter by customer, status, template. Indexes: `{ merchantId,
 * createdAt, _id }`; `{ merchantId, customerId, createdAt }`; `{ merchantId, status, createdAt, _id }`;
 * `{ merchantId, template, status, createdAt, _id }` for a template, with or without a status (without one,
 * every status is asked for: MongoDB reads the index once per status and merges them in order).
 */
export async function listMessages(merchantId: string, query: ListMessagesQuery) {
  const messages = await MessageModel.find(
    {
      merchantId,
      ...(query.customerId ? { customerId: query.customerId } : {}),
      ...(query.status ? { status: query.status } : query.template ? { status: { $in: [...MESSAGE_STATUSES] } } : {}),
      ...(query.template ? { template: query.template } : {}),
      ...afterCursor(decodeCursor(query.startingAfter)),
    },
    { html: 0, text: 0, history: 0, headers: 0 },
  )
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean<Message[]>();
  return listPage(messages, query.limit, toMessageView);
}

/** One message of the merchant's, with what it said (text and HTML) and its delivery history. */
export async function getMessage(merchantId: string, messageId: string): Promise<MessageDetailView> {
  const message = await MessageModel.findOne({ _id: messageId, merchantId }).lean<Message>();
  if (!message) throw new NotFoundError('No such message.');
  return toMessageDetailView(message);
}

/** Whether a shopper can turn this category off (and its mail carries an unsubscribe link): reminders and marketing. */
export function canUnsubscribe(category: MessageCategory): category is 'reminder' | 'marketing' {
  return category !== 'transactional';
}

// queueMessage is the contract's QueueMessage.
const _isContract: QueueMessage = queueMessage;
