import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../../src/local/child-service';

/** One message the test's SMTP server accepted, parsed by mailparser. */
export interface ReceivedMail {
  envelope: { from: string | undefined; to: string[] };
  parsed: ParsedMail;
  raw: string;
  /** A header as it was sent (first line of that name), unfolded; mailparser files some under other names. */
  header(name: string): string | undefined;
}

/** Where an SMTP answer is given: to the recipient (RCPT TO: the mailbox is refused) or to the message (after DATA). */
export type FailureStage = 'rcpt' | 'data';

export interface Mailbox {
  /** `smtp://127.0.0.1:<port>`: hand it to createMailTransport. */
  url: string;
  port: number;
  /** Everything accepted, in order. */
  received: ReceivedMail[];
  /** The next `count` messages are answered with this SMTP reply (a 4xx or a 5xx) instead of being accepted. */
  failNext(count: number, reply: { code: number; message?: string; stage?: FailureStage }): void;
  /** How many messages were refused so far (each refusal counts once). */
  refused: number;
  clear(): void;
  stop(): Promise<void>;
}

const smtpError = (message: string, responseCode: number): Error => Object.assign(new Error(message), { responseCode });

/** A real SMTP server (smtp-server) on a free loopback port that keeps what it is sent, and refuses on demand. */
export async function startMailbox(): Promise<Mailbox> {
  const failures: Array<{ code: number; message: string; stage: FailureStage }> = [];
  const take = (stage: FailureStage): { code: number; message: string } | undefined => {
    if (failures[0]?.stage !== stage) return undefined;
    mailbox.refused += 1;
    return failures.shift();
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onRcptTo(_address, _session, callback) {
      const failure = take('rcpt');
      callback(failure ? smtpError(failure.message, failure.code) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const failure = take('data');
        if (failure) {
          callback(smtpError(failure.message, failure.code));
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            const lines = parsed.headerLines.map(({ line }) => line.replace(/\r?\n[ \t]+/g, ' '));
            mailbox.received.push({
              envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined, to: session.envelope.rcptTo.map((r) => r.address) },
              parsed,
              raw,
              header: (name) => {
                const line = lines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
                return line?.slice(name.length + 1).trim();
              },
            });
            callback(null, `Ok: queued as TEST${mailbox.received.length}`);
          },
          (error: unknown) => callback(error as Error),
        );
      });
    },
  });
  server.on('error', () => undefined);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const mailbox: Mailbox = {
    url: `smtp://127.0.0.1:${port}`,
    port,
    received: [],
    refused: 0,
    failNext(count, reply) {
      for (let i = 0; i < count; i += 1) {
        failures.push({
          code: reply.code,
          message: reply.message ?? (reply.code >= 500 ? '5.1.1 No such mailbox here' : '4.3.0 Try again later'),
          stage: reply.stage ?? 'rcpt',
        });
      }
    },
    clear() {
      mailbox.received.length = 0;
      failures.length = 0;
      mailbox.refused = 0;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return mailbox;
}

/** A mailbox for the test file: started before its tests, emptied before each, stopped after them. */
export function useMailbox(): () => Mailbox {
  let mailbox: Mailbox | undefined;
  beforeAll(async () => {
    mailbox = await startMailbox();
  });
  beforeEach(() => mailbox?.clear());
  afterAll(async () => {
    await mailbox?.stop();
  });
  return () => {
    if (!mailbox) throw new Error('useMailbox(): the mailbox starts in beforeAll');
    return mailbox;
  };
}
