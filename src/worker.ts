import type { Agenda } from 'agenda';
import { defineJobs, scheduleRecurringJobs } from '../jobs/registry';
import type { JobDeps } from '../jobs/job-definition';
import { enableInlineRelay } from './events/relay.service';
import { inboxConsumerRecorder } from './ops/metrics';
import { startInboxConsumer, type InboxConsumerOptions } from './webhooks/inbox-consumer.service';

export interface Worker {
  /** Stops taking new webhook events; the ones in hand finish first. (Agenda's jobs are drained by the caller.) */
  stop(): Promise<void>;
}

/**
 * Registers every job, starts processing, and schedules the recurring jobs (the heartbeat `/readyz` reads among
 * them); starts the webhook inbox consumer, which takes new Stripe events straight from the inbox.
 */
export async function startWorker(
  agenda: Agenda,
  deps: JobDeps,
  heartbeatSeconds: number,
  inbox: Omit<InboxConsumerOptions, 'claimant' | 'observe'>,
): Promise<Worker> {
  enableInlineRelay(deps.clock);
  defineJobs(agenda, deps);
  agenda.on('fail', (error, job) => {
    deps.logger.error({ err: error, job: job.attrs.name, jobId: String(job.attrs._id) }, 'job failed');
  });
  agenda.on('error', (error) => deps.logger.error({ err: error }, 'agenda error'));
  await agenda.start();
  await scheduleRecurringJobs(agenda, heartbeatSeconds);
  const consumer = startInboxConsumer(
    { clock: deps.clock, stripe: deps.stripe, logger: deps.logger },
    { ...inbox, claimant: deps.workerName, ...(deps.metrics ? { observe: inboxConsumerRecorder(deps.metrics) } : {}) },
  );
  return { stop: () => consumer.stop() };
}
