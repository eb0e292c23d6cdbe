import { performance } from 'node:perf_hooks';
import { withLogContext } from '../shared/log-context';
import type { SubscriptionSyncDeps } from '../subscriptions/subscription.service';
import type { WebhookEvent } from './webhook-event.model';
import { claimEvents, releaseEvents } from './webhook-inbox.service';
import { processClaimedEvent } from './process-event.service';

export interface InboxConsumerOptions {
  /** Events processed at once by this worker. */
  concurrency: number;
  /** Events claimed per round trip (claimed events wait here until a lane is free). */
  batchSize: number;
  /** How long to wait before looking again when the inbox had nothing to claim. */
  idleMs: number;
  /** This worker's name (host:pid): the claims it makes carry it. */
  claimant: string;
  /** What the worker counts (its metrics): each event's outcome and time, and the consumer's own failures. */
  observe?: InboxConsumerObserver;
}

export interface InboxConsumerObserver {
  /** An event processed: `failed` when its handler threw (it backs off) or its outcome could not be recorded. */
  processed(outcome: 'succeeded' | 'failed', seconds: number): void;
  /** The consumer itself failed: claiming a batch, or recording an event's outcome. */
  consumerError(stage: 'claim' | 'record'): void;
}

export interface InboxConsumer {
  /** Lets the events in hand finish, gives back the ones claimed and not started, and resolves once done. */
  stop(): Promise<void>;
}

/**
 * The worker's consumer of the webhook inbox: the inbox itself is the queue. `concurrency` lanes process events;
 * when a lane finds nothing in hand it claims the next batch (oldest first, new events and failed ones whose
 * backoff passed), so the claim costs three round trips a batch rather than a queued job's several per event,
 * and new events are picked up within `idleMs` however fast they come. Any number of workers run one each:
 * every event is claimed by exactly one of them (src/shared/work-queue.ts). What one claims and cannot finish
 * (it died) is released by the inbox sweep after the stuck delay and processed again, which handlers allow.
 *
 * Each event is processed in a log context naming it (`eventId`, and `merchantId` once known), and ends with one
 * line giving its outcome and duration, as a job run does.
 */
export function startInboxConsumer(deps: SubscriptionSyncDeps, options: InboxConsumerOptions): InboxConsumer {
  const inHand: WebhookEvent[] = [];
  let stopping = false;
  let refill: Promise<void> | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const idle = (): Promise<void> =>
    new Promise<void>((resolve) => {
      wake = resolve;
      idleTimer = setTimeout(resolve, options.idleMs);
    }).then(() => {
      clearTimeout(idleTimer);
      wake = undefined;
    });

  /** One claim at a time for all lanes; an empty (or failed) claim waits `idleMs` before the lanes look again. */
  const claimMore = async (): Promise<void> => {
    try {
      const claimed = await claimEvents(deps.clock, options.batchSize, options.claimant);
      if (stopping) {
        await releaseEvents(claimed);
        return;
      }
      inHand.push(...claimed);
      if (claimed.length > 0) deps.logger.debug({ claimed: claimed.length }, 'webhook events claimed');
      if (claimed.length === 0) await idle();
    } catch (error) {
      options.observe?.consumerError('claim');
      deps.logger.error({ err: error }, 'could not claim webhook events; trying again');
      if (!stopping) await idle();
    }
  };

  const next = async (): Promise<WebhookEvent | undefined> => {
    while (!stopping) {
      const event = inHand.shift();
      if (event) return event;
      refill ??= claimMore().finally(() => {
        refill = undefined;
      });
      await refill;
    }
    return undefined;
  };

  const processOne = (event: WebhookEvent): Promise<void> =>
    withLogContext({ eventId: event._id, ...(event.merchantId ? { merchantId: event.merchantId } : {}) }, async () => {
      const started = performance.now();
      let outcome: 'succeeded' | 'failed' | 'not recorded';
      try {
        outcome = await processClaimedEvent(deps, event);
      } catch (error) {
        // Recording the outcome failed (the database went away): the event stays claimed and the sweep gives it back.
        outcome = 'not recorded';
        options.observe?.consumerError('record');
        deps.logger.error({ err: error }, 'webhook event outcome not recorded; the inbox sweep will retry it');
      }
      const seconds = (performance.now() - started) / 1000;
      options.observe?.processed(outcome === 'succeeded' ? 'succeeded' : 'failed', seconds);
      deps.logger[outcome === 'succeeded' ? 'info' : 'warn'](
        { type: event.type, attempts: event.attempts, outcome, durationMs: Math.round(seconds * 1000) },
        'webhook event processed',
      );
    });

  const lanes = Array.from({ length: Math.max(1, options.concurrency) }, async () => {
    for (let event = await next(); event; event = await next()) await processOne(event);
  });

  let stopped: Promise<void> | undefined;
  return {
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        wake?.();
        await Promise.all(lanes);
        await refill;
        const left = inHand.splice(0);
        if (left.length > 0) await releaseEvents(left).catch((error: unknown) => deps.logger.warn({ err: error }, 'claimed webhook events not given back'));
      })();
      return stopped;
    },
  };
}
