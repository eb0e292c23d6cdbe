import path from 'node:path';
import ejs from 'ejs';
import { projectRoot } from '../local/project-paths';
import type { MessageCategory } from './message-contract';
import { messageFormat, type MessageFormat } from './message-format';
import type { TemplateDefinition } from './message-templates';

/** Where the e-mail templates live: `<name>.html.ejs` and `<name>.text.ejs` per message, the layout, partials. */
export const EMAIL_VIEWS = path.join(projectRoot, 'views', 'emails');

/** Plain text is not HTML: a value prints as it is ("O'Neil & Sons", not "O&#39;Neil &amp; Sons"). */
// eslint-disable-next-line @typescript-eslint/no-base-to-string -- EJS prints a value with String() too; templates print scalars
const asPlainText = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

/**
 * Renders one part of a message from its template. What `<%= %>` does depends on the part, named by the
 * file: a `.text.ejs` part prints values as they are, an `.html.ejs` part escapes them for HTML (EJS's
 * default). A template that says neither is refused, so no part is ever escaped for the wrong medium.
 * Partials included from a part are rendered the same way (name them `.html.ejs` or `.text.ejs` too).
 */
export async function renderMessagePart(file: string, data: Record<string, unknown>): Promise<string> {
  // Compiled once per file (a file is always one part, so it is always compiled with the same escaping).
  if (file.endsWith('.text.ejs')) return ejs.renderFile(file, data, { async: true, escape: asPlainText, cache: true });
  if (file.endsWith('.html.ejs')) return ejs.renderFile(file, data, { async: true, cache: true });
  throw new Error(`${file}: a message template is named <name>.text.ejs or <name>.html.ejs`);
}

/** Who a message is from and to, and how it reads: everything a template gets besides its own data. */
export interface RenderContext {
  merchant: { name: string; accentColor: string };
  /** The recipient's name (null: greeted without one). */
  recipient: { name: string | null };
  locale: string;
  timezone: string;
  /** Why the recipient gets this mail, and (reminders, marketing) where they stop it. */
  footer: { reason: string; unsubscribeUrl?: string | undefined };
}

export interface RenderedMessage {
  subject: string;
  html: string;
  text: string;
}

/** Why a recipient gets a message of this kind, said in its footer. */
export function footerReason(template: Pick<TemplateDefinition, 'audience' | 'category'>, storeName: string): string {
  // a sentence ends with the store's name: "Beans & Co." takes no second full stop
  const store = storeName.replace(/\.$/, '');
  if (template.audience === 'merchant') return 'You receive this e-mail because this address was given to open or run a Boxcycle store.';
  const why: Record<MessageCategory, string> = {
    transactional: `You receive this e-mail because you have a subscription with ${store}.`,
    reminder: `You receive this reminder because you have a subscription with ${store}.`,
    marketing: `You receive this e-mail because you agreed to hear about offers from ${store}.`,
  };
  return why[template.category];
}

/** Blank lines at most two in a row, no trailing spaces: plain text reads cleanly whatever the template's layout. */
function tidyText(text: string): string {
  return `${text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

/**
 * A message's subject, HTML part and plain-text part, from its template, its (checked) data and its context:
 * the body part is rendered, then put in the shared layout (the merchant's name and colour, the footer).
 */
export async function renderTemplate(template: TemplateDefinition, data: unknown, context: RenderContext): Promise<RenderedMessage> {
  const fmt: MessageFormat = messageFormat(context.locale, context.timezone);
  const parsed = template.data.parse(data) as Record<string, unknown>;
  const subject = template.subject(parsed, fmt);
  const words = template.words ? template.words(parsed, fmt) : {};
  const view = { ...parsed, ...words, fmt, merchant: context.merchant, recipient: context.recipient, subject };
  const layout = {
    subject,
    preheader: template.preheader ? template.preheader(parsed, fmt) : subject,
    merchant: context.merchant,
    footer: context.footer,
    lang: context.locale.split('-')[0] ?? 'en',
  };
  const [htmlBody, textBody] = await Promise.all([
    renderMessagePart(path.join(EMAIL_VIEWS, `${template.name}.html.ejs`), view),
    renderMessagePart(path.join(EMAIL_VIEWS, `${template.name}.text.ejs`), view),
  ]);
  const [html, text] = await Promise.all([
    renderMessagePart(path.join(EMAIL_VIEWS, 'layout.html.ejs'), { ...layout, body: htmlBody }),
    renderMessagePart(path.join(EMAIL_VIEWS, 'layout.text.ejs'), { ...layout, body: textBody }),
  ]);
  return { subject, html, text: tidyText(text) };
}
