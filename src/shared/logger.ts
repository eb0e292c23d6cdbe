import pino, { type Logger } from 'pino';
import { currentLogFields } from './log-context';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Human-friendly lines for a terminal; JSON lines otherwise (the default in production). */
  pretty: boolean;
}

/** `destination` receives the lines instead of stdout (tests read what was logged). */
export function createLogger(options: LoggerOptions, destination?: pino.DestinationStream): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level,
    base: { service: 'boxcycle' },
    // The request id, job, job id, event id and store of the work in progress (src/shared/log-context.ts).
    mixin: () => ({ ...currentLogFields() }),
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["stripe-signature"]', '*.password', '*.apiKey'],
      censor: '[redacted]',
    },
    ...(options.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service,pid,hostname' } } }
      : {}),
  };
  return destination ? pino(settings, destination) : pino(settings);
}
