import type { AddressObject, ParsedMail } from 'mailparser';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { freePort } from './child-service';

/** What the catcher makes of one message it received: the parsed parts a viewer shows. */
export interface CaughtMessage {
  envelopeFrom?: string;
  envelopeTo: string[];
  /** The From header as shown (`Name <address>`). */
  from?: string;
  /** The recipients' addresses from the To and Cc headers (the envelope's when there are none), in lower case. */
  to: string[];
  subject?: string;
  date?: Date;
  /** The Message-ID header. */
  messageId?: string;
  /** Every header line, in order, unfolded. */
  headers: Array<{ name: string; value: string }>;
  text?: string;
  html?: string;
  rawSize: number;
  /** The store the message came from: our delivery's `X-Boxcycle-Merchant` header. */
  merchantId?: string;
  /** Our outbox message: the `X-Boxcycle-Message` header. */
  outboxMessageId?: string;
}

export interface MailCatcher {
  host: string;
  port: number;
  /** Where a transport sends to reach it: `smtp://127.0.0.1:<port>`. */
  url: string;
  stop(): Promise<void>;
}

export interface MailCatcherOptions {
  /** Keeps a caught message; returns its id (the SMTP reply names it). A failure answers 451: the sender tries again. */
  store: (message: CaughtMessage) => Promise<string>;
  /** A port of its own; without it, a free one. */
  port?: number;
  /** Told of connection errors (a client that went away): they concern one session, never the catcher. */
  onError?: (error: Error) => void;
}

/** Messages larger than this are refused (552), like a real server would. */
export const CATCHER_MAX_BYTES = 10 * 1024 * 1024;

function addressesOf(header: AddressObject | AddressObject[] | undefined): string[] {
  const objects = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const flatten = (entries: AddressObject['value']): string[] =>
    entries.flatMap((entry) => [...(entry.address ? [entry.address.toLowerCase()] : []), ...flatten(entry.group ?? [])]);
  return objects.flatMap((object) => flatten(object.value));
}

function unfold(line: string): { name: string; value: string } {
  const colon = line.indexOf(':');
  const name = colon === -1 ? line : line.slice(0, colon);
  const value = colon === -1 ? '' : line.slice(colon + 1);
  return { name: name.trim(), value: value.replace(/\r?\n[ \t]+/g, ' ').trim() };
}

/** Reads one received message into what the catcher keeps (exported for the tests' mailbox, which reads mail the same way). */
export function caughtFrom(parsed: ParsedMail, raw: { size: number; envelopeFrom?: string; envelopeTo: string[] }): CaughtMessage {
  const headers = parsed.headerLines.map(({ line }) => unfold(line));
  const header = (name: string): string | undefined => headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
  const to = [...addressesOf(parsed.to), ...addressesOf(parsed.cc)];
  const merchantId = header('X-Boxcycle-Merchant');
  const outboxMessageId = header('X-Boxcycle-Message');
  return {
    ...(raw.envelopeFrom ? { envelopeFrom: raw.envelopeFrom } : {}),
    envelopeTo: raw.envelopeTo,
    ...(parsed.from?.text ? { from: parsed.from.text } : {}),
    to: to.length > 0 ? to : raw.envelopeTo,
    ...(parsed.subject !== undefined ? { subject: parsed.subject } : {}),
    ...(parsed.date ? { date: parsed.date } : {}),
    ...(parsed.messageId ? { messageId: parsed.messageId } : {}),
    headers,
    ...(parsed.text !== undefined ? { text: parsed.text } : {}),
    ...(typeof parsed.html === 'string' ? { html: parsed.html } : {}),
    rawSize: raw.size,
    ...(merchantId ? { merchantId } : {}),
    ...(outboxMessageId ? { outboxMessageId } : {}),
  };
}

function envelopeOf(session: SMTPServerSession): { envelopeFrom?: string; envelopeTo: string[] } {
  const from = session.envelope.mailFrom;
  return {
    ...(from && from.address ? { envelopeFrom: from.address.toLowerCase() } : {}),
    envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
  };
}

const smtpError = (message: string, responseCode: number): Error => Object.assign(new Error(message), { responseCode });

/**
 * A local SMTP server, in this process, on a free loopback port: the default destination of mail when no
 * SMTP_URL is set. It accepts every message without authentication or TLS (it listens on 127.0.0.1 only),
 * parses it, and hands it to `store`; nothing is relayed anywhere.
 */
export async function startMailCatcher(options: MailCatcherOptions): Promise<MailCatcher> {
  const host = '127.0.0.1';
  const server = new SMTPServer({
    name: 'boxcycle-mail-catcher',
    banner: 'Boxcycle local mail catcher: nothing leaves this machine',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    size: CATCHER_MAX_BYTES,
    logger: false,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => callback(error));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(smtpError('Message exceeds the catcher’s maximum size', 552));
          return;
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => options.store(caughtFrom(parsed, { size: raw.length, ...envelopeOf(session) })))
          .then(
            (id) => callback(null, `Message caught as ${id}`),
            (error: unknown) => callback(smtpError(`Could not keep the message: ${error instanceof Error ? error.message : String(error)}`, 451)),
          );
      });
    },
  });
  server.on('error', (error: Error) => options.onError?.(error));
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    host,
    port,
    url: `smtp://${host}:${port}`,
    stop: () => (stopping ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}
