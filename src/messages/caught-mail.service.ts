import type { CaughtMessage } from '../local/mail-catcher';
import { NotFoundError } from '../shared/errors';
import { newId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import type { Clock } from '../shared/time';
import { CaughtMailModel, type CaughtMail } from './caught-mail.model';

/**
 * Whose caught mail a page may show: a merchant's (mail its store sent), or everything caught for one address
 * (any store's, and the platform's own: a sign-up to confirm) — what the person at this machine receives, as
 * their mailbox would show it (the pages that read it answer on this machine only).
 */
export type CaughtMailScope = { merchantId: string } | { recipient: string };

/** One caught message in a list. */
export interface CaughtMailSummary {
  id: string;
  from: string | null;
  to: string[];
  subject: string | null;
  /** When the catcher received it. */
  receivedAt: Date;
  /** The message's own Date header. */
  date: Date | null;
  hasHtml: boolean;
  rawSize: number;
}

/** One caught message, whole: what a Mailpit-like viewer shows (HTML is the sender's: show it sandboxed). */
export interface CaughtMailDetail extends CaughtMailSummary {
  messageId: string | null;
  /** Our outbox message it was (the message log's id), if it came from the outbox. */
  outboxMessageId: string | null;
  envelopeFrom: string | null;
  envelopeTo: string[];
  headers: Array<{ name: string; value: string }>;
  text: string | null;
  html: string | null;
}

/** Keeps what the local catcher received (src/runtime.ts hands this to it). Returns the id it is kept under. */
export async function recordCaughtMail(clock: Clock, caught: CaughtMessage): Promise<string> {
  const id = newId('cm');
  await CaughtMailModel.create({ _id: id, ...caught, hasHtml: typeof caught.html === 'string' && caught.html !== '', createdAt: clock.now() });
  return id;
}

function scopeFilter(scope: CaughtMailScope): Record<string, unknown> {
  if ('merchantId' in scope) return { merchantId: scope.merchantId };
  return { to: scope.recipient.trim().toLowerCase() };
}

function toSummary(mail: CaughtMail): CaughtMailSummary {
  return {
    id: mail._id,
    from: mail.from ?? null,
    to: mail.to,
    subject: mail.subject ?? null,
    receivedAt: mail.createdAt,
    date: mail.date ?? null,
    hasHtml: mail.hasHtml,
    rawSize: mail.rawSize,
  };
}

/** Caught mail in a scope, newest first, a page at a time (`startingAfter`: the previous page's `nextCursor`). */
export async function listCaughtMail(scope: CaughtMailScope, page: { limit: number; startingAfter?: string | undefined }) {
  const mails = await CaughtMailModel.find({ ...scopeFilter(scope), ...afterCursor(decodeCursor(page.startingAfter)) }, { text: 0, html: 0, headers: 0 })
    .sort({ createdAt: -1, _id: -1 })
    .limit(page.limit + 1)
    .lean<CaughtMail[]>();
  return listPage(mails, page.limit, toSummary);
}

/** One caught message in a scope; another scope's, or a missing one, is not found. */
export async function getCaughtMail(scope: CaughtMailScope, id: string): Promise<CaughtMailDetail> {
  const mail = await CaughtMailModel.findOne({ _id: id, ...scopeFilter(scope) }).lean<CaughtMail>();
  if (!mail) throw new NotFoundError('No such caught mail.');
  return {
    ...toSummary(mail),
    messageId: mail.messageId ?? null,
    outboxMessageId: mail.outboxMessageId ?? null,
    envelopeFrom: mail.envelopeFrom ?? null,
    envelopeTo: mail.envelopeTo,
    headers: mail.headers,
    text: mail.text ?? null,
    html: mail.html ?? null,
  };
}
