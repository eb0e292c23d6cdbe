import type { Agenda } from 'agenda';
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
];

export function defineJobs(agenda: Agenda, deps: JobDeps): void {
  for (const definition of jobDefinitions) {
    agenda.define(definition.name, definition.handler(deps), definition.options);
  }
}

/** Schedules the recurring jobs (one shared schedule per job, however many workers call this). */
export async function scheduleRecurringJobs(agenda: Agenda, heartbeatSeconds: number): Promise<void> {
  await agenda.every(`${heartbeatSeconds} seconds`, recordHeartbeatJob.name);
  for (const definition of jobDefinitions) {
    if (definition.interval) await agenda.every(definition.interval, definition.name);
  }
}
