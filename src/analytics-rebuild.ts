import { rebuildAnalytics } from './analytics/analytics-projection.service';
import { runMaintenanceCommand } from './maintenance-command';

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

if (require.main === module) {
  const args = parseRebuildArgs(process.argv.slice(2));
  if ('error' in args) {
    process.stderr.write(`${args.error}\n`);
    process.exit(2);
  }
  runMaintenanceCommand(async () => {
    const result = await rebuildAnalytics(args);
    return `analytics rebuilt: ${result.merchants} store(s), ${result.facts} fact(s) replayed`;
  });
}
