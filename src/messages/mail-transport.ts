import { createTransport } from 'nodemailer';
import type { MailAddress } from '../config/config';

/** One e-mail, ready for the wire. */
export interface OutboundMail {
  from: MailAddress;
  to: string;
  replyTo?: string;
  subject: string;
  text: string;
  html: string;
  /** Our own Message-ID (angle brackets included): the same on every attempt, so a receiver can tell a repeat. */
  messageId: string;
  /** Further headers: X-Boxcycle-*, List-Unsubscribe… */
  headers: Record<string, string>;
}

/** What the SMTP server said when it took the message. */
export interface SentMail {
  /** The server's reply, e.g. `250 2.0.0 Ok: queued as 4F2A81C0B3`. */
  response: string;
  /** The id the server gave it (`queued as …`, `id=…`), else its whole reply. */
  providerMessageId: string;
}

/** Sends mail. The SMTP one below; tests may hand in their own. */
export interface MailTransport {
  send(mail: OutboundMail): Promise<SentMail>;
  /** Closes pooled connections (none are kept by the SMTP transport: one connection per message). */
  close(): void;
}

/** Where an SMTP URL points, without its credentials: for logs and the start-up banner. */
export function describeSmtpUrl(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === 'smtps:' ? '465' : '587');
  return `${parsed.protocol}//${parsed.hostname}:${port}`;
}

const QUEUE_ID = [
  /\bqueued as ([A-Za-z0-9._@<>+-]+)/i,
  /\bcaught as ([A-Za-z0-9._-]+)/i,
  /\bid=([A-Za-z0-9._@<>+-]+)/i,
  /^250 (?:2\.0\.0 )?Ok ([0-9a-f-]{20,})/i,
];

/** The provider's id for an accepted message, read from its reply (Postfix, Exim, SES, our catcher…); else the whole reply. */
export function providerMessageIdOf(response: string): string {
  for (const pattern of QUEUE_ID) {
    const match = pattern.exec(response);
    if (match?.[1]) return match[1];
  }
  return response;
}

/**
 * nodemailer over SMTP, from an smtp:// or smtps:// URL with its credentials. One connection per message:
 * a lost connection fails one attempt, never a batch.
 */
export function createMailTransport(url: string): MailTransport {
  const transporter = createTransport({ url, connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 60_000 });
  return {
    async send(mail) {
      const info = await transporter.sendMail({
        from: { name: mail.from.name, address: mail.from.address },
        to: mail.to,
        ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: mail.headers,
      });
      const response = typeof info.response === 'string' ? info.response : '';
      return { response, providerMessageId: providerMessageIdOf(response) };
    },
    close: () => transporter.close(),
  };
}

/**
 * How a failed send is handled. `permanent` (an SMTP 5xx to the recipient or to the message): the message
 * fails and its address is suppressed; `recipientRefused` when the server refused the mailbox itself (5xx to
 * RCPT TO). `transient` (a 4xx, a lost or refused connection, a timeout, and a 5xx to our own login or
 * sender, which is our setup, not the recipient): tried again after a backoff.
 */
export type SendFailure =
  { kind: 'transient'; detail: string; responseCode?: number } | { kind: 'permanent'; detail: string; responseCode: number; recipientRefused: boolean };

export function classifySendError(error: unknown): SendFailure {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    responseCode?: unknown;
    command?: unknown;
    response?: unknown;
    message?: unknown;
  };
  const responseCode = typeof fields.responseCode === 'number' ? fields.responseCode : undefined;
  const response = typeof fields.response === 'string' && fields.response !== '' ? fields.response : undefined;
  const message = typeof fields.message === 'string' ? fields.message : String(error);
  const detail = (response ?? message).slice(0, 1000);
  if (responseCode !== undefined && responseCode >= 500 && responseCode < 600 && (fields.command === 'RCPT TO' || fields.command === 'DATA')) {
    return { kind: 'permanent', detail, responseCode, recipientRefused: fields.command === 'RCPT TO' };
  }
  return { kind: 'transient', detail, ...(responseCode !== undefined ? { responseCode } : {}) };
}
