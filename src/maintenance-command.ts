import { ConfigError, loadConfig } from './config/config';
import { startLocalDatabase } from './local/local-database';
import { connectDatabase, disconnectDatabase, syncIndexes } from './shared/db';

/**
 * Runs a one-off maintenance command (`npm run analytics:rebuild`, `npm run customers:backfill-birthdays`)
 * against MONGODB_URI, else the local database `npm start` uses (stop the app first: its file is not shared):
 * the configuration loaded (exit 78 when it is refused), the database connected with its indexes, `work`
 * run, its summary line printed, everything closed; a failure prints its stack and exits 1.
 */
export function runMaintenanceCommand(work: () => Promise<string>): void {
  void run(work).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}

async function run(work: () => Promise<string>): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const log = (message: string): void => void process.stderr.write(`${message}\n`);
  const local = config.database.uri ? undefined : await startLocalDatabase({ engine: config.database.localEngine, dataDir: config.database.dataDir, log });
  try {
    const connection = await connectDatabase(local?.uri ?? config.database.uri!, config.database.dbName);
    await syncIndexes(connection);
    process.stdout.write(`${await work()}\n`);
  } finally {
    await disconnectDatabase();
    await local?.stop();
  }
}
