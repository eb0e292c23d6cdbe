import type { MailAddress } from '../config/config';
import type { Logger } from '../shared/logger';
import type { Clock } from '../shared/time';
import { createWorkQueue, exponentialBackoff } from '../shared/work-queue';
import { classifySendError, type MailTransport, type OutboundMail, type SendFailure } from './mail-transport';
import { recordBounce } from './message-suppression.service';
import { MessageModel, type DeliveryEvent, type Message } from './message.model';
import { canUnsubscribe, suppressionReasonFor } from './message.service';
import { earliestSendAt } from './quiet-hours';
import { actionLinkSecret, unsubscribeUrl } from './unsubscribe.service';

/** What the worker hands the delivery job (src/runtime.ts builds it from the configuration). */
export interface MailDelivery {
  transport: MailTransport;
  /** The sender of a message that names none (MAIL_FROM); its domain also names our Message-IDs. */
  from: MailAddress;
  /** The public base URL, for unsubscribe links. */
  publicUrl: string;
  /** APP_SECRET, when set: signs unsubscribe links (else the installation's own secret). */
  appSecret: string | undefined;
}

export interface DeliveryDeps extends MailDelivery {
  clock: Clock;
  logger: Logger;
}

export const MAX_DELIVERY_ATTEMPTS = 10;

/**
 * The outbox, worked like the webhook inbox and the fact dispatcher (src/shared/work-queue.ts): one worker
 * claims a message, a transient failure is tried again after 1 min, 2, 4 … capped at 1 h, up to
 * MAX_DELIVERY_ATTEMPTS; a claim older than 10 minutes belongs to a worker that died and is given back.
 */
export const outbox = createWorkQueue<Message>(MessageModel, {
  maxAttempts: MAX_DELIVERY_ATTEMPTS,
  backoffMs: exponentialBackoff(60_000, 3_600_000),
  stuckAfterMs: 10 * 60_000,
  orderBy: 'sendAfter',
  pendingSince: 'sendAfter',
  pendingGraceMs: 0,
});

export type DeliveryOutcome = 'sent' | 'deferred' | 'failed' | 'suppressed';

/** Our Message-ID for an outbox message: the same on every attempt, in the sender domain's namespace. */
export function messageIdHeader(outboxId: string, from: MailAddress): string {
  return `<${outboxId}@${from.address.split('@')[1] ?? 'boxcycle.localhost'}>`;
}

