import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type Stripe from 'stripe';
import { countFactsInState, oldestFactAt, UNDISPATCHED_FACT_STATES } from '../events/fact-backlog.queries';
import { countMessagesInState, oldestDueMessageAt, OUTBOX_STATES } from '../messages/message-outbox.queries';
import { oldestDueRenewalAt } from '../subscriptions/subscription.queries';
import { countOrdersInStatus, estimatedOrderCount, OPEN_ORDER_STATUSES } from '../orders/order.queries';
import type { Logger } from '../shared/logger';
import type { Clock } from '../shared/time';
import { countInboxEventsInState, INBOX_BACKLOG_STATES, oldestPendingEventReceivedAt } from '../webhooks/webhook-inbox.queries';

/**
 * The process's Prometheus metrics (prom-client), in a registry of its own. Counters and histograms are
 * kept as things happen in this process (requests, job runs, Stripe calls, throttle waits); the state of the
 * system (inbox, facts, orders, outbox) is read from the database when Prometheus scrapes, by cheap indexed
 * counts across stores (`registerStateGauges`).
 */
export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  webhookAcknowledgements: Counter<'outcome'>;
  webhookEventsQueued: Counter;
  webhookConsumerErrors: Counter<'stage'>;
  jobRuns: Counter<'job' | 'outcome'>;
  jobDuration: Histogram<'job' | 'outcome'>;
  messageDeliveries: Counter<'outcome'>;
  stripeRequests: Counter<'method' | 'path'>;
  stripeResponses: Counter<'method' | 'path' | 'status'>;
  stripeRequestDuration: Histogram<'method' | 'path'>;
  stripeThrottleWaits: Counter<'kind'>;
  stripeThrottleWaitSeconds: Counter<'kind'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Process CPU, memory, event-loop lag, GC: prom-client's standard set.
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'boxcycle_http_request_duration_seconds',
      help: 'HTTP requests by route pattern (never the raw URL), method and status: count and latency.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    webhookAcknowledgements: new Counter({
      name: 'boxcycle_webhook_acknowledgements_total',
      help: 'Answers to Stripe webhook deliveries: acknowledged (200: stored, or a duplicate), refused (4xx), unavailable (5xx).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    webhookEventsQueued: new Counter({
      name: 'boxcycle_webhook_events_queued_total',
      help: 'New Stripe events stored in the inbox and queued for processing (acknowledged minus queued = duplicates).',
      registers,
    }),
    webhookConsumerErrors: new Counter({
      name: 'boxcycle_webhook_consumer_errors_total',
      help: "The workers' inbox consumers' own failures, by stage: claim (a batch could not be claimed), record (an event's outcome could not be written; the sweep gives it back).",
      labelNames: ['stage'] as const,
      registers,
    }),
    jobRuns: new Counter({
      name: 'boxcycle_job_runs_total',
      help: 'Job runs by job and outcome (succeeded, failed).',
      labelNames: ['job', 'outcome'] as const,
      registers,
    }),
    jobDuration: new Histogram({
      name: 'boxcycle_job_duration_seconds',
      help: 'How long each job run took, by job and outcome.',
      labelNames: ['job', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600],
      registers,
    }),
    messageDeliveries: new Counter({
      name: 'boxcycle_message_deliveries_total',
      help: 'Message delivery attempts by outcome: sent, deferred (will be retried), failed (for good), suppressed.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    stripeRequests: new Counter({
      name: 'boxcycle_stripe_requests_total',
      help: 'Requests sent to Stripe (retries included), by method and path pattern.',
      labelNames: ['method', 'path'] as const,
      registers,
    }),
    stripeResponses: new Counter({
      name: 'boxcycle_stripe_responses_total',
      help: "Stripe's answers by method, path pattern and HTTP status (429: Stripe's rate limit).",
      labelNames: ['method', 'path', 'status'] as const,
      registers,
    }),
    stripeRequestDuration: new Histogram({
      name: 'boxcycle_stripe_request_duration_seconds',
      help: 'How long Stripe took to answer, by method and path pattern.',
      labelNames: ['method', 'path'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    stripeThrottleWaits: new Counter({
      name: 'boxcycle_stripe_throttle_waits_total',
      help: 'Stripe calls (kind: read or write) that waited for the next second because every process together had used that budget.',
      labelNames: ['kind'] as const,
      registers,
    }),
    stripeThrottleWaitSeconds: new Counter({
      name: 'boxcycle_stripe_throttle_wait_seconds_total',
      help: 'Time Stripe calls (kind: read or write) spent waiting on the shared throttle.',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}

/** A Stripe path with its ids replaced (`/v1/subscriptions/{id}`), so paths stay a short list of labels. */
export function stripePathPattern(path: string): string {
  const [bare = ''] = path.split('?');
  return bare
    .split('/')
    .map((segment) => (/^[a-z]{1,12}_[A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*$/.test(segment) || /^\d+$/.test(segment) ? '{id}' : segment))
    .join('/');
}

/** Counts and times every request the SDK sends, from its own 'request' and 'response' events. */
/** The part of the Stripe client that reports its requests (`stripe.on`; typed loosely by the SDK). */
export interface StripeRequestEvents {
  on(event: 'request', handler: (event: Stripe.RequestEvent) => void): unknown;
  on(event: 'response', handler: (event: Stripe.ResponseEvent) => void): unknown;
}

export function instrumentStripe(stripe: StripeRequestEvents, metrics: Metrics): void {
  stripe.on('request', (event: Stripe.RequestEvent) => {
    metrics.stripeRequests.inc({ method: event.method, path: stripePathPattern(event.path) });
  });
  stripe.on('response', (event: Stripe.ResponseEvent) => {
    const labels = { method: event.method, path: stripePathPattern(event.path) };
    metrics.stripeResponses.inc({ ...labels, status: String(event.status) });
    metrics.stripeRequestDuration.observe(labels, event.elapsed / 1000);
  });
}

/** What the Stripe throttles call when a call must wait (`stripeThrottles(mode, onWait)`). */
export function throttleWaitRecorder(metrics: Metrics): (kind: 'read' | 'write', waitMs: number) => void {
  return (kind, waitMs) => {
    metrics.stripeThrottleWaits.inc({ kind });
    metrics.stripeThrottleWaitSeconds.inc({ kind }, waitMs / 1000);
  };
}

/** The job an event processed by a worker's inbox consumer counts under: the same as when a job processes it. */
export const PROCESS_EVENT_JOB = 'webhooks.process-event';

/**
 * What a worker's inbox consumer reports (its `observe` option): each event as a run of `webhooks.process-event`
 * (counted and timed by outcome, as a job run is), and the consumer's own failures by stage.
 */
export function inboxConsumerRecorder(metrics: Metrics): {
  processed: (outcome: 'succeeded' | 'failed', seconds: number) => void;
  consumerError: (stage: 'claim' | 'record') => void;
} {
  return {
    processed: (outcome, seconds) => {
      metrics.jobRuns.inc({ job: PROCESS_EVENT_JOB, outcome });
      metrics.jobDuration.observe({ job: PROCESS_EVENT_JOB, outcome }, seconds);
    },
    consumerError: (stage) => metrics.webhookConsumerErrors.inc({ stage }),
  };
}

/**
 * Gauges read from the database at scrape time, with indexed counts and single-document reads across
 * stores. Registered by the processes that serve the web role (with several, take `max` across instances).
 * A reading that fails leaves its gauge's series out of that scrape (NaN for a gauge without labels) and
 * counts in `boxcycle_metrics_collect_errors_total`.
 */
export function registerStateGauges(metrics: Metrics, deps: { clock: Clock; logger: Logger }): void {
  const registers = [metrics.registry];
  const ageSeconds = (since: Date | undefined): number => (since ? Math.max(0, (deps.clock.now().getTime() - since.getTime()) / 1000) : 0);
  // The readings of the scrape under way: the error counter (serialised last) waits for them, so a failure shows in its own scrape.
  const inFlight = new Set<Promise<void>>();
  const collectErrors = new Counter<'reading'>({
    name: 'boxcycle_metrics_collect_errors_total',
    help: 'Database readings that failed during a scrape (their gauges are left out of that scrape).',
    labelNames: ['reading'] as const,
    registers: [],
    collect: async () => {
      await Promise.allSettled([...inFlight]);
    },
  });
  const reading =
    <T>(name: string, gauge: Gauge<string>, read: () => Promise<T>, apply: (value: T) => void, labelled = true) =>
    (): Promise<void> => {
      const done = readInto(name, gauge, read, apply, labelled).finally(() => inFlight.delete(done));
      inFlight.add(done);
      return done;
    };
  const readInto = async <T>(name: string, gauge: Gauge<string>, read: () => Promise<T>, apply: (value: T) => void, labelled: boolean) => {
    try {
      const value = await read();
      gauge.reset();
      apply(value);
    } catch (error) {
      // A labelled gauge loses its series for this scrape; one without labels reads NaN (never a reassuring 0).
      gauge.reset();
      if (!labelled) gauge.set(Number.NaN);
      collectErrors.inc({ reading: name });
      deps.logger.warn({ err: error, reading: name }, 'a metrics reading failed');
    }
  };
  const byState = async <S extends string>(states: readonly S[], count: (state: S) => Promise<number>) =>
    Promise.all(states.map(async (state) => [state, await count(state)] as const));

  const inbox: Gauge<'state'> = new Gauge({
    name: 'boxcycle_webhook_inbox_events',
    help: 'Stripe events in the inbox by state: pending (not yet claimed), processing, failed (waiting for a retry, or for a person after the last).',
    labelNames: ['state'] as const,
    registers,
    collect: () =>
      reading(
        'webhook_inbox',
        inbox,
        () => byState(INBOX_BACKLOG_STATES, countInboxEventsInState),
        (rows) => {
          for (const [state, count] of rows) inbox.set({ state }, count);
        },
      )(),
  });
  const inboxAge: Gauge = new Gauge({
    name: 'boxcycle_webhook_inbox_oldest_pending_age_seconds',
    help: 'Age of the oldest Stripe event still pending in the inbox (0 when none waits).',
    registers,
    collect: () => reading('webhook_inbox_age', inboxAge, oldestPendingEventReceivedAt, (at) => inboxAge.set(ageSeconds(at)), false)(),
  });
  const facts: Gauge<'state'> = new Gauge({
    name: 'boxcycle_facts_undispatched',
    help: 'Facts whose listeners have not all run, by state: pending, processing, failed (waiting for a retry, or for a person).',
    labelNames: ['state'] as const,
    registers,
    collect: () =>
      reading(
        'facts',
        facts,
        () => byState(UNDISPATCHED_FACT_STATES, countFactsInState),
        (rows) => {
          for (const [state, count] of rows) facts.set({ state }, count);
        },
      )(),
  });
  const factAge: Gauge<'state'> = new Gauge({
    name: 'boxcycle_facts_oldest_undispatched_age_seconds',
    help: 'Listener lag: age of the oldest fact in each state whose listeners have not all run (0 when none).',
    labelNames: ['state'] as const,
    registers,
    collect: () =>
      reading(
        'facts_age',
        factAge,
        () => byState(UNDISPATCHED_FACT_STATES, async (state) => ageSeconds(await oldestFactAt(state))),
        (rows) => {
          for (const [state, age] of rows) factAge.set({ state }, age);
        },
      )(),
  });
  const orders: Gauge<'status'> = new Gauge({
    name: 'boxcycle_orders',
    help: 'Open box orders of every store by status: reserved (built at the cut-off), held (payment failing), paid, packed.',
    labelNames: ['status'] as const,
    registers,
    collect: () =>
      reading(
        'orders',
        orders,
        () => byState(OPEN_ORDER_STATUSES, countOrdersInStatus),
        (rows) => {
          for (const [status, count] of rows) orders.set({ status }, count);
        },
      )(),
  });
  const ordersStored: Gauge = new Gauge({
    name: 'boxcycle_orders_stored',
    help: "Every box order stored, in any status (from the collection's metadata: an estimate).",
    registers,
    collect: () => reading('orders_stored', ordersStored, estimatedOrderCount, (count) => ordersStored.set(count), false)(),
  });
  const outbox: Gauge<'state'> = new Gauge({
    name: 'boxcycle_message_outbox',
    help: 'Messages in the outbox by delivery state: pending, processing, failed (waiting for a retry, or given up).',
    labelNames: ['state'] as const,
    registers,
    collect: () =>
      reading(
        'message_outbox',
        outbox,
        () => byState(OUTBOX_STATES, countMessagesInState),
        (rows) => {
          for (const [state, count] of rows) outbox.set({ state }, count);
        },
      )(),
  });
  const outboxAge: Gauge = new Gauge({
    name: 'boxcycle_message_outbox_oldest_due_age_seconds',
    help: 'How long the longest-waiting due message has waited for its first attempt (0 when none).',
    registers,
    collect: () =>
      reading(
        'message_outbox_age',
        outboxAge,
        () => oldestDueMessageAt(deps.clock.now()),
        (at) => outboxAge.set(ageSeconds(at)),
        false,
      )(),
  });
  const renewalAge: Gauge = new Gauge({
    name: 'boxcycle_renewals_oldest_due_age_seconds',
    help: 'Cut-off lag: how long the earliest cut-off that has come has waited for its box to be built (0 when none waits).',
    registers,
    collect: () =>
      reading(
        'renewals_age',
        renewalAge,
        () => oldestDueRenewalAt(deps.clock.now()),
        (at) => renewalAge.set(ageSeconds(at)),
        false,
      )(),
  });
  // Last, so that it is serialised after every reading it waits for.
  metrics.registry.registerMetric(collectErrors);
}
