import { rebuildAnalytics } from './analytics/analytics-projection.service';
import { ConfigError, loadConfig } from './config/config';
import { startLocalDatabase } from './local/local-database';
import { connectDatabase, disconnectDatabase, syncIndexes } from './shared/db';

/**
 * `npm run analytics:rebuild -- [--merchant <id>]`: drops the analytics projections of one store (or every
 * store) and replays its facts in order. Uses MONGODB_URI, else the local database `npm start` uses (stop the
 * app first: its file is not shared). Stop the workers while it runs (see rebuildAnalytics).
 */
export function parseRebuildArgs(argv: readonly string[]): { merchantId?: string } | { error: string } {
  if (argv.length === 0) return {};
  if (argv.length === 2 && argv[0] === '--merchant' && /^mer_[0-9a-z]{20}$/.test(argv[1]!)) return { merchantId: argv[1]! };
  return { error: 'usage: npm run analytics:rebuild -- [--merchant mer_…]' };
}

async function main(): Promise<void> {
  const args = parseRebuildArgs(process.argv.slice(2));
  if ('error' in args) {
    process.stderr.write(`${args.error}\n`);
    process.exit(2);
  }
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
    const result = await rebuildAnalytics(args);
    process.stdout.write(`analytics rebuilt: ${result.merchants} store(s), ${result.facts} fact(s) replayed\n`);
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
