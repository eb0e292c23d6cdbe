import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { MessageSettingsModel, type MessageSettings } from './message-settings.model';
import type { MessageSettingsBody, MessageSettingsView, MessageTemplateView } from './message-settings.schemas';
import { DAY_SETTINGS, OPTIONAL_TEMPLATES, TEMPLATES, type DaySetting, type TemplateDefinition } from './message-templates';

export const DEFAULT_ACCENT_COLOR = '#1f6f54';
export const DEFAULT_MESSAGE_LOCALE = 'en-US';

/** A merchant's message settings with every default filled in. */
export interface EffectiveMessageSettings {
  fromName: string | undefined;
  fromAddress: string | undefined;
  replyTo: string | undefined;
  accentColor: string;
  locale: string;
  /** Every optional message, on or off. */
  messages: Record<string, boolean>;
  days: Record<DaySetting, number>;
  updatedAt: Date | undefined;
}

function effective(stored: MessageSettings | undefined): EffectiveMessageSettings {
  const messages = Object.fromEntries(OPTIONAL_TEMPLATES.map((template) => [template.name, stored?.messages?.[template.name] ?? template.optional!.defaultOn]));
  const days = Object.fromEntries(
    Object.entries(DAY_SETTINGS).map(([key, setting]) => {
      const value = stored?.days?.[key];
      return [key, typeof value === 'number' && value >= setting.min && value <= setting.max ? value : setting.default];
    }),
  ) as Record<DaySetting, number>;
  return {
    fromName: stored?.fromName,
    fromAddress: stored?.fromAddress,
    replyTo: stored?.replyTo,
    accentColor: stored?.accentColor ?? DEFAULT_ACCENT_COLOR,
    locale: stored?.locale ?? DEFAULT_MESSAGE_LOCALE,
    messages,
    days,
    updatedAt: stored?.updatedAt,
  };
}

/** The merchant's message settings (the defaults for none, or for a message to an address with no store yet). */
export async function messageSettingsOf(merchantId: string | undefined): Promise<EffectiveMessageSettings> {
  if (!merchantId) return effective(undefined);
  return effective((await MessageSettingsModel.findOne({ _id: merchantId, merchantId }).lean()) ?? undefined);
}

/** Whether this message is sent with these settings: always, unless it is optional and turned off. */
export function isMessageOn(settings: EffectiveMessageSettings, template: Pick<TemplateDefinition, 'name' | 'optional'>): boolean {
  return !template.optional || settings.messages[template.name] !== false;
}

function toView(settings: EffectiveMessageSettings): MessageSettingsView {
  return {
    object: 'message_settings',
    fromName: settings.fromName ?? null,
    fromAddress: settings.fromAddress ?? null,
    replyTo: settings.replyTo ?? null,
    accentColor: settings.accentColor,
    locale: settings.locale,
    messages: settings.messages,
    days: settings.days,
    updatedAt: iso(settings.updatedAt ?? null),
  };
}

export async function getMessageSettings(merchantId: string): Promise<MessageSettingsView> {
  return toView(await messageSettingsOf(merchantId));
}

/** Replaces the merchant's message settings: what the body leaves out (or sets to null) takes its default. */
export async function putMessageSettings(clock: Clock, merchantId: string, input: MessageSettingsBody): Promise<MessageSettingsView> {
  const set: Record<string, unknown> = {
    merchantId,
    messages: Object.fromEntries(Object.entries(input.messages ?? {}).filter(([, on]) => on !== undefined)),
    days: Object.fromEntries(Object.entries(input.days ?? {}).filter(([, value]) => value !== undefined)),
    updatedAt: clock.now(),
  };
  const unset: Record<string, 1> = {};
  for (const field of ['fromName', 'fromAddress', 'replyTo', 'accentColor', 'locale'] as const) {
    const value = input[field];
    if (value === undefined || value === null) unset[field] = 1;
    else set[field] = value;
  }
  const stored = await MessageSettingsModel.findOneAndUpdate(
    { _id: merchantId },
    { $set: set, $inc: { revision: 1 }, ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}) },
    { upsert: true, returnDocument: 'after', lean: true },
  );
  return toView(effective(stored ?? undefined));
}

/** Every message, with its category, whether the merchant may turn it off, and whether it is sent with their settings. */
export async function listMessageTemplates(merchantId: string): Promise<{ object: 'list'; data: MessageTemplateView[] }> {
  const settings = await messageSettingsOf(merchantId);
  return {
    object: 'list',
    data: TEMPLATES.map((template) => ({
      name: template.name,
      object: 'message_template',
      audience: template.audience,
      category: template.category,
      summary: template.summary,
      optional: template.optional !== undefined,
      defaultOn: template.optional?.defaultOn ?? true,
      on: isMessageOn(settings, template),
      days: template.days ? { setting: template.days, value: settings.days[template.days] } : null,
    })),
  };
}