async function compose(deps: DeliveryDeps, message: Message): Promise<OutboundMail> {
  const headers: Record<string, string> = { 'X-Boxcycle-Message': message._id };
  if (message.merchantId) headers['X-Boxcycle-Merchant'] = message.merchantId;
  if (canUnsubscribe(message.category) && message.merchantId && message.customerId) {
    const url = unsubscribeUrl(
      deps.publicUrl,
      { merchantId: message.merchantId, customerId: message.customerId, category: message.category },
      { secret: await actionLinkSecret(deps), now: deps.clock.now() },
    );
    // RFC 8058: a mail client may unsubscribe with one POST of `List-Unsubscribe=One-Click` to this URL.
    headers['List-Unsubscribe'] = `<${url}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  return {
    from: message.from ?? deps.from,
    to: message.to,
    ...(message.replyTo ? { replyTo: message.replyTo } : {}),
    subject: message.subject,
    text: message.text,
    html: message.html,
    messageId: messageIdHeader(message._id, deps.from),
    headers,
  };
}

const event = (at: Date, name: DeliveryEvent['event'], detail?: string, responseCode?: number): DeliveryEvent => ({
  at,
  event: name,
  ...(detail !== undefined ? { detail } : {}),
  ...(responseCode !== undefined ? { responseCode } : {}),
});

/** Ends a claimed message's delivery as failed: nothing more will be tried. */
async function settleFailed(clock: Clock, claimed: Message, failure: SendFailure, detail: string): Promise<void> {
  const now = clock.now();
  await MessageModel.updateOne(
    { _id: claimed._id, state: 'processing', attempts: claimed.attempts },
    {
      $set: {
        status: 'failed',
        state: 'failed',
        failedAt: now,
        lastError: detail,
        ...(failure.responseCode !== undefined ? { lastResponseCode: failure.responseCode } : {}),
      },
      $unset: { nextAttemptAt: 1 },
      $push: { history: event(now, 'failed', detail, failure.responseCode) },
    },
  );
}

/**
 * Delivers one due message, if this worker can claim it: checks again that it may go (a bounce or an
 * unsubscribe since it was queued suppresses it), sends it, and records what the SMTP server said. A 5xx
 * fails it and suppresses its address; anything else is tried again after its backoff (a reminder's next
 * try waits for the recipient's daytime too), until the last attempt.
 */
export async function deliverMessage(deps: DeliveryDeps, id: string): Promise<DeliveryOutcome | 'not_claimed'> {
  const claimed = await outbox.claim(deps.clock, id);
  if (!claimed) return 'not_claimed';
  const guard = { _id: claimed._id, state: 'processing' as const, attempts: claimed.attempts };

  let mail: OutboundMail | undefined;
  let sent: Awaited<ReturnType<MailTransport['send']>>;
  try {
    const reason = await suppressionReasonFor(claimed);
    if (reason) {
      const now = deps.clock.now();
      await MessageModel.updateOne(guard, {
        $set: { status: 'suppressed', state: 'succeeded', suppressedReason: reason },
        $unset: { nextAttemptAt: 1 },
        $push: { history: event(now, 'suppressed', reason) },
      });
      deps.logger.info({ messageId: claimed._id, reason }, 'message suppressed before sending');
      return 'suppressed';
    }
    mail = await compose(deps, claimed);
    sent = await deps.transport.send(mail);
  } catch (error) {
    const failure = classifySendError(error);
    if (failure.kind === 'permanent') {
      // The bounce first: if this worker stops before the message is settled, the next try finds the address suppressed.
      await recordBounce(deps.clock, {
        merchantId: claimed.merchantId,
        address: claimed.to,
        recipientRefused: failure.recipientRefused,
        response: failure.detail,
        responseCode: failure.responseCode,
        messageId: claimed._id,
      });
      await settleFailed(deps.clock, claimed, failure, failure.detail);
      deps.logger.warn({ messageId: claimed._id, responseCode: failure.responseCode, detail: failure.detail }, 'message bounced; its address is suppressed');
      return 'failed';
    }
    if (claimed.attempts >= MAX_DELIVERY_ATTEMPTS) {
      await settleFailed(deps.clock, claimed, failure, `gave up after ${claimed.attempts} attempts: ${failure.detail}`);
      deps.logger.error({ messageId: claimed._id, attempts: claimed.attempts, detail: failure.detail }, 'message could not be delivered');
      return 'failed';
    }
    const now = deps.clock.now();
    const nextAttemptAt = earliestSendAt(new Date(now.getTime() + outbox.options.backoffMs(claimed.attempts)), claimed.timezone, claimed.category);
    await MessageModel.updateOne(guard, {
      $set: {
        state: 'failed',
        lastError: failure.detail,
        nextAttemptAt,
        ...(failure.responseCode !== undefined ? { lastResponseCode: failure.responseCode } : {}),
      },
      $push: { history: event(now, 'deferred', failure.detail, failure.responseCode) },
    });
    deps.logger.warn({ messageId: claimed._id, attempts: claimed.attempts, nextAttemptAt, detail: failure.detail }, 'message deferred');
    return 'deferred';
  }

  const now = deps.clock.now();
  await MessageModel.updateOne(guard, {
    $set: {
      status: 'sent',
      state: 'succeeded',
      sentAt: now,
      providerMessageId: sent.providerMessageId,
      providerResponse: sent.response,
      headers: { 'Message-ID': mail.messageId, ...mail.headers },
    },
    $unset: { nextAttemptAt: 1, lastError: 1, lastResponseCode: 1 },
    $push: { history: event(now, 'sent', sent.response, Number(/^\d{3}/.exec(sent.response)?.[0]) || undefined) },
  });
  deps.logger.debug({ messageId: claimed._id, providerMessageId: sent.providerMessageId }, 'message sent');
  return 'sent';
}

/**
 * Messages whose worker died on their last attempt: given back by the sweep with nothing left to try. Only a
 * queued message is failed with a next attempt (a settled failure drops it), so `{ state, nextAttemptAt }`
 * finds them without reading every message that ever failed.
 */
async function settleExhausted(clock: Clock): Promise<void> {
  const now = clock.now();
  await MessageModel.updateMany(
    { state: 'failed', nextAttemptAt: { $lte: now }, attempts: { $gte: MAX_DELIVERY_ATTEMPTS } },
    { $set: { status: 'failed', failedAt: now }, $unset: { nextAttemptAt: 1 }, $push: { history: event(now, 'failed', 'gave up: the last attempt was lost') } },
  );
}

export type DeliveryCounts = Record<DeliveryOutcome, number>;

/**
 * The delivery job's work: every message that is due (its `sendAfter` passed, or its backoff after a failed
 * attempt), oldest first, a batch at a time, until none is left (or `maxBatches`). Several workers may run
 * it at once: each message is claimed by one, and a sent message is never claimed again.
 */
export async function deliverDueMessages(deps: DeliveryDeps, options: { batchSize?: number; maxBatches?: number } = {}): Promise<DeliveryCounts> {
  const counts: DeliveryCounts = { sent: 0, deferred: 0, failed: 0, suppressed: 0 };
  await outbox.releaseStuck(deps.clock);
  await settleExhausted(deps.clock);
  for (let batch = 0; batch < (options.maxBatches ?? 20); batch += 1) {
    // Pending messages whose sendAfter passed and failed ones whose backoff passed (a retry's sendAfter is past too).
    const due = await outbox.dueIds(deps.clock, options.batchSize ?? 50);
    let worked = 0;
    for (const _id of due) {
      const outcome = await deliverMessage(deps, _id);
      if (outcome === 'not_claimed') continue;
      counts[outcome] += 1;
      worked += 1;
    }
    if (worked === 0) break;
  }
  return counts;
}
