import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import type Stripe from 'stripe';
import { loadConfig, type Config } from '../../src/config/config';
import { connectDatabase, disconnectDatabase, syncIndexes } from '../../src/shared/db';
import { createLogger, type Logger } from '../../src/shared/logger';
import { createStripeClient, STRIPE_MOCK_KEY } from '../../src/stripe/stripe-client';
import { describeUnserved, QueryShapeRecorder, writeFileRecord } from './query-shape-recorder';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (its global setup starts the services)`);
  return value;
}

/** The URI of the run's database server, without a database name. */
export function testMongoUri(): string {
  return required('TEST_MONGODB_URI');
}

/** A fresh database name for one test file. */
export function uniqueDbName(prefix = 'test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export function testStripeTarget(): { secretKey: string; host: string; port: number; protocol: 'http' } {
  return { secretKey: STRIPE_MOCK_KEY, host: required('TEST_STRIPE_HOST'), port: Number(required('TEST_STRIPE_PORT')), protocol: 'http' };
}

export function testStripe(): Stripe {
  return createStripeClient(testStripeTarget());
}

export function testConfig(overrides: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', LOG_FORMAT: 'json', SEED_DEMO: 'false', ...overrides });
}

export const silentLogger: Logger = createLogger({ level: 'silent', pretty: false });

/**
 * Connects the shared Mongoose connection to a database of its own for this test file, with every model's
 * indexes in place; drops it afterwards. Call at the top of a describe block.
 */
export function useTestDatabase(): { connection: () => mongoose.Connection; dbName: string } {
  const dbName = uniqueDbName();
  const shapes = new QueryShapeRecorder(dbName);
  beforeAll(async () => {
    await connectDatabase(testMongoUri(), dbName, { monitorCommands: true });
    shapes.attach(mongoose.connection.getClient());
    await syncIndexes(mongoose.connection);
  });
  afterAll(async () => {
    // Every query and update the code sent must be served by a declared index (test/helpers/query-shape-recorder.ts).
    const { record, unserved } = shapes.finish(expect.getState().testPath ?? 'unknown', mongoose.connection);
    await mongoose.connection.db?.dropDatabase().catch(() => undefined);
    await disconnectDatabase();
    writeFileRecord(record);
    if (unserved.length > 0) {
      throw new Error(`Queries no declared index serves (add the index to the domain's model, or change the query):\n${describeUnserved(unserved)}`);
    }
  });
  return { connection: () => mongoose.connection, dbName };
}
