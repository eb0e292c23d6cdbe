import type { Response } from 'express';
import type { CaughtMailDetail, CaughtMailSummary } from '../messages/caught-mail.service';

/**
 * What the caught-mail pages show (the merchant's and the local one): a list, one message with its headers and
 * text, and its HTML served on its own, sandboxed: it is the sender's markup, so it runs no script, reaches no
 * form, and loads nothing but inline styles and images.
 */
export interface MailRow {
  href: string;
  subject: string;
  to: string;
  from: string;
  received: string;
}

export function mailRow(mail: CaughtMailSummary, href: string): MailRow {
  return {
    href,
    subject: mail.subject ?? '(no subject)',
    to: mail.to.join(', '),
    from: mail.from ?? '',
    received: mail.receivedAt.toISOString().replace('T', ' ').slice(0, 19) + ' UTC',
  };
}

export function mailDetail(mail: CaughtMailDetail, htmlHref: string) {
  return {
    ...mailRow(mail, ''),
    headers: mail.headers,
    text: mail.text,
    htmlHref: mail.html ? htmlHref : null,
    outboxMessageId: mail.outboxMessageId,
  };
}

/** The message's HTML as its own document, under a policy of its own (sandboxed, no script, no network but images). */
export function sendMailHtml(res: Response, mail: CaughtMailDetail): void {
  sendSandboxedHtml(res, mail.html ?? '');
}

/** Any message's HTML (a caught mail, a preview, a sent message) as its own sandboxed document. */
export function sendSandboxedHtml(res: Response, html: string): void {
  res
    .status(200)
    .set('content-type', 'text/html; charset=utf-8')
    .set('content-security-policy', "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; frame-ancestors 'self'")
    .set('x-frame-options', 'SAMEORIGIN')
    .send(html);
}
