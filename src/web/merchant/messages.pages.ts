import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { findCustomer } from '../../customers/customer.queries';
import type { LinkSettings } from '../../events/dispatcher.service';
import { merchantAddress, merchantProfile } from '../../merchants/merchant.queries';
import type { MessageCategory } from '../../messages/message-contract';
import { previewTemplate, sendTestMessage } from '../../messages/message-sending.service';
import { MessageSettingsBody } from '../../messages/message-settings.schemas';
import {
  DEFAULT_ACCENT_COLOR,
  DEFAULT_MESSAGE_LOCALE,
  getMessageSettings,
  listMessageTemplates,
  putMessageSettings,
} from '../../messages/message-settings.service';
import { DAY_SETTINGS, TEMPLATES, type DaySetting } from '../../messages/message-templates';
import { MessageView, type MessageDetailView } from '../../messages/message.schemas';
import { getMessage, listMessages, SIGN_IN_TEMPLATE } from '../../messages/message.service';
import { NotFoundError } from '../../shared/errors';
import { consumeRateLimit } from '../../shared/http/rate-limit';
import type { Clock } from '../../shared/time';
import { errorsOf, readForm, firstPageOnBadCursor, type FieldErrors } from '../forms';
import { sendSandboxedHtml } from '../mail-view';
import { dateTimeIn } from '../shop/portal-format';
import { localeOf } from '../shop/shop-view';
import { requireMerchant, signedInMerchant } from './merchant-session';

/**
 * The store's messages (`/merchant/messages`): every message it sends to shoppers, by category, with the
 * optional ones on or off and the days that time them (one form, saved through the API's own
 * `putMessageSettings`); a preview of each with sample data (its HTML served on its own, sandboxed) and a
 * "send me a test"; and the sent log (`/merchant/messages/log`), filtered by status, message and shopper,
 * with each message's delivery history. A shopper's sign-in message signs them in: its link and code are
 * never shown, and its HTML is not served.
 */
export interface MessagePagesDeps {
  clock: Clock;
  links: LinkSettings;
}

/** The messages a store sends its shoppers (those to merchants are the platform's, about their account). */
const SHOPPER_TEMPLATES = TEMPLATES.filter((template) => template.audience === 'shopper');
const SHOPPER_TEMPLATE_NAMES = SHOPPER_TEMPLATES.map((template) => template.name) as [string, ...string[]];

export const CATEGORY_WORDS: Record<MessageCategory, { label: string; meaning: string }> = {
  transactional: {
    label: 'Transactional',
    meaning: 'About something the shopper did or is owed: sent at any hour, whatever their choices.',
  },
  reminder: {
    label: 'Reminders',
    meaning: 'Nudges about the subscription: sent in the shopper’s daytime (8:00 to 20:00), with a one-click unsubscribe.',
  },
  marketing: {
    label: 'Marketing',
    meaning: 'Offers to come back: sent in the shopper’s daytime, with a one-click unsubscribe, and only to shoppers who agreed to marketing.',
  },
};

/** The statuses of the message log (as the API names them). */
const MESSAGE_STATUSES = MessageView.shape.status.options;

const STATUS_WORDS: Record<MessageView['status'], string> = {
  queued: 'Waiting to be sent',
  sent: 'Sent',
  failed: 'Failed',
  suppressed: 'Not sent',
};

const SUPPRESSED_WORDS: Record<NonNullable<MessageView['suppressedReason']>, string> = {
  address_bounced: 'an earlier message to this address bounced',
  unsubscribed: 'the shopper unsubscribed from this kind of message',
  no_marketing_consent: 'the shopper has not agreed to marketing',
};

const EVENT_WORDS: Record<string, string> = {
  queued: 'Queued',
  suppressed: 'Not sent',
  sent: 'Sent',
  deferred: 'Deferred (will be tried again)',
  failed: 'Failed',
};

const onField = (name: string) => `on:${name}`;
const dayField = (setting: string) => `days:${setting}`;
const DAY_KEYS = Object.keys(DAY_SETTINGS) as DaySetting[];

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, { error: `Use at most ${max} characters` });

