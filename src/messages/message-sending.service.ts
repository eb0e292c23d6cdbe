import { findCustomer } from '../customers/customer.queries';
import type { LinkSettings } from '../events/dispatcher.service';
import { merchantAddress, merchantProfile } from '../merchants/merchant.queries';
import type { AccountMessage } from '../merchants/merchant.service';
import { NotFoundError } from '../shared/errors';
import { newId } from '../shared/ids';
import type { Clock } from '../shared/time';
import type { MessageCategory, OutgoingMessage } from './message-contract';
import { footerReason, renderTemplate, type RenderedMessage } from './message-rendering';
import { isMessageOn, messageSettingsOf, type EffectiveMessageSettings } from './message-settings.service';
import type { MessagePreview, MessageTestSent } from './message-settings.schemas';
import { findTemplate, templateNamed, type TemplateDefinition } from './message-templates';
import { queueMessage } from './message.service';
import { actionLinkSecret } from './action-links';
import { unsubscribeUrl } from './unsubscribe.service';

/** What sending a message needs: the clock, and where its links lead (and what signs them). */
export interface MessageDeps {
  clock: Clock;
  links: LinkSettings;
}

/** The message deps of a listener or job; refused loudly when the composition root did not hand the links in. */
export function messageDepsOf(deps: { clock: Clock; links?: LinkSettings | undefined }): MessageDeps {
  if (!deps.links) throw new Error('messages need links (PUBLIC_URL): the worker must hand `links` to listeners and jobs');
  return { clock: deps.clock, links: deps.links };
}

/** The platform's own name and colour, on messages to merchants (about their Boxcycle account). */
const PLATFORM = { name: 'Boxcycle', accentColor: '#1f6f54' };

export interface SendTemplateInput {
  template: string;
  /** The store it is from (absent only for a message to an address that has no store yet). */
  merchantId?: string | undefined;
  /** The shopper it is to: their address, name, language and time zone. */
  customerId?: string | undefined;
  subscriptionId?: string | undefined;
  /** A recipient who is not a shopper: a merchant's address, and the name to greet them by. */
  to?: { address: string; name?: string | null } | undefined;
  /** What it is about (the fact's id, or the occasion): with the template and the recipient, it is sent once. */
  key: string;
  data: unknown;
  sendAfter?: Date | undefined;
  factId?: string | undefined;
}

export type SendOutcome = { queued: boolean; id: string } | { queued: false; skipped: 'off' | 'no_recipient' | 'no_consent' };

interface Recipient {
  address: string;
  name: string | null;
  locale: string | undefined;
  timezone: string | undefined;
  customerId: string | undefined;
  marketingConsent: boolean;
}

async function recipientOf(input: Pick<SendTemplateInput, 'merchantId' | 'customerId' | 'to'>): Promise<Recipient | undefined> {
  if (input.to)
    return { address: input.to.address, name: input.to.name ?? null, locale: undefined, timezone: undefined, customerId: undefined, marketingConsent: true };
  if (!input.merchantId || !input.customerId) return undefined;
  const customer = await findCustomer(input.merchantId, input.customerId);
  if (!customer) return undefined;
  return {
    address: customer.email,
    name: customer.name,
    locale: customer.locale,
    timezone: customer.timezone,
    customerId: customer._id,
    marketingConsent: customer.marketingConsent.granted,
  };
}

interface Prepared {
  rendered: RenderedMessage;
  timezone: string;
  from: OutgoingMessage['from'];
  replyTo: string | undefined;
}

/** Renders a template for one recipient, with the store's brand and the recipient's language and zone. */
async function prepare(
  deps: MessageDeps,
  template: TemplateDefinition,
  merchantId: string | undefined,
  settings: EffectiveMessageSettings,
  recipient: Pick<Recipient, 'name' | 'locale' | 'timezone' | 'customerId'>,
  data: unknown,
): Promise<Prepared> {
  const merchant = merchantId ? await merchantProfile(merchantId) : undefined;
  if (merchantId && !merchant) throw new NotFoundError('This merchant does not exist.');
  const toMerchant = template.audience === 'merchant';
  const brand = toMerchant || !merchant ? PLATFORM : { name: merchant.name, accentColor: settings.accentColor };
  const timezone = recipient.timezone ?? merchant?.timezone ?? 'UTC';
  const category = template.category;
  const unsubscribable = !toMerchant && merchantId !== undefined && (category === 'reminder' || category === 'marketing');
  const rendered = await renderTemplate(template, data, {
    merchant: brand,
    recipient: { name: recipient.name },
    locale: recipient.locale ?? settings.locale,
    timezone,
    footer: {
      reason: footerReason(template, brand.name),
      ...(unsubscribable
        ? {
            unsubscribeUrl: unsubscribeUrl(
              deps.links.publicUrl,
              { merchantId: merchantId, customerId: recipient.customerId ?? 'sample', category },
              { secret: await actionLinkSecret(deps.links.appSecret, deps.clock.now()), now: deps.clock.now() },
            ),
          }
        : {}),
    },
  });
  const from = !toMerchant && settings.fromAddress ? { name: settings.fromName ?? brand.name, address: settings.fromAddress } : undefined;
  return { rendered, timezone, from, replyTo: toMerchant ? undefined : settings.replyTo };
}

