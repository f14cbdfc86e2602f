// No secret value and no credential ever leaves the process except in the request that stores it:
// every command (apply, plan, validate) and every error path, at every log level, in text and JSON,
// with secrets that are hard to redact (spaces, quotes, unicode, newlines, JSON-looking, 80 kB).
// The built binary is checked from the outside too: its argv and environment (/proc/<pid>) while it
// runs, and what it prints. Secret files that are not usable are refused without being echoed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import type { LogLevel } from '../../src/log.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy, type ProxiedRequest } from '../helpers/fault-proxy.js';
import { EXAMPLE_ENV, OLD_COMMAND_LINE, exampleVars, writeSecretFiles } from '../shared/example-cases.js';
import { clearServer, readState } from '../shared/server.js';
import { expectedSecrets, spawnCli, until } from './support.js';

const LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];
const LONG = Array.from({ length: 4000 }, (_, i) => `long-secret-${i.toString(36)}-Qx`).join('');

/** One value of each awkward shape, under the six names of the old command line. */
const UNUSUAL: Record<string, string> = {
  S3_USER_FILE: '  spaced  user\twith tab  ',
  S3_PASSWORD_FILE: `p"a'ss\`wo\\rd $HOME %s {{ x }} <b>&amp;`,
  GITHUB_USER_FILE: 'ünïcödé-ユーザー-🔑-Zq7',
  GITHUB_PASSWORD_FILE: 'line one Zq7\nline two\r\nline three',
  SCICAT_USER_FILE: '{"user": "scicat", "token": "Zq7-json-looking", "n": [1, 2]}',
  SCICAT_PASSWORD_FILE: LONG,
};
const ROTATED = Object.fromEntries(Object.entries(UNUSUAL).map(([name, value]) => [name, `${value} rotated-Wv4`]));

const AUTH = 'audit-user:audit pass "with" quotes';
const API_KEY = 'pnu_auditApiKeyValue0123456789';
const CANARY = 'canary-env-value-never-printed-Jk8';

/** Every form in which a value could leak: as is, JSON-escaped (the log and the JSON report), and its distinctive parts. */
function needles(values: Record<string, string>): string[] {
  const found = new Set<string>();
  for (const value of Object.values(values)) {
    found.add(value);
    found.add(JSON.stringify(value).slice(1, -1));
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 8) found.add(line.trim());
  }
  for (const part of ['spaced  user', `wo\\rd $HOME`, 'ユーザー', 'line two', 'Zq7-json-looking', LONG.slice(30_000, 30_060), 'rotated-Wv4']) found.add(part);
  for (const secret of [AUTH, API_KEY, CANARY]) {
    found.add(secret);
    found.add(Buffer.from(secret).toString('base64'));
  }
  return [...found];
}
const ALL_NEEDLES = needles({ ...UNUSUAL, ...Object.fromEntries(Object.entries(ROTATED).map(([k, v]) => [`${k}_R`, v])) });

function expectNoLeak(text: string, what: string): void {
  for (const needle of ALL_NEEDLES) {
    if (text.includes(needle)) throw new Error(`${what} contains a secret (${JSON.stringify(needle.slice(0, 40))}):\n${text.slice(0, 2000)}`);
  }
  expect(text).not.toMatch(/(basic|bearer) [a-z0-9+/=_-]{8,}/i);
}

/** Prefect's 422 body, echoing what was sent (as the real server does in `request_body` and each error's `input`). */
const echo422 = (request: ProxiedRequest) => {
  const sent = JSON.parse(request.body) as { data?: unknown };
  return {
    exception_message: 'Invalid request received.',
    exception_detail: [{ loc: ['body', 'data'], msg: 'refused for the audit', input: sent.data }],
    request_body: sent,
  };
};

const apiUrl = () => inject('prefectApiUrl');
let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy({ target: apiUrl() });
});
afterAll(async () => proxy?.close());

