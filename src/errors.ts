// The few error shapes the program distinguishes; main.ts maps each to an exit code.

/** Where a problem in an input file is: the file, and the line and key when the format has them. */
export interface Source {
  file: string;
  line?: number | undefined;
  column?: number | undefined;
  /** The dotted key or the flag the problem belongs to, e.g. `s3.S3_REGION` or `--secrets`. */
  key?: string | undefined;
}

export interface ConfigIssue extends Source {
  message: string;
  severity?: 'error' | 'warning';
}

/** Control characters and line separators as escapes: an issue is always one line. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `file:line:column › key: message`, the one way an input problem is shown, always on one line. */
export function formatIssue(issue: ConfigIssue): string {
  let where = oneLine(issue.file);
  if (issue.line !== undefined) where += `:${issue.line}`;
  if (issue.line !== undefined && issue.column !== undefined) where += `:${issue.column}`;
  const key = issue.key ? ` › ${oneLine(issue.key)}` : '';
  return `${where}${key}: ${oneLine(issue.message)}`;
}

/** Every problem found in the inputs, reported together before anything touches the server. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(`${issues.length} problem${issues.length === 1 ? '' : 's'} in the inputs:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Collects issues while loading; `throwIfAny` ends validation with every error at once. */
export class IssueList {
  readonly items: ConfigIssue[] = [];
  error(source: Source, message: string): void {
    this.items.push({ ...source, message, severity: 'error' });
  }
  warn(source: Source, message: string): void {
    this.items.push({ ...source, message, severity: 'warning' });
  }
  get errors(): ConfigIssue[] {
    return this.items.filter((i) => i.severity !== 'warning');
  }
  get warnings(): ConfigIssue[] {
    return this.items.filter((i) => i.severity === 'warning');
  }
  throwIfAny(): void {
    const errors = this.errors;
    if (errors.length > 0) throw new ConfigError(errors);
  }
}

/** A command line that cannot be understood (unknown flag, missing value). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `apply FILE`: the inputs or the server changed since the plan was saved; nothing was written. */
export class StalePlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StalePlanError';
  }
}

/** The server's Prefect is older than what the declared kinds need; nothing was written. */
export class UnsupportedServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedServerError';
  }
}

/** The server could not be reached, never became ready, or refused our credentials. */
export class ConnectionError extends Error {
  readonly reason: 'unreachable' | 'not-ready' | 'unauthorized';
  constructor(reason: ConnectionError['reason'], message: string) {
    super(message);
    this.name = 'ConnectionError';
    this.reason = reason;
  }
}

/** The run was asked to stop by a signal: SIGTERM (docker stop, Kubernetes) or SIGINT (Ctrl-C). */
export class InterruptedError extends Error {
  readonly signal: 'SIGTERM' | 'SIGINT';
  constructor(signal: InterruptedError['signal']) {
    super(`stopped by ${signal}`);
    this.name = 'InterruptedError';
    this.signal = signal;
  }
}

/**
 * An apply that wrote its object and then failed at a later step: the item is reported failed,
 * but the object is this tool's (the ownership record lists it), so the next run finishes it.
 */
export class WrittenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WrittenError';
  }
}

/** A request the server answered with an error status; `detail` is the server's own explanation. */
export class ApiError extends Error {
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly detail: string;
  constructor(options: { status: number; method: string; path: string; detail: string }) {
    super(`${options.method} ${options.path} answered ${options.status}: ${options.detail}`);
    this.name = 'ApiError';
    this.status = options.status;
    this.method = options.method;
    this.path = options.path;
    this.detail = options.detail;
  }
}
