import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalDatabase, type LocalDbEngine } from '../../src/local/local-database';
import { startLocalStripeMock } from '../../src/local/local-stripe-mock';

/**
 * Starts, once for the whole run, the database and stripe-mock every test file uses (each file gets its
 * own database name). MONGODB_URI and STRIPE_API_HOST/PORT, when set, are used instead.
 *   LOCAL_DB=mongod|mongo-java-server|ferretdb   pick the local server (default: mongod on PATH, else mongo-java-server)
 *   TEST_DB_DATA_DIR=/path                        use the server's persistent storage (H2 file, SQLite) instead of memory
 */
export default async function globalSetup(): Promise<void> {
  const log = (message: string): void => {
    process.stderr.write(`[test setup] ${message}\n`);
  };
  const stops: Array<() => Promise<void>> = [];
  (globalThis as { __boxcycleStops?: typeof stops }).__boxcycleStops = stops;

  const [database, stripe] = await Promise.all([
    process.env.MONGODB_URI
      ? undefined
      : startLocalDatabase({
          engine: (process.env.LOCAL_DB as LocalDbEngine | undefined) ?? 'auto',
          ...(process.env.TEST_DB_DATA_DIR ? { dataDir: process.env.TEST_DB_DATA_DIR } : {}),
          log,
        }),
    process.env.STRIPE_API_HOST ? undefined : startLocalStripeMock(log),
  ]);
  if (database) {
    stops.push(() => database.stop());
    process.env.TEST_MONGODB_URI = database.uri;
    process.env.TEST_DB_ENGINE = `${database.engine} (${database.storage})`;
  } else {
    process.env.TEST_MONGODB_URI = process.env.MONGODB_URI;
    process.env.TEST_DB_ENGINE = 'MONGODB_URI';
  }
  if (stripe) {
    stops.push(() => stripe.stop());
    process.env.TEST_STRIPE_HOST = stripe.host;
    process.env.TEST_STRIPE_PORT = String(stripe.port);
  } else {
    process.env.TEST_STRIPE_HOST = process.env.STRIPE_API_HOST;
    process.env.TEST_STRIPE_PORT = process.env.STRIPE_API_PORT;
  }
  // Each test file writes the query shapes it recorded here; the global teardown merges and checks them.
  process.env.BOXCYCLE_QUERY_SHAPES_DIR = mkdtempSync(path.join(os.tmpdir(), 'boxcycle-query-shapes-'));
  log(`database: ${process.env.TEST_DB_ENGINE}; stripe-mock: ${process.env.TEST_STRIPE_HOST}:${process.env.TEST_STRIPE_PORT}`);
}
