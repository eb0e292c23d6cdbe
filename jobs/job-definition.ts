import type { Job } from 'agenda';
import type { Logger } from '../src/shared/logger';
import type { Clock } from '../src/shared/time';

/** What every job handler may use. Handlers only forward to services. */
export interface JobDeps {
  clock: Clock;
  logger: Logger;
  /** This worker process's name (host:pid), for records that say who did the work. */
  workerName: string;
}

export interface JobDefinition<Data = unknown> {
  name: string;
  options: { concurrency: number; lockLifetime: number; lockLimit?: number };
  handler: (deps: JobDeps) => (job: Job<Data>) => Promise<void>;
}
