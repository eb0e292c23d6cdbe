import type { Agenda, Job } from 'agenda';
import { withLogContext, type LogFields } from '../src/shared/log-context';
import { syncCatalogToStripeJob } from './catalog.sync-to-stripe.job';
import { dispatchFactsJob } from './events.dispatch-facts.job';
import { attachSurpriseGiftsJob } from './gifts.attach-surprise-gifts.job';
import { recordHeartbeatJob } from './health.record-heartbeat.job';
import type { JobDefinition, JobDeps } from './job-definition';
import { maintainLoyaltyAccountsJob } from './loyalty.maintain-accounts.job';
import { deliverMessagesJob } from './messages.deliver.job';
import { notifyDelayedBoxesJob } from './messages.notify-delayed-boxes.job';
import { remindUpcomingBoxesJob } from './messages.remind-upcoming-boxes.job';
import { remindYearlyTermsJob } from './messages.remind-yearly-terms.job';
import { requestBoxRatingsJob } from './messages.request-box-ratings.job';
import { sendWinBacksJob } from './messages.send-win-backs.job';
import { warnExpiringCardsJob } from './messages.warn-expiring-cards.job';
import { grantYearlyRewardsJob } from './offers.grant-yearly-rewards.job';
import { sweepRequestRecordsJob } from './ops.sweep-request-records.job';
import { refreshForecastsJob } from './orders.refresh-forecasts.job';
import { prepareBoxesJob } from './renewals.prepare-boxes.job';
import { reconcileSubscriptionsJob } from './subscriptions.reconcile-with-stripe.job';
import { syncSubscriptionsToStripeJob } from './subscriptions.sync-to-stripe.job';
import { reconcileEventsJob } from './webhooks.reconcile-events.job';
import { processWebhookEventJob } from './webhooks.process-event.job';
import { sweepWebhookInboxJob } from './webhooks.sweep-inbox.job';

/** Every job the worker runs. */
export const jobDefinitions: JobDefinition[] = [
  recordHeartbeatJob,
  processWebhookEventJob,
  dispatchFactsJob,
  sweepWebhookInboxJob,
  syncCatalogToStripeJob,
  syncSubscriptionsToStripeJob,
  prepareBoxesJob,
  attachSurpriseGiftsJob,
  reconcileEventsJob,
  reconcileSubscriptionsJob,
  sweepRequestRecordsJob,
  maintainLoyaltyAccountsJob,
  grantYearlyRewardsJob,
  deliverMessagesJob,
  remindUpcomingBoxesJob,
  notifyDelayedBoxesJob,
  requestBoxRatingsJob,
  warnExpiringCardsJob,
  sendWinBacksJob,
  remindYearlyTermsJob,
  refreshForecastsJob,
];

/** What a run's log lines and metrics say about it: the job, its id, and the event or store its data names. */
function runFields(name: string, job: Job<unknown>): LogFields {
  const data = (typeof job.attrs.data === 'object' && job.attrs.data !== null ? job.attrs.data : {}) as Record<string, unknown>;
  return {
    job: name,
    ...(job.attrs._id !== undefined ? { jobId: String(job.attrs._id) } : {}),
    ...(typeof data.eventId === 'string' ? { eventId: data.eventId } : {}),
    ...(typeof data.merchantId === 'string' ? { merchantId: data.merchantId } : {}),
  };
}

/**
 * A job's handler as the worker runs it: inside a log context (every line it logs names the job, the run and
 * the event or store it is about), counted and timed by outcome, and closed by one line with its duration.
 * The handler's error goes on to Agenda unchanged (it records the failure and any retry).
 */
export function instrumentedHandler(
  definition: JobDefinition,
  deps: JobDeps,
  now: () => bigint = () => process.hrtime.bigint(),
): (job: Job<unknown>) => Promise<void> {
  const handler = definition.handler(deps);
  return (job) =>
    withLogContext(runFields(definition.name, job), async () => {
      const started = now();
      let outcome: 'succeeded' | 'failed' = 'failed';
      try {
        await handler(job);
        outcome = 'succeeded';
      } finally {
        const seconds = Number(now() - started) / 1e9;
        deps.metrics?.jobRuns.inc({ job: definition.name, outcome });
        deps.metrics?.jobDuration.observe({ job: definition.name, outcome }, seconds);
        deps.logger[outcome === 'succeeded' ? 'info' : 'warn']({ outcome, durationMs: Math.round(seconds * 1000) }, 'job run');
      }
    });
}

export function defineJobs(agenda: Agenda, deps: JobDeps): void {
  for (const definition of jobDefinitions) {
    agenda.define(definition.name, instrumentedHandler(definition, deps), definition.options);
  }
}

/** Schedules the recurring jobs (one shared schedule per job, however many workers call this). */
export async function scheduleRecurringJobs(agenda: Agenda, heartbeatSeconds: number): Promise<void> {
  await agenda.every(`${heartbeatSeconds} seconds`, recordHeartbeatJob.name);
  for (const definition of jobDefinitions) {
    if (definition.interval) await agenda.every(definition.interval, definition.name);
  }
}