const SettingsForm = z.strictObject({
  fromName: optionalText(100),
  fromAddress: optionalText(254),
  replyTo: optionalText(254),
  ...Object.fromEntries(SHOPPER_TEMPLATES.filter((template) => template.optional).map((template) => [onField(template.name), z.literal('on').optional()])),
  ...Object.fromEntries(
    DAY_KEYS.map((key) => {
      const { min, max } = DAY_SETTINGS[key];
      const error = `Enter a number of days from ${min} to ${max}`;
      return [
        dayField(key),
        z
          .string()
          .trim()
          .regex(/^\d{1,4}$/, { error })
          .transform(Number)
          .refine((days) => days >= min && days <= max, { error }),
      ];
    }),
  ),
}) as unknown as z.ZodType<Record<string, string | number | undefined>>;

/** Where the API body's refusal shows on the form. */
function fieldOf(path: PropertyKey[]): string {
  const [head, second] = path.map(String);
  if (head === 'days' && second) return dayField(second);
  if (head === 'messages' && second) return onField(second);
  return head ?? '_form';
}

const TemplateName = z.enum(SHOPPER_TEMPLATE_NAMES);
const MessageId = z.string().regex(/^msg_[0-9a-z]{20}$/);

const LogQuery = z.object({
  status: z.enum(MESSAGE_STATUSES, { error: 'Choose a status from the list' }).optional(),
  template: z.enum(SHOPPER_TEMPLATE_NAMES, { error: 'Choose a message from the list' }).optional(),
  customer: z
    .string()
    .regex(/^cust_[0-9a-z]{20}$/, { error: 'This is not a shopper of the store' })
    .optional(),
  after: z
    .string()
    .regex(/^[A-Za-z0-9_-]{4,300}$/)
    .optional(),
});
const LOG_PAGE = 25;

