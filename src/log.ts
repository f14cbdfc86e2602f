// The pino logger. Events go to stderr (stdout carries the report), as JSON, or as readable
// lines when stderr is a terminal. Secret values never enter a log object; the redaction list
// is a second line of defence for the headers that carry credentials.
import { createRequire } from 'node:module';
import { pino, type Logger, type DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Prefect's own level names (PREFECT_LOGGING_LEVEL) mapped onto pino's. */
const PREFECT_LEVELS: Record<string, LogLevel> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  WARN: 'warn',
  ERROR: 'error',
  CRITICAL: 'fatal',
};

/** Accepts pino's names and Prefect's (any case); undefined when the name is unknown. */
export function parseLogLevel(name: string): LogLevel | undefined {
  const lower = name.toLowerCase() as LogLevel;
  if ((LOG_LEVELS as readonly string[]).includes(lower)) return lower;
  return PREFECT_LEVELS[name.toUpperCase()];
}

export const REDACT_PATHS = [
  'headers.authorization',
  'headers.Authorization',
  'headers["prefect-csrf-token"]',
  'req.headers.authorization',
  'value',
  '*.value',
];

/**
 * Readable lines for a terminal through pino-pretty, loaded only then: importing it costs every
 * other run some 20 ms. Without it (a bundle copied on its own) the logs stay JSON lines.
 */
function prettyDestination(): DestinationStream | undefined {
  let pretty: typeof PinoPretty;
  try {
    pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  } catch {
    return undefined;
  }
  return pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' });
}

export function createLogger(options: { level: LogLevel; pretty: boolean; destination?: DestinationStream }): Logger {
  const destination = options.destination ?? (options.pretty ? prettyDestination() : undefined) ?? pino.destination({ dest: 2, sync: true });
  return pino(
    {
      name: 'openem-config',
      level: options.level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
