// Runs the CLI in-process, the way bin/openem-config does, and captures everything it says:
// stdout, stderr, every log line at the chosen level, and every HTTP request it sent.
import { Writable } from 'node:stream';
import { main } from '../../src/main.js';
import { createLogger, type LogLevel } from '../../src/log.js';
import { isWrite } from '../../src/prefect/http.js';
import { createNodeTransport } from '../../src/prefect/transport.js';

/** The program's own transport (node:http); msw's interceptors see it as they see fetch. */
const transport = createNodeTransport();

export interface SentRequest {
  method: string;
  path: string;
  write: boolean;
  status: number | 'error';
  body: string;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  logs: string;
  requests: SentRequest[];
  writes: SentRequest[];
  /** Everything the run produced, for secret-leak checks. */
  all: string;
}

/** The document `--output json` prints when a run failed: the fields the tests read. */
export interface JsonFailureReport {
  ok: boolean;
  exitCode: number;
  error: { message: string; reason: string };
  items: Array<{ kind: string; key: string; outcome: string; error?: string }>;
  summary: Record<string, Record<string, number>>;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  logLevel?: LogLevel;
  /** Fails retried requests fast in tests. */
  fastRetries?: boolean;
  /** The directory the run starts in, as a process started there (relative paths, the project file). */
  cwd?: string;
}

export async function runCli(argv: string[], options: CliOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  let logs = '';
  const requests: SentRequest[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });
  const logger = createLogger({ level: options.logLevel ?? 'debug', pretty: false, destination: sink });
  const recordingFetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const apiPath = url.pathname.replace(/^\/api(?=\/)/, '');
    const body = request.body ? await request.clone().text() : '';
    const entry: SentRequest = { method: request.method, path: apiPath, write: isWrite(request.method, apiPath), status: 'error', body };
    requests.push(entry);
    const response = await transport.fetch(request);
    entry.status = response.status;
    return response;
  };
  // validate, init, migrate and schemas talk to no server and have no retry options.
  const extra = options.fastRetries === false || ['validate', 'init', 'migrate', 'schemas'].includes(argv[0] ?? '') ? [] : ['--retry-min-delay', '5'];
  // In this process: the test's directory is changed for the run and given back after it.
  const before = process.cwd();
  if (options.cwd !== undefined) process.chdir(options.cwd);
  let code: number;
  try {
    code = await main({
      argv: [...argv, ...extra],
      env: { ...options.env },
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      logger,
      fetch: recordingFetch,
      ...(options.cwd !== undefined && { cwd: options.cwd }),
    });
  } finally {
    process.chdir(before);
  }
  const writes = requests.filter((r) => r.write);
  return { code, stdout, stderr, logs, requests, writes, all: `${stdout}\n${stderr}\n${logs}` };
}
