// What every subcommand shares: option parsers, the server connection options, the logger, and
// the mapping of an error to its exit code and message.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ApiError, ConnectionError, InterruptedError, StalePlanError, UsageError, UnsupportedServerError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { createLogger, parseLogLevel, type Logger } from './log.js';

/** What a command reads and writes: arguments, environment, output; tests give their own. */
export interface MainIO {
  argv: string[];
  env: Record<string, string | undefined>;
  /** Where a project file is looked for; process.cwd() when absent. */
  cwd?: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Overrides the logger (tests capture it). */
  logger?: Logger;
  /** Replaces the network for tests that observe or fake requests. */
  fetch?: (request: Request) => Promise<Response>;
  stderrIsTTY?: boolean;
  /**
   * Subscribes to SIGTERM and SIGINT for the length of a run; returns the unsubscribe. Without
   * it (tests in-process) signals are not handled.
   */
  onSignal?: (handler: (signal: 'SIGTERM' | 'SIGINT') => void) => () => void;
}

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function nonNegative(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError(`${name} must be a number >= 0`);
    return parsed;
  };
}

/** The options of the commands that talk to a server, as parsed by commander. */
export interface ConnectionCliOptions {
  apiUrl?: string;
  waitTimeout: number;
  requestTimeout: number;
  retries: number;
  retryMinDelay?: number;
}

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--api-url <url>', 'the Prefect API URL (default: $PREFECT_API_URL)')
    .option('--wait-timeout <seconds>', 'how long to wait for the server to be ready', nonNegative('--wait-timeout'), 120)
    .option('--request-timeout <seconds>', 'timeout of one request', nonNegative('--request-timeout'), 90)
    .option('--retries <n>', 'retries of a request that failed for a transient reason', nonNegative('--retries'), 6)
    .addOption(new Option('--retry-min-delay <ms>').hideHelp().argParser(nonNegative('--retry-min-delay')));
}

/** The connection options in the units the HTTP seam takes. */
export function connectionSettings(options: ConnectionCliOptions) {
  return {
    apiUrl: options.apiUrl,
    waitTimeoutMs: options.waitTimeout * 1000,
    requestTimeoutMs: options.requestTimeout * 1000,
    retries: options.retries,
    retryMinDelayMs: options.retryMinDelay,
  };
}

/** --log-level, else PREFECT_LOGGING_LEVEL, else warn; a message when the name is unknown. */
export function loggerFor(
  levelName: string | undefined,
  io: { env: Record<string, string | undefined>; logger?: Logger; stderrIsTTY?: boolean },
): Logger | string {
  const name = levelName ?? io.env.PREFECT_LOGGING_LEVEL ?? 'warn';
  const level = parseLogLevel(name);
  if (!level) return `unknown log level "${name}"; use debug, info, warn or error`;
  return io.logger ?? createLogger({ level, pretty: io.stderrIsTTY ?? false });
}

export interface Failure {
  code: number;
  message: string;
  extra?: Record<string, unknown>;
}

/** The exit code and message of an error a command did not handle itself (input errors are rendered apart). */
export function failureOf(error: unknown): Failure {
  if (error instanceof UsageError) return { code: EXIT.invalidInput, message: error.message };
  if (error instanceof StalePlanError) return { code: EXIT.stalePlan, message: `the saved plan is stale, nothing was written: ${error.message}`, extra: { reason: 'stale-plan' } };
  if (error instanceof UnsupportedServerError) return { code: EXIT.invalidInput, message: error.message, extra: { reason: 'unsupported-server' } };
  if (error instanceof ConnectionError) {
    return { code: error.reason === 'unauthorized' ? EXIT.unauthorized : EXIT.unreachable, message: error.message, extra: { reason: error.reason } };
  }
  if (error instanceof InterruptedError) {
    return {
      code: error.signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated,
      message: `${error.message} before any write`,
      extra: { reason: 'interrupted', signal: error.signal },
    };
  }
  if (error instanceof ApiError) return { code: EXIT.applyFailed, message: error.message, extra: { status: error.status } };
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { code: EXIT.internal, message: `unexpected error (please report it): ${message}` };
}
