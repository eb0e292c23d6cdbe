import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * What a log line is about, carried by the work it belongs to: the HTTP request (`reqId`), the job run
 * (`job`, `jobId`), the Stripe event (`eventId`) and the store (`merchantId`). The logger adds the fields of
 * the work in progress to every line (pino's `mixin`), so a service logs with the one logger it was given and
 * its lines still say which request or job they came from.
 */
export interface LogFields {
  reqId?: string;
  job?: string;
  jobId?: string;
  eventId?: string;
  merchantId?: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `work` with these fields on every line it logs (and everything it awaits). */
export function withLogContext<T>(fields: LogFields, work: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, work);
}

/**
 * Runs `work` in a context kept by the caller (an HTTP request keeps its own, so that what becomes known
 * later — the store — reaches every later line). Re-entered after steps that lose the async context, such
 * as a body parser's stream callbacks.
 */
export function runInLogContext<T>(fields: LogFields, work: () => T): T {
  return storage.run(fields, work);
}

/** Adds what became known during the work (the store, once a request is authenticated or an event resolved). */
export function addToLogContext(fields: LogFields): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

/** The fields of the work in progress (none outside a request or a job). */
export function currentLogFields(): LogFields {
  return storage.getStore() ?? {};
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of a request: the caller's `x-request-id` when it is a safe token, else a fresh one. */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}