/**
 * Sends one message of a template: reads the store (its name, brand and sender from its message settings)
 * and the shopper (address, name, language, time zone), checks the merchant has this message on (and, for
 * marketing, that the shopper agreed to it), renders the subject and both parts, and queues it once per
 * (key, template, recipient): a replayed fact or a job run again queues nothing more.
 */
export async function sendTemplate(deps: MessageDeps, input: SendTemplateInput): Promise<SendOutcome> {
  const template = templateNamed(input.template);
  const settings = await messageSettingsOf(input.merchantId);
  if (!isMessageOn(settings, template)) return { queued: false, skipped: 'off' };
  const recipient = await recipientOf(input);
  if (!recipient) return { queued: false, skipped: 'no_recipient' };
  if (template.category === 'marketing' && !recipient.marketingConsent) return { queued: false, skipped: 'no_consent' };
  const prepared = await prepare(deps, template, input.merchantId, settings, recipient, input.data);
  return queueMessage(deps, {
    key: input.key,
    template: template.name,
    category: template.category,
    audience: template.audience,
    ...(input.merchantId ? { merchantId: input.merchantId } : {}),
    ...(recipient.customerId ? { customerId: recipient.customerId } : {}),
    ...(input.subscriptionId ? { subscriptionId: input.subscriptionId } : {}),
    to: recipient.address,
    ...(prepared.from ? { from: prepared.from } : {}),
    ...(prepared.replyTo ? { replyTo: prepared.replyTo } : {}),
    subject: prepared.rendered.subject,
    html: prepared.rendered.html,
    text: prepared.rendered.text,
    ...(input.sendAfter ? { sendAfter: input.sendAfter } : {}),
    timezone: prepared.timezone,
    ...(input.factId ? { factId: input.factId } : {}),
  });
}

function templateOrNotFound(name: string): TemplateDefinition {
  const template = findTemplate(name);
  if (!template) throw new NotFoundError('No message template with this name.');
  return template;
}

/** A template rendered with its sample data and the merchant's brand and settings, as a shopper would read it. */
export async function previewTemplate(deps: MessageDeps, merchantId: string, name: string): Promise<MessagePreview> {
  const template = templateOrNotFound(name);
  const settings = await messageSettingsOf(merchantId);
  const { rendered } = await prepare(
    deps,
    template,
    merchantId,
    settings,
    { name: 'Ana Shopper', locale: undefined, timezone: undefined, customerId: undefined },
    template.sample({ publicUrl: deps.links.publicUrl }),
  );
  return { object: 'message_preview', template: template.name, ...rendered };
}

/**
 * "Send me a test": the template with its sample data, to the merchant's own address, now (as a transactional
 * message, so no quiet hours hold it), whether or not the message is on. Each press sends one.
 */
export async function sendTestMessage(deps: MessageDeps, merchantId: string, name: string): Promise<MessageTestSent> {
  const template = templateOrNotFound(name);
  const [settings, address] = await Promise.all([messageSettingsOf(merchantId), merchantAddress(merchantId)]);
  if (!address) throw new NotFoundError('This merchant does not exist.');
  const prepared = await prepare(
    deps,
    template,
    merchantId,
    settings,
    { name: null, locale: undefined, timezone: undefined, customerId: undefined },
    template.sample({ publicUrl: deps.links.publicUrl }),
  );
  const category: MessageCategory = 'transactional';
  const queued = await queueMessage(deps, {
    key: `test:${newId('tst')}`,
    template: template.name,
    category,
    audience: 'merchant',
    merchantId,
    to: address,
    ...(prepared.from ? { from: prepared.from } : {}),
    ...(prepared.replyTo ? { replyTo: prepared.replyTo } : {}),
    subject: `[Test] ${prepared.rendered.subject}`,
    html: prepared.rendered.html,
    text: prepared.rendered.text,
    timezone: prepared.timezone,
  });
  return { object: 'message_test', template: template.name, to: address, queued: queued.queued };
}

/**
 * A message to an address about its Boxcycle account (a sign-up to confirm, someone trying to sign up with it),
 * from the platform: the merchants' sign-up hands it in through the composition root. Once per address,
 * message and `aboutKey`.
 */
export async function sendAccountMessage(deps: MessageDeps, message: AccountMessage): Promise<void> {
  await sendTemplate(deps, {
    template: message.type,
    merchantId: message.merchantId,
    to: { address: message.to },
    key: message.aboutKey,
    data: message.data,
  });
}

/** What a shopper's sign-in mail carries: the once-only link, the code, when both stop working. */
export interface ShopperSignInMessage {
  merchantId: string;
  customerId: string;
  /** The sign-in request it answers: one mail per request. */
  requestId: string;
  link: string;
  code: string;
  expiresAt: Date;
}

/** The mail that lets a shopper sign in (transactional: sent at once, whatever their preferences). */
export async function sendShopperSignIn(deps: MessageDeps, message: ShopperSignInMessage): Promise<void> {
  await sendTemplate(deps, {
    template: 'shopper.sign_in',
    merchantId: message.merchantId,
    customerId: message.customerId,
    key: `sign-in:${message.requestId}`,
    data: { link: message.link, code: message.code, expiresAt: message.expiresAt.toISOString() },
  });
}
