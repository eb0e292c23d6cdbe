import type { LinkSettings } from '../events/dispatcher.service';
import { defineRoute, type RouteDefinition } from '../shared/http/route';
import type { Clock } from '../shared/time';
import { previewTemplate, sendTestMessage } from './message-sending.service';
import {
  MessagePreview,
  MessageSettingsBody,
  MessageSettingsView,
  MessageTemplateList,
  MessageTemplateParams,
  MessageTestSent,
  PreviewQuery,
} from './message-settings.schemas';
import { getMessageSettings, listMessageTemplates, putMessageSettings } from './message-settings.service';

/**
 * A preview is the merchant's own content, shown as a page of its own: nothing in it may run or load from
 * elsewhere (images excepted), and it may not be framed by another site.
 */
const PREVIEW_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'; sandbox",
  'x-content-type-options': 'nosniff',
};

export function messageSettingsRoutes(deps: { clock: Clock; links: LinkSettings }): RouteDefinition[] {
  const messageDeps = { clock: deps.clock, links: deps.links };
  return [
    defineRoute({
      operationId: 'getMessageSettings',
      method: 'get',
      path: '/message-settings',
      tag: 'Messages',
      summary: "Your shoppers' messages: sender, brand, which are on, their timing",
      description: 'Every field has a value: what you have not set is the default.',
      auth: 'merchant',
      response: { status: 200, description: 'The message settings', schema: MessageSettingsView },
      handler: async ({ principal }) => ({ body: await getMessageSettings(principal!.merchantId) }),
    }),
    defineRoute({
      operationId: 'putMessageSettings',
      method: 'put',
      path: '/message-settings',
      tag: 'Messages',
      summary: 'Set the sender, brand, optional messages and their timing',
      description:
        'Replaces the settings: a field left out (or null) takes its default. `messages` turns optional messages on or off (`GET /message-templates` lists which are optional); `days` times the upcoming-box reminder, the win-back, the rating request and the delay notice. Transactional messages that shoppers are owed (confirmations, receipts of changes, failed payments, cancellations, the yearly terms) cannot be turned off.',
      auth: 'merchant',
      body: MessageSettingsBody,
      response: { status: 200, description: 'The message settings', schema: MessageSettingsView },
      handler: async ({ principal, body }) => ({ body: await putMessageSettings(deps.clock, principal!.merchantId, body) }),
    }),
    defineRoute({
      operationId: 'listMessageTemplates',
      method: 'get',
      path: '/message-templates',
      tag: 'Messages',
      summary: 'Every message Boxcycle sends, and whether yours are on',
      description:
        'Each with its audience, its category (transactional, reminder, marketing), what it says and when, whether you may turn it off, and whether it is on.',
      auth: 'merchant',
      response: { status: 200, description: 'The messages', schema: MessageTemplateList },
      handler: async ({ principal }) => ({ body: await listMessageTemplates(principal!.merchantId) }),
    }),
    defineRoute({
      operationId: 'previewMessageTemplate',
      method: 'get',
      path: '/message-templates/:name/preview',
      tag: 'Messages',
      summary: 'A message rendered with sample data and your brand',
      description:
        'Its subject and both parts as a shopper would get them (your name, colour and sender; a sample shopper). `format=html` answers the HTML part alone as text/html, `format=text` the plain-text part as text/plain.',
      auth: 'merchant',
      params: MessageTemplateParams,
      query: PreviewQuery,
      response: {
        status: 200,
        description: 'The rendered message',
        schema: MessagePreview,
        alternatives: [
          { mediaType: 'text/html', description: 'with `format=html`: the HTML part, a page of its own (sandboxed: nothing in it runs)' },
          { mediaType: 'text/plain', description: 'with `format=text`: the plain-text part' },
        ],
      },
      handler: async ({ principal, params, query }) => {
        const preview = await previewTemplate(messageDeps, principal!.merchantId, params.name);
        if (query.format === 'json') return { body: preview };
        return {
          body: preview,
          headers: PREVIEW_HEADERS,
          text:
            query.format === 'html'
              ? { contentType: 'text/html; charset=utf-8', content: preview.html }
              : { contentType: 'text/plain; charset=utf-8', content: preview.text },
        };
      },
    }),
    defineRoute({
      operationId: 'sendTestMessage',
      method: 'post',
      path: '/message-templates/:name/test',
      tag: 'Messages',
      summary: 'Send yourself a test of a message',
      description: "The message with sample data, to your account's address, at once (whether the message is on or not). Each call sends one.",
      auth: 'merchant',
      params: MessageTemplateParams,
      response: { status: 202, description: 'Queued for your address', schema: MessageTestSent },
      rateLimit: { name: 'message-test', limit: 20, windowSeconds: 3600, key: (req) => req.get('authorization') ?? req.ip ?? 'unknown' },
      handler: async ({ principal, params }) => ({ status: 202, body: await sendTestMessage(messageDeps, principal!.merchantId, params.name) }),
    }),
  ];
}
