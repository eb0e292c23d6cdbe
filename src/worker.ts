import type { Agenda } from 'agenda';
import { defineJobs } from '../jobs/registry';
import type { JobDeps } from '../jobs/job-definition';
import { recordHeartbeatJob } from '../jobs/health.record-heartbeat.job';

/** Registers every job and starts processing; schedules the recurring heartbeat `/readyz` reads. */
export async function startWorker(agenda: Agenda, deps: JobDeps, heartbeatSeconds: number): Promise<void> {
  defineJobs(agenda, deps);
  agenda.on('fail', (error, job) => {
    deps.logger.error({ err: error, job: job.attrs.name, jobId: String(job.attrs._id) }, 'job failed');
  });
  agenda.on('error', (error) => deps.logger.error({ err: error }, 'agenda error'));
  await agenda.start();
  await agenda.every(`${heartbeatSeconds} seconds`, recordHeartbeatJob.name);
}
