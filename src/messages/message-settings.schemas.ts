import { z } from 'zod';
import { Locale } from '../customers/customer.schemas';
import { Email, Instant, wholeNumber } from '../shared/schemas';
import { MESSAGE_CATEGORIES } from './message-contract';
import { DAY_SETTINGS, OPTIONAL_TEMPLATES, TEMPLATES, type DaySetting } from './message-templates';

/** A name shown in a From header: no line breaks or control characters (they would forge headers). */
const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}]+$/u, { error: 'must be one line of text' });

const AccentColor = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, { error: 'must be a colour #RRGGBB' })
  .transform((value) => value.toLowerCase());

const OptionalMessages = z
  .strictObject(Object.fromEntries(OPTIONAL_TEMPLATES.map((template) => [template.name, z.boolean().optional().describe(template.summary)])))
  .describe('Optional messages turned on (true) or off (false); those not named take their default');

const DaysInput = z
  .strictObject(
    Object.fromEntries(
      Object.entries(DAY_SETTINGS).map(([key, setting]) => [
        key,
        wholeNumber(setting.min, setting.max).optional().describe(`${setting.description} (default ${setting.default})`),
      ]),
    ) as Record<DaySetting, z.ZodOptional<ReturnType<typeof wholeNumber>>>,
  )
  .describe('Numbers of days that time messages; those not given take their default');

export const MessageSettingsBody = z
  .strictObject({
    fromName: DisplayName.nullable().optional().describe("The sender's name shoppers see (default: the store's name)"),
    fromAddress: Email.nullable()
      .optional()
      .describe("The sender's address (default: the installation's MAIL_FROM); your domain must allow the mail server to send for it"),
    replyTo: Email.nullable().optional().describe('Where replies go (default: none)'),
    accentColor: AccentColor.nullable().optional().describe('The colour of the header bar and buttons (default #1f6f54)'),
    locale: Locale.nullable().optional().describe('How money and dates read for shoppers who have not set their own (default en-US)'),
    messages: OptionalMessages.optional(),
    days: DaysInput.optional(),
  })
  .meta({ id: 'MessageSettingsInput' });
export type MessageSettingsBody = z.infer<typeof MessageSettingsBody>;

export const MessageSettingsView = z
  .strictObject({
    object: z.literal('message_settings'),
    fromName: z.string().nullable(),
    fromAddress: z.string().nullable(),
    replyTo: z.string().nullable(),
    accentColor: z.string(),
    locale: z.string(),
    messages: z.record(z.string(), z.boolean()).describe('Every optional message, on or off'),
    days: z.record(z.string(), z.number().int()),
    updatedAt: Instant.nullable().describe('null: never changed, everything is the default'),
  })
  .meta({ id: 'MessageSettings' });
export type MessageSettingsView = z.infer<typeof MessageSettingsView>;

export const MessageTemplateView = z
  .strictObject({
    name: z.enum(TEMPLATES.map((template) => template.name) as [string, ...string[]]),
    object: z.literal('message_template'),
    audience: z.enum(['shopper', 'merchant']),
    category: z.enum(MESSAGE_CATEGORIES),
    summary: z.string(),
    optional: z.boolean().describe('Whether you may turn it off'),
    defaultOn: z.boolean(),
    on: z.boolean().describe('Whether it is sent, with your settings'),
    days: z.strictObject({ setting: z.string(), value: z.number().int() }).nullable().describe('The number of days that times it'),
  })
  .meta({ id: 'MessageTemplate' });
export type MessageTemplateView = z.infer<typeof MessageTemplateView>;

export const MessageTemplateList = z.strictObject({ object: z.literal('list'), data: z.array(MessageTemplateView) }).meta({ id: 'MessageTemplateList' });

export const MessageTemplateParams = z.strictObject({ name: z.string().max(64) });

export const PreviewQuery = z.strictObject({
  format: z.enum(['json', 'html', 'text']).default('json').describe('`html` answers the HTML part as text/html, `text` the plain-text part as text/plain'),
});

export const MessagePreview = z
  .strictObject({
    object: z.literal('message_preview'),
    template: z.string(),
    subject: z.string(),
    html: z.string(),
    text: z.string(),
  })
  .meta({ id: 'MessagePreview' });
export type MessagePreview = z.infer<typeof MessagePreview>;

export const MessageTestSent = z
  .strictObject({
    object: z.literal('message_test'),
    template: z.string(),
    to: z.string(),
    queued: z.boolean(),
  })
  .meta({ id: 'MessageTestSent' });
export type MessageTestSent = z.infer<typeof MessageTestSent>;
