import type { Job } from 'agenda';
import type { MailDelivery } from '../src/messages/message-delivery.service';
import type { LinkSettings } from '../src/events/dispatcher.service';
import type { BoxExtras } from '../src/orders/order.service';
import type { Metrics } from '../src/ops/metrics';
import type { Logger } from '../src/shared/logger';
import type { Clock } from '../src/shared/time';
import type { StripeGateway } from '../src/stripe/stripe-gateway';

/** What every job handler may use. Handlers only forward to services. */
export interface JobDeps {
  clock: Clock;
  logger: Logger;
  stripe: StripeGateway;
  /** This worker process's name (host:pid), for records that say who did the work. */
  workerName: string;
  /** What the retention layer adds to each box built at its cut-off (handed in by the composition root, src/wiring.ts). */
  boxExtras?: BoxExtras;
  /** Where mail goes (SMTP_URL, or the local catcher) and how it is signed and addressed: the delivery job sends with it. */
  mail?: MailDelivery;
  /** Where links in messages lead and what signs action links (the message listeners and timed messages need it). */
  links?: LinkSettings;
  /** The process's metrics: every run is counted and timed by the registry; a job may add its own counts. */
  metrics?: Metrics;
}

export interface JobDefinition<Data = unknown> {
  name: string;
  /** For recurring jobs: how often (Agenda interval, e.g. '1 minute'); the worker schedules it at start. */
  interval?: string;
  options: { concurrency: number; lockLifetime: number; lockLimit?: number };
  handler: (deps: JobDeps) => (job: Job<Data>) => Promise<void>;
}
