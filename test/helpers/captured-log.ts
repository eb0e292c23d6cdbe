import { createLogger, type Logger } from '../../src/shared/logger';

/** A logger whose JSON lines are kept for the test to read (the production logger, with a destination of its own). */
export function capturedLogger(level = 'debug'): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const written: string[] = [];
  const logger = createLogger({ level, pretty: false }, { write: (line: string) => written.push(line) });
  return {
    logger,
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