export function messagePages(deps: MessagePagesDeps): Router {
  const router = Router();
  const messageDeps = { clock: deps.clock, links: deps.links };

  const templateOf = (value: unknown): string => {
    const name = TemplateName.safeParse(value);
    if (!name.success) throw new NotFoundError('There is no such message.');
    return name.data;
  };

  async function storeOf(req: Request, res: Response) {
    const store = await merchantProfile(signedInMerchant(res).merchantId);
    if (!store) throw new NotFoundError('No such store.');
    return { timezone: store.timezone, locale: localeOf(req) };
  }

  // ---------------------------------------------------------------------------------------------------------
  // The list of messages, and their settings
  // ---------------------------------------------------------------------------------------------------------

  async function showList(res: Response, status: number, values?: Record<string, unknown>, errors: FieldErrors = {}, saved = false) {
    const merchantId = signedInMerchant(res).merchantId;
    const [settings, templates] = await Promise.all([getMessageSettings(merchantId), listMessageTemplates(merchantId)]);
    const current: Record<string, unknown> = {
      fromName: settings.fromName ?? '',
      fromAddress: settings.fromAddress ?? '',
      replyTo: settings.replyTo ?? '',
      ...Object.fromEntries(Object.entries(settings.messages).map(([name, on]) => [onField(name), on ? 'on' : ''])),
      ...Object.fromEntries(Object.entries(settings.days).map(([key, days]) => [dayField(key), String(days)])),
    };
    const shown = values ?? current;
    const categories = (Object.keys(CATEGORY_WORDS) as MessageCategory[]).map((category) => ({
      category,
      ...CATEGORY_WORDS[category],
      templates: templates.data
        .filter((template) => template.audience === 'shopper' && template.category === category)
        .map((template) => ({
          name: template.name,
          summary: template.summary,
          href: `/merchant/messages/${template.name}`,
          optional: template.optional,
          on: template.on,
          onField: onField(template.name),
          days: template.days
            ? {
                field: dayField(template.days.setting),
                label: DAY_SETTINGS[template.days.setting as DaySetting].description,
                ...DAY_SETTINGS[template.days.setting as DaySetting],
              }
            : null,
        })),
    }));
    res.status(status).render('merchant/messages/list', { title: 'Messages', categories, values: shown, errors, saved });
  }

  router.get('/merchant/messages', requireMerchant, async (req, res) => {
    await showList(res, 200, undefined, {}, req.query.saved === '1');
  });

  router.post('/merchant/messages', requireMerchant, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const values = { ...((req.body ?? {}) as Record<string, unknown>) };
    delete values._csrf;
    const form = readForm(SettingsForm, req.body);
    if (!form.ok) return showList(res, 400, values, form.errors);
    const v = form.value;
    // The form replaces the settings it shows; the colour and language are kept as they are (set elsewhere).
    const current = await getMessageSettings(merchantId);
    const body = MessageSettingsBody.safeParse({
      fromName: v.fromName || null,
      fromAddress: v.fromAddress || null,
      replyTo: v.replyTo || null,
      accentColor: current.accentColor === DEFAULT_ACCENT_COLOR ? null : current.accentColor,
      locale: current.locale === DEFAULT_MESSAGE_LOCALE ? null : current.locale,
      messages: Object.fromEntries(
        SHOPPER_TEMPLATES.filter((template) => template.optional).map((template) => [template.name, v[onField(template.name)] === 'on']),
      ),
      days: Object.fromEntries(DAY_KEYS.map((key) => [key, v[dayField(key)]])),
    });
    const errors: FieldErrors = {};
    if (!body.success) {
      for (const issue of body.error.issues) errors[fieldOf(issue.path)] ??= wordsFor(fieldOf(issue.path), issue.message);
      return showList(res, 400, values, errors);
    }
    try {
      await putMessageSettings(deps.clock, merchantId, body.data);
    } catch (error) {
      const fields = errorsOf(error);
      if (!fields) throw error;
      for (const [path, message] of Object.entries(fields)) errors[fieldOf(path.split('.'))] ??= message;
      return showList(res, 400, values, errors);
    }
    res.redirect(303, '/merchant/messages?saved=1#receipt');
  });

  // ---------------------------------------------------------------------------------------------------------
  // The sent log (before /:name, which would take "log" for a message's name)
  // ---------------------------------------------------------------------------------------------------------

  router.get('/merchant/messages/log', requireMerchant, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const store = await storeOf(req, res);
    const errors: FieldErrors = {};
    const filters: z.infer<typeof LogQuery> = {};
    for (const key of ['status', 'template', 'customer', 'after'] as const) {
      const one = LogQuery.shape[key].safeParse(typeof req.query[key] === 'string' && req.query[key] !== '' ? req.query[key] : undefined);
      if (one.success) Object.assign(filters, { [key]: one.data });
      else if (key !== 'after') errors[key] = one.error.issues[0]?.message ?? 'Choose from the list';
    }
    const query = {
      limit: LOG_PAGE,
      ...(filters.status ? { status: filters.status } : {}),
      ...(filters.template ? { template: filters.template } : {}),
      ...(filters.customer ? { customerId: filters.customer } : {}),
    };
    const page = await firstPageOnBadCursor(
      (startingAfter) => listMessages(merchantId, { ...query, ...(startingAfter ? { startingAfter } : {}) }),
      filters.after,
    );
    const customer = filters.customer ? await findCustomer(merchantId, filters.customer) : undefined;
    const search = (extra: Record<string, string | undefined>) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries({ status: filters.status, template: filters.template, customer: filters.customer, ...extra })) {
        if (value) params.set(key, value);
      }
      const text = params.toString();
      return `/merchant/messages/log${text ? `?${text}` : ''}`;
    };
    res.render('merchant/messages/log', {
      title: 'Sent messages',
      errors,
      filters: {
        status: filters.status ?? '',
        template: filters.template ?? '',
        customer: filters.customer ?? '',
        statuses: MESSAGE_STATUSES.map((value) => ({ value, label: STATUS_WORDS[value] })),
        templates: SHOPPER_TEMPLATE_NAMES.map((value) => ({ value, label: value })),
      },
      shopper: filters.customer ? { label: customer ? `${customer.name} (${customer.email})` : 'this shopper', allHref: search({ customer: '' }) } : null,
      rows: page.data.map((message) => logRow(message, store, (customerId) => search({ customer: customerId }))),
      first: filters.after ? search({}) : null,
      next: page.hasMore && page.nextCursor ? search({ after: page.nextCursor }) : null,
    });
  });

  router.get('/merchant/messages/log/:id', requireMerchant, async (req, res) => {
    const message = await messageOf(req, res);
    const store = await storeOf(req, res);
    const signIn = message.template === SIGN_IN_TEMPLATE;
    res.render('merchant/messages/message', {
      title: signIn ? 'Sign-in message' : message.subject,
      message: {
        ...logRow(message, store, (customerId) => `/merchant/messages/log?customer=${encodeURIComponent(customerId)}`),
        subject: message.subject,
        from: message.from ? `${message.from.name} <${message.from.address}>` : 'The installation’s sender (MAIL_FROM)',
        replyTo: message.replyTo,
        category: CATEGORY_WORDS[message.category].label,
        attempts: message.attempts,
        lastError: message.lastError,
        sentAt: message.sentAt ? dateTimeIn(message.sentAt, store.timezone, store.locale) : null,
        text: message.text,
        htmlHref: signIn ? null : `/merchant/messages/log/${message.id}/html`,
        hidden: signIn,
        history: message.history.map((entry) => ({
          at: dateTimeIn(entry.at, store.timezone, store.locale),
          event: EVENT_WORDS[entry.event] ?? entry.event,
          detail: [entry.responseCode ? `SMTP ${entry.responseCode}` : '', entry.detail ?? ''].filter(Boolean).join(': '),
        })),
      },
    });
  });

  router.get('/merchant/messages/log/:id/html', requireMerchant, async (req, res) => {
    const message = await messageOf(req, res);
    // Its HTML holds the sign-in link: it is not served.
    if (message.template === SIGN_IN_TEMPLATE) throw new NotFoundError('This message’s HTML is not shown: it signs a shopper in.');
    sendSandboxedHtml(res, message.html);
  });

  async function messageOf(req: Request, res: Response): Promise<MessageDetailView> {
    const id = MessageId.safeParse(req.params.id);
    if (!id.success) throw new NotFoundError('No such message.');
    // Another store's message is not found, exactly like a missing one.
    return getMessage(signedInMerchant(res).merchantId, id.data);
  }

  // ---------------------------------------------------------------------------------------------------------
  // A message's preview, and "send me a test"
  // ---------------------------------------------------------------------------------------------------------

  router.get('/merchant/messages/:name', requireMerchant, async (req, res) => {
    const name = templateOf(req.params.name);
    const merchantId = signedInMerchant(res).merchantId;
    const [preview, templates, address] = await Promise.all([
      previewTemplate(messageDeps, merchantId, name),
      listMessageTemplates(merchantId),
      merchantAddress(merchantId),
    ]);
    const template = templates.data.find((one) => one.name === name)!;
    res.render('merchant/messages/preview', {
      title: `Preview: ${preview.subject}`,
      template: {
        name,
        summary: template.summary,
        category: CATEGORY_WORDS[template.category],
        state: template.optional ? (template.on ? 'On' : 'Off') : 'Always sent',
        days: template.days ? `${DAY_SETTINGS[template.days.setting as DaySetting].description}: ${template.days.value}.` : null,
      },
      preview: { subject: preview.subject, text: preview.text, htmlHref: `/merchant/messages/${name}/html` },
      sentTo: req.query.sent === '1' ? (address ?? null) : null,
      logHref: `/merchant/messages/log?template=${encodeURIComponent(name)}`,
    });
  });

  router.get('/merchant/messages/:name/html', requireMerchant, async (req, res) => {
    const preview = await previewTemplate(messageDeps, signedInMerchant(res).merchantId, templateOf(req.params.name));
    sendSandboxedHtml(res, preview.html);
  });

  router.post('/merchant/messages/:name/test', requireMerchant, async (req, res) => {
    const name = templateOf(req.params.name);
    const merchantId = signedInMerchant(res).merchantId;
    // As many as the API allows: each press sends a real message.
    await consumeRateLimit(deps.clock, { name: 'message-test-page', limit: 20, windowSeconds: 3600 }, merchantId);
    await sendTestMessage(messageDeps, merchantId, name);
    res.redirect(303, `/merchant/messages/${name}?sent=1#receipt`);
  });

  return router;
}

/** A refusal of the API's schema in a merchant's words. */
function wordsFor(field: string, message: string): string {
  if (field === 'fromAddress' || field === 'replyTo') return 'Enter an e-mail address such as hello@yourshop.com';
  if (field === 'fromName') return message === 'must be one line of text' ? 'Enter the name on one line' : 'Enter a name of at most 100 characters';
  return message;
}

function logRow(message: MessageView, store: { timezone: string; locale: string }, shopperHref: (customerId: string) => string) {
  return {
    id: message.id,
    href: `/merchant/messages/log/${message.id}`,
    subject: message.subject,
    template: message.template,
    to: message.to,
    status: message.status,
    statusLabel: STATUS_WORDS[message.status],
    why: message.suppressedReason ? SUPPRESSED_WORDS[message.suppressedReason] : null,
    at: dateTimeIn(message.createdAt, store.timezone, store.locale),
    subscriberHref: message.subscriptionId ? `/merchant/subscribers/${message.subscriptionId}` : null,
    shopperHref: message.customerId ? shopperHref(message.customerId) : null,
  };
}
