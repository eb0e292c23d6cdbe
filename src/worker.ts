import type { Agenda } from 'agenda';
import { defineJobs, scheduleRecurringJobs } from '../jobs/registry';
import type { JobDeps } from '../jobs/job-definition';
import { enableInlineRelay } from './events/relay.service';

/** Registers every job, starts processing, and schedules the recurring jobs (the heartbeat `/readyz` reads among them). */
export async function startWorker(agenda: Agenda, deps: JobDeps, heartbeatSeconds: number): Promise<void> {
  enableInlineRelay(deps.clock);
  defineJobs(agenda, deps);
  agenda.on('fail', (error, job) => {
    deps.logger.error({ err: error, job: job.attrs.name, jobId: String(job.attrs._id) }, 'job failed');
  });
  agenda.on('error', (error) => deps.logger.error({ err: error }, 'agenda error'));
  await agenda.start();
  await scheduleRecurringJobs(agenda, heartbeatSeconds);
}