describe.each(LEVELS)('at log level %s', (level) => {
  const env = (secrets: Record<string, string>, extra: Record<string, string> = {}) => ({
    PREFECT_API_URL: proxy.apiUrl,
    PREFECT_API_AUTH_STRING: AUTH,
    OPENEM_AUDIT_CANARY: CANARY,
    ...writeSecretFiles(secrets),
    ...EXAMPLE_ENV,
    ...extra,
  });
  const run = (argv: string[], secrets: Record<string, string>, extra: Record<string, string> = {}): Promise<CliResult> =>
    runCli([...argv, '--log-level', level], { logLevel: level, env: env(secrets, extra), fastRetries: argv[0] !== 'validate' });

  it('every command and every error path prints no secret and no credential', async () => {
    proxy.reset();
    await clearServer(apiUrl());
    const results: Array<[string, CliResult]> = [];
    const record = async (name: string, pending: Promise<CliResult>, code: number) => {
      const result = await pending;
      expect(result.code, `${name}: ${result.stdout}\n${result.stderr}`).toBe(code);
      results.push([name, result]);
      return result;
    };

    await record('validate', run(['validate', ...OLD_COMMAND_LINE], UNUSUAL), EXIT.ok);
    await record('validate json', run(['validate', '--output', 'json', ...OLD_COMMAND_LINE], UNUSUAL), EXIT.ok);
    await record('plan json (all new)', run(['plan', '--output', 'json', ...OLD_COMMAND_LINE], UNUSUAL), EXIT.ok);
    const created = await record('apply (create)', run(OLD_COMMAND_LINE, UNUSUAL), EXIT.ok);
    expect(created.stdout).toContain('secrets: 6 created');
    expect((await readState(apiUrl())).secrets).toEqual(expectedSecrets(UNUSUAL));
    await record('plan text (rotated)', run(['plan', '--detailed-exitcode', ...OLD_COMMAND_LINE], ROTATED), EXIT.changesPending);
    const rotated = await record('apply json (update), bearer key', run(['--output', 'json', ...OLD_COMMAND_LINE], ROTATED, { PREFECT_API_KEY: API_KEY }), EXIT.ok);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ summary: { secret: { updated: 6 } } });
    expect((await readState(apiUrl())).secrets).toEqual(expectedSecrets(ROTATED));

    // The server refuses the secret and echoes it back: the report keeps only its explanation.
    proxy.inject({ method: 'PATCH', path: /^\/block_documents\//, times: 6, fault: { kind: 'status', status: 422, body: echo422 } });
    const refused = await record('apply json (422 echoing the secret)', run(['--output', 'json', ...OLD_COMMAND_LINE], UNUSUAL), EXIT.applyFailed);
    expect(refused.stdout).toContain('answered 422: Invalid request received.; body.data: refused for the audit');
    proxy.reset();
    proxy.inject({ method: 'POST', path: '/block_documents/', times: 1, fault: { kind: 'status', status: 500, body: echo422 } });
    await clearServer(apiUrl());
    await record('apply text (500 echoing the secret)', run(OLD_COMMAND_LINE, UNUSUAL), EXIT.applyFailed);
    proxy.reset();

    // Input errors next to valid secrets, an unreachable server, refused credentials.
    await record('invalid input', run(['-v', join(tmpdir(), 'missing-vars.toml'), '-s', ...Object.keys(UNUSUAL), 'NOT_SET_FILE'], UNUSUAL), EXIT.invalidInput);
    await record(
      'invalid input json',
      run(['--output', 'json', '-v', exampleVars, '-s', ...Object.keys(UNUSUAL), '-l', join(tmpdir(), 'missing-limits.toml')], UNUSUAL),
      EXIT.invalidInput,
    );
    const closed = `http://127.0.0.1:${await freePort()}/api`;
    await record('unreachable', run(['--wait-timeout', '0', '--output', 'json', ...OLD_COMMAND_LINE], UNUSUAL, { PREFECT_API_URL: closed }), EXIT.unreachable);
    proxy.inject({ method: 'GET', path: '/admin/version', fault: { kind: 'status', status: 401, body: { exception_message: 'Unauthorized' } } });
    await record('unauthorized', run(OLD_COMMAND_LINE, UNUSUAL), EXIT.unauthorized);
    proxy.reset();

    for (const [name, result] of results) {
      expectNoLeak(result.stdout, `${name} stdout`);
      expectNoLeak(result.stderr, `${name} stderr`);
      expectNoLeak(result.logs, `${name} log`);
    }
    // The log really was at this level: trace and debug show every request, error shows only errors.
    const logs = results.map(([, r]) => r.logs).join('');
    if (level === 'trace' || level === 'debug') expect(logs).toContain('"event":"http"');
    else expect(logs).not.toContain('"event":"http"');
  });
});

