import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { Email, Instant, Timezone } from '../shared/schemas';
import { MESSAGE_CATEGORIES, type OutgoingMessage } from './message-contract';
import { DELIVERY_EVENTS, MESSAGE_STATUSES, SUPPRESSED_REASONS } from './message.model';

/** A header value may not carry a line break (no header injection through a subject or a name). */
const SingleLine = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !/[\r\n]/.test(value), { error: 'must be on one line' });

/**
 * What `queueMessage` accepts: the contract's `OutgoingMessage`, checked (the content half renders it; a
 * mistake there is refused here, before anything is stored).
 */
export const OutgoingMessageInput = z.strictObject({
  key: SingleLine(300).min(1),
  template: z
    .string()
    .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/, { error: 'must be a template name such as box.shipped' })
    .max(100),
  category: z.enum(MESSAGE_CATEGORIES),
  audience: z.enum(['shopper', 'merchant']),
  merchantId: z.string().min(1).max(100).optional(),
  customerId: z.string().min(1).max(100).optional(),
  subscriptionId: z.string().min(1).max(100).optional(),
  to: Email,
  from: z.strictObject({ name: SingleLine(200), address: Email }).optional(),
  replyTo: Email.optional(),
  subject: SingleLine(500).min(1),
  html: z.string().min(1).max(2_000_000),
  text: z.string().min(1).max(1_000_000),
  sendAfter: z.date().optional(),
  timezone: Timezone,
  factId: z.string().min(1).max(200).optional(),
});
export type OutgoingMessageInput = z.infer<typeof OutgoingMessageInput>;
// The schema accepts exactly the contract's shape.
const _sameShape: (message: OutgoingMessage) => z.input<typeof OutgoingMessageInput> = (message) => message;

export const ListMessagesQuery = z.strictObject({
  ...ListQuery,
  customerId: z.string().max(100).optional().describe('Only the messages to this customer'),
  status: z.enum(MESSAGE_STATUSES).optional().describe('Only the messages in this status'),
  template: z.string().max(100).optional().describe('Only the messages of this template, e.g. box.shipped'),
});
export type ListMessagesQuery = z.infer<typeof ListMessagesQuery>;

export const MessageParams = z.strictObject({ id: z.string().max(100) });

const MessageFields = {
  id: z.string(),
  object: z.literal('message'),
  template: z.string(),
  category: z.enum(MESSAGE_CATEGORIES),
  audience: z.enum(['shopper', 'merchant']),
  key: z.string().describe('What the message is about: the fact it follows, or the occasion of a timed message'),
  customerId: z.string().nullable(),
  subscriptionId: z.string().nullable(),
  factId: z.string().nullable(),
  to: z.string(),
  subject: z.string(),
  status: z.enum(MESSAGE_STATUSES).describe('queued until sent; failed (an SMTP 5xx, or every attempt failed); suppressed (never sent: see suppressedReason)'),
  suppressedReason: z
    .enum(SUPPRESSED_REASONS)
    .nullable()
    .describe('address_bounced: an earlier message to this address bounced; unsubscribed: the shopper turned the category off; no_marketing_consent'),
  attempts: z.number().int(),
  sendAfter: Instant.describe('Not before this instant (reminders and marketing wait for the recipient’s daytime)'),
  nextAttemptAt: Instant.nullable().describe('When a failed attempt is tried again'),
  sentAt: Instant.nullable(),
  lastError: z.string().nullable(),
  providerMessageId: z.string().nullable().describe('The id the SMTP server gave the message'),
  createdAt: Instant,
};

export const MessageView = z.strictObject(MessageFields).meta({ id: 'Message' });
export type MessageView = z.infer<typeof MessageView>;

export const DeliveryEventView = z
  .strictObject({
    at: Instant,
    event: z.enum(DELIVERY_EVENTS),
    detail: z.string().nullable(),
    responseCode: z.number().int().nullable(),
  })
  .meta({ id: 'MessageDeliveryEvent' });

export const MessageDetailView = z
  .strictObject({
    ...MessageFields,
    from: z.strictObject({ name: z.string(), address: z.string() }).nullable().describe('The sender; null: the installation’s MAIL_FROM'),
    replyTo: z.string().nullable(),
    timezone: z.string(),
    text: z.string(),
    html: z.string(),
    headers: z.record(z.string(), z.string()).nullable().describe('The headers of ours the sent mail carried'),
    providerResponse: z.string().nullable(),
    history: z.array(DeliveryEventView).describe('Each step: queued, each attempt (sent, deferred, failed), suppressed'),
  })
  .meta({ id: 'MessageDetail' });
export type MessageDetailView = z.infer<typeof MessageDetailView>;

export const MessageList = listSchema(MessageView, 'MessageList');

export const MessagePreferencesParams = z.strictObject({ id: z.string().max(100) });

export const MessagePreferencesView = z
  .strictObject({
    object: z.literal('message_preferences'),
    customerId: z.string(),
    transactional: z.literal(true).describe('Always sent: receipts, shipments, payment problems, changes made'),
    reminder: z.boolean().describe('Reminders about the subscription (the upcoming box, the yearly terms)'),
    marketing: z.boolean().describe('Offers and win-back; also needs the customer’s marketing consent'),
    marketingConsent: z.boolean().describe('The customer’s marketing consent (changed on the customer)'),
  })
  .meta({ id: 'MessagePreferences' });
export type MessagePreferencesView = z.infer<typeof MessagePreferencesView>;

export const UpdateMessagePreferencesBody = z
  .strictObject({
    transactional: z
      .literal(true, { error: 'cannot be turned off: receipts, shipments and payment problems are always sent' })
      .optional()
      .describe('Always true'),
    reminder: z.boolean().optional(),
    marketing: z.boolean().optional(),
  })
  .meta({ id: 'UpdateMessagePreferences' });
export type UpdateMessagePreferencesBody = z.infer<typeof UpdateMessagePreferencesBody>;
