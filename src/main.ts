import { ConfigError, loadConfig, type Config } from './config/config';
import { createLogger, type Logger } from './shared/logger';
import { systemClock } from './shared/time';
import { startRuntime, startupBanner, type Role, type Runtime } from './runtime';

const ROLES: Role[] = ['all', 'web', 'worker'];

async function main(): Promise<void> {
  const role = (process.argv[2] ?? 'all') as Role;
  if (!ROLES.includes(role)) {
    process.stderr.write(`Unknown role "${process.argv[2]}": use one of ${ROLES.join(', ')}.\n`);
    process.exit(2);
  }

  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee the README's table of environment variables.\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }

  const logger: Logger = createLogger({ level: config.log.level, pretty: config.log.format === 'pretty' });
  let runtime: Runtime | undefined;
  let exiting = false;

  const shutdown = async (reason: string, exitCode: number): Promise<void> => {
    if (exiting) return;
    exiting = true;
    logger.info({ reason }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    await runtime?.stop();
    logger.info('stopped');
    logger.flush();
    // Agenda and the driver may leave timers behind; everything that matters is closed, so leave now.
    process.exit(exitCode);
  };

  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    void shutdown('unhandledRejection', 1);
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    void shutdown('uncaughtException', 1);
  });

  try {
    runtime = await startRuntime({ role, config, logger, clock: systemClock });
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    logger.flush();
    process.exit(1);
  }
  if (exiting) {
    await runtime.stop();
    return;
  }
  process.stdout.write(startupBanner(runtime, config));
}

void main();
