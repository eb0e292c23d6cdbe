import { ConfigError, loadConfig } from './config/config';
import { backfillBirthdayMonthDays } from './customers/customer.service';
import { startLocalDatabase } from './local/local-database';
import { connectDatabase, disconnectDatabase, syncIndexes } from './shared/db';

/**
 * `npm run customers:backfill-birthdays`: gives customers saved before `birthdayMonthDay` existed the month-day
 * the birthday rewards look them up by (src/customers/customer.service.ts, `backfillBirthdayMonthDays`). Run it
 * once after upgrading, before the next birthday run (a birthday missed is still granted up to 7 days late).
 * Idempotent, and safe while the app and workers run. Uses MONGODB_URI, else the local database `npm start`
 * uses (stop the app first: its file is not shared).
 */
async function main(): Promise<void> {
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
    const result = await backfillBirthdayMonthDays();
    process.stdout.write(`birthdays backfilled: ${result.examined} customer(s) with a birthday, ${result.written} written\n`);
  } finally {
    await disconnectDatabase();
    await local?.stop();
  }
}

if (require.main === module)
  void main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
