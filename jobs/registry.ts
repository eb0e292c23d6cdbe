import type { Agenda } from 'agenda';
import { recordHeartbeatJob } from './health.record-heartbeat.job';
import type { JobDefinition, JobDeps } from './job-definition';

/** Every job the worker runs. */
export const jobDefinitions: JobDefinition[] = [recordHeartbeatJob as JobDefinition];

export function defineJobs(agenda: Agenda, deps: JobDeps): void {
  for (const definition of jobDefinitions) {
    agenda.define(definition.name, definition.handler(deps), definition.options);
  }
}
