import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import { getCustomerMessagePreferences, updateCustomerMessagePreferences } from './message-preference.service';
import {
  ListMessagesQuery,
  MessageDetailView,
  MessageList,
  MessageParams,
  MessagePreferencesParams,
  MessagePreferencesView,
  UpdateMessagePreferencesBody,
} from './message.schemas';
import { getMessage, listMessages } from './message.service';

export function messageRoutes(deps: { clock: Clock }): RouteDefinition[] {
  return [
    defineRoute({
      operationId: 'listMessages',
      method: 'get',
      path: '/messages',
      tag: 'Messages',
      summary: 'The message log: every e-mail to your shoppers, newest first',
      description:
        'Each message the store queued: what it was about, its template and category, and where its delivery is — `queued` (waiting for its time or for a retry), `sent` (with the SMTP server’s id), `failed` (a permanent SMTP 5xx, or every attempt failed) or `suppressed` (never sent: its address bounced, the shopper unsubscribed, or marketing without consent). Filter by `customerId`, `status` and `template`; cursor pagination.',
      auth: 'merchant',
      query: ListMessagesQuery,
      response: { status: 200, description: 'A page of messages', schema: MessageList },
      handler: async ({ principal, query }) => ({ body: await listMessages(principal!.merchantId, query) }),
    }),
    defineRoute({
      operationId: 'getMessage',
      method: 'get',
      path: '/messages/:id',
      tag: 'Messages',
      summary: 'A message: what it said, and its delivery history',
      description:
        'The text and HTML parts as rendered when it was queued, the headers it was sent with, and each step of its delivery (queued, every attempt and the SMTP server’s reply).',
      auth: 'merchant',
      params: MessageParams,
      response: { status: 200, description: 'The message', schema: MessageDetailView },
      handler: async ({ principal, params }) => ({ body: await getMessage(principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'getCustomerMessagePreferences',
      method: 'get',
      path: '/customers/:id/message-preferences',
      tag: 'Messages',
      summary: 'Which messages a shopper gets',
      description:
        'Transactional mail (receipts, shipments, payment problems, changes made) is always sent. Reminders and marketing can be turned off — by the shopper with the unsubscribe link of any such mail, or by you here; marketing also needs the customer’s `marketingConsent`.',
      auth: 'merchant',
      params: MessagePreferencesParams,
      response: { status: 200, description: 'The shopper’s choices', schema: MessagePreferencesView },
      handler: async ({ principal, params }) => ({ body: await getCustomerMessagePreferences(principal!.merchantId, params.id) }),
    }),
    defineRoute({
      operationId: 'updateCustomerMessagePreferences',
      method: 'put',
      path: '/customers/:id/message-preferences',
      tag: 'Messages',
      summary: 'Turn a shopper’s reminders or marketing on or off',
      description: 'For a shopper who asked you to. Categories left out stay as they are; transactional mail cannot be turned off.',
      auth: 'merchant',
      params: MessagePreferencesParams,
      body: UpdateMessagePreferencesBody,
      response: { status: 200, description: 'The shopper’s choices', schema: MessagePreferencesView },
      handler: async ({ principal, params, body }) => ({ body: await updateCustomerMessagePreferences(deps.clock, principal!.merchantId, params.id, body) }),
    }),
  ];
}