describe('the built binary, seen from outside', () => {
  it('has no secret in its argv or environment while it runs, and prints none of its environment', async () => {
    proxy.reset();
    await clearServer(apiUrl());
    proxy.inject({ method: 'GET', path: '/health', fault: { kind: 'delay', ms: 1_500 } });
    const env = {
      PREFECT_API_URL: proxy.apiUrl,
      PREFECT_API_AUTH_STRING: AUTH,
      OPENEM_AUDIT_CANARY: CANARY,
      ...writeSecretFiles(UNUSUAL),
      ...EXAMPLE_ENV,
    };
    let cmdline = '';
    let environ = '';
    const result = await spawnCli(['--log-level', 'trace', '--output', 'json', ...OLD_COMMAND_LINE], {
      env,
      whileRunning: async (pid) => {
        // The first request has arrived: the program is running its own code, past start-up.
        await until(() => proxy.requests.length > 0, 15_000, 'the first request');
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      },
    });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(cmdline.split('\0')).toContain('--log-level');
    expect(environ).toContain('S3_PASSWORD_FILE=/');
    const secretNeedles = needles(UNUSUAL).filter((n) => ![AUTH, CANARY].some((c) => n === c || n === Buffer.from(c).toString('base64')));
    for (const needle of secretNeedles) {
      expect(cmdline.includes(needle), `argv holds ${JSON.stringify(needle.slice(0, 30))}`).toBe(false);
      expect(environ.includes(needle), `environment holds ${JSON.stringify(needle.slice(0, 30))}`).toBe(false);
    }
    expectNoLeak(result.stdout, 'binary stdout');
    expectNoLeak(result.stderr, 'binary stderr');
    expect(result.stderr).toContain('"event":"http"');
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, summary: { secret: { created: 6 } } });
    expect((await readState(apiUrl())).secrets).toEqual(expectedSecrets(UNUSUAL));

    const plan = await spawnCli(['plan', '--log-level', 'trace', ...OLD_COMMAND_LINE], { env: { ...env, ...writeSecretFiles(ROTATED) } });
    expect(plan.code).toBe(EXIT.ok);
    expect(plan.stdout).toContain('~ secret s3-password: value changed (hidden)');
    expectNoLeak(plan.stdout + plan.stderr, 'binary plan');
  });

  it('refuses unusable secret files by name and reason, never by content, before any request', async () => {
    proxy.reset();
    const dir = mkdtempSync(join(tmpdir(), 'openem-bad-secrets-'));
    const files = {
      BIG_FILE: join(dir, 'big'),
      FIFO_FILE: join(dir, 'fifo'),
      BINARY_FILE: join(dir, 'binary'),
      DIR_FILE: join(dir, 'directory'),
      EMPTY_FILE: join(dir, 'empty'),
    };
    writeFileSync(files.BIG_FILE, `${CANARY}\n`.repeat(Math.ceil((1024 * 1024 + 10) / (CANARY.length + 1))));
    execFileSync('mkfifo', [files.FIFO_FILE]);
    writeFileSync(files.BINARY_FILE, Buffer.concat([Buffer.from(`${CANARY} `), Buffer.from([0xff, 0xfe, 0x00, 0xc3])]));
    mkdirSync(files.DIR_FILE);
    writeFileSync(files.EMPTY_FILE, '');
    for (const command of ['validate', 'apply']) {
      const result = await spawnCli([command, '--log-level', 'trace', '-s', ...Object.keys(files)], {
        env: { PREFECT_API_URL: proxy.apiUrl, ...files },
        timeoutMs: 20_000,
      });
      expect(result.code, result.stderr).toBe(EXIT.invalidInput);
      expect(result.stderr).toContain(`${files.BIG_FILE} › -s BIG_FILE: secret file is larger than 1 MiB`);
      expect(result.stderr).toContain(`${files.FIFO_FILE} › -s FIFO_FILE: secret file is not a regular file`);
      expect(result.stderr).toContain(`${files.BINARY_FILE} › -s BINARY_FILE: secret file is not valid UTF-8`);
      expect(result.stderr).toContain(`${files.DIR_FILE} › -s DIR_FILE: secret file is a directory`);
      expect(result.stderr).toContain(`${files.EMPTY_FILE} › -s EMPTY_FILE: secret file is empty`);
      expect(result.stdout + result.stderr).not.toContain(CANARY);
    }
    expect(proxy.requests).toEqual([]);
  });
});
