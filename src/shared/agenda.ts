import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda } from 'agenda';
import type mongoose from 'mongoose';
import type { Config } from '../config/config';

/**
 * Agenda on the shared Mongoose connection (its `mongodb` driver is pinned to the same version as
 * Mongoose's, so the two share one client). The web role uses it only to enqueue; the worker also starts it.
 */
export function createAgenda(connection: mongoose.Connection, worker: Config['worker'], name: string): Agenda {
  const db = connection.db;
  if (!db) throw new Error('createAgenda needs a connected database');
  return new Agenda({
    name,
    backend: new MongoBackend({ mongo: db, collection: 'agenda_jobs' }),
    processEvery: worker.processEveryMs,
    maxConcurrency: worker.maxConcurrency,
    defaultConcurrency: 5,
    // Never let one process lock every due job: other workers would sit idle.
    lockLimit: worker.lockLimit,
    defaultLockLimit: worker.lockLimit,
    // Agenda keeps a timer of half this per running job; shorter than its 10-minute default so shutdown is prompt.
    defaultLockLifetime: 60_000,
  });
}
