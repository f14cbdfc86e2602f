// A real server with basic auth and CSRF protection whose tokens live 2 seconds: refused credentials
// stop the run before any write with exit 5, credentials refused in the middle of a run stop it there
// with exit 5 and the list of what was not done, and a token that expires in the middle of a run is
// fetched again (whatever --retries says) without failing a single object. Credentials and tokens
// never reach the output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrefectServer, type PrefectServer } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli, type JsonFailureReport } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { SECRET_VALUES } from '../shared/example-cases.js';
import { csrfHeaders, exampleEnv, expectFullExample, fullExample, readEverything } from './support.js';

const AUTH = 'admin:csrf-and-auth-pass';
const BASIC = { Authorization: `Basic ${Buffer.from(AUTH).toString('base64')}` };
let server: PrefectServer;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await startPrefectServer({
    env: {
      PREFECT_SERVER_API_AUTH_STRING: AUTH,
      PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED: 'true',
      // A timedelta: ISO 8601 (a bare "2" is refused by the settings model).
      PREFECT_SERVER_API_CSRF_TOKEN_EXPIRATION: 'PT2S',
    },
  });
  proxy = await startFaultProxy({ target: server.apiUrl });
});
afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

/** The client believes every token lasts an hour; the server drops it after 2 s. */
const STALE_TOKENS = {
  method: 'GET',
  path: '/csrf-token',
  times: 1000,
  fault: { kind: 'rewrite' as const, body: (text: string) => JSON.stringify({ ...JSON.parse(text), expiration: new Date(Date.now() + 3_600_000).toISOString() }) },
};

const tokensSeen = () => [...new Set(proxy.requests.map((r) => r.headers['prefect-csrf-token']).filter((t): t is string => typeof t === 'string'))];

function expectNoCredentials(all: string, extra: string[] = []): void {
  for (const value of [AUTH, Buffer.from(AUTH).toString('base64'), ...extra]) expect(all).not.toContain(value);
  expect(all).not.toMatch(/basic [a-z0-9+/=]{8,}/i);
}

describe('refused credentials', () => {
  it('stops before any write with exit 5 and the fix, for wrong and for missing credentials', async () => {
    const wrong = await runCli(['--log-level', 'trace', '--output', 'json', ...fullExample()], {
      logLevel: 'trace',
      env: { PREFECT_API_URL: proxy.apiUrl, PREFECT_API_AUTH_STRING: 'admin:wrong-pass-value', ...exampleEnv() },
    });
    expect(wrong.code).toBe(EXIT.unauthorized);
    expect(wrong.writes).toEqual([]);
    expect(wrong.stderr).toBe(`error: ${proxy.apiUrl} answered 401: the credentials were refused: check PREFECT_API_AUTH_STRING (user:password) or PREFECT_API_KEY\n`);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ ok: false, exitCode: EXIT.unauthorized, error: { reason: 'unauthorized' } });
    expectNoCredentials(wrong.all, ['admin:wrong-pass-value', Buffer.from('admin:wrong-pass-value').toString('base64')]);

    const missing = await runCli(fullExample(), { env: { PREFECT_API_URL: proxy.apiUrl, ...exampleEnv() } });
    expect(missing.code).toBe(EXIT.unauthorized);
    expect(missing.stderr).toContain('the server requires credentials: set PREFECT_API_AUTH_STRING');
    expect(missing.writes).toEqual([]);
    expect(proxy.requests.filter((r) => !['GET'].includes(r.method))).toEqual([]);
  });
});

describe('CSRF tokens that expire during the run', () => {
  it('fetches a new token when the server rejects an expired one, and converges', async () => {
    proxy.reset();
    // The first read is held until the token has expired: every later write meets the rejection.
    proxy.inject(STALE_TOKENS, { method: 'POST', path: '/variables/filter', fault: { kind: 'delay', ms: 2_500 } });
    const result = await runCli(['--log-level', 'trace', ...fullExample()], {
      logLevel: 'trace',
      env: { PREFECT_API_URL: proxy.apiUrl, PREFECT_API_AUTH_STRING: AUTH, ...exampleEnv() },
    });
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(EXIT.ok);
    const rejected = proxy.requests.filter((r) => r.upstreamStatus === 403);
    expect(rejected.length).toBeGreaterThan(0);
    expect(result.logs).toContain('CSRF token rejected; fetching a new one');
    expect(proxy.requests.filter((r) => r.path === '/csrf-token').length).toBeGreaterThanOrEqual(2);
    expect(result.stdout).toContain('deployments: 4 created, 0 updated, 0 unchanged, 0 failed');
    await expectFullExample(server.apiUrl, { headers: csrfHeaders(server.apiUrl, BASIC) });
    expectNoCredentials(result.all, tokensSeen());
  });

  it('does the same with writes in flight at once (--concurrency 4)', async () => {
    proxy.reset();
    // Held reads make the token expire before the planning and again right before the parallel writes.
    proxy.inject(
      STALE_TOKENS,
      { method: 'POST', path: '/variables/filter', fault: { kind: 'delay', ms: 2_500 } },
      { method: 'POST', path: '/deployments/filter', fault: { kind: 'delay', ms: 2_500 } },
    );
    const rotated = Object.fromEntries(Object.entries(SECRET_VALUES).map(([name, value]) => [name, `${value} (rotated)`]));
    const changed = { S3_ENDPOINT: 'http://minio-2:9000', S3_EXTERNAL_ENDPOINT: 'https://s3-2.example.org', SCICAT_ENDPOINT: 'https://scicat-2.example.org' };
    const result = await runCli(['--log-level', 'trace', '--concurrency', '4', ...fullExample()], {
      logLevel: 'trace',
      env: { PREFECT_API_URL: proxy.apiUrl, PREFECT_API_AUTH_STRING: AUTH, ...exampleEnv(rotated), ...changed },
    });
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(EXIT.ok);
    expect(result.stdout).toContain('variables: 0 created, 3 updated, 10 unchanged, 0 failed');
    expect(result.stdout).toContain('secrets: 0 created, 6 updated, 0 unchanged, 0 failed');
    expect(proxy.requests.filter((r) => r.upstreamStatus === 403).length).toBeGreaterThan(0);
    const state = await expectFullExample(server.apiUrl, { headers: csrfHeaders(server.apiUrl, BASIC), secrets: rotated });
    expect(state.variables).toHaveLength(13);
    expectNoCredentials(result.all, tokensSeen());

    // Straight to the server, where tokens really last 2 s, with parallel writes again.
    const again = await runCli(['--concurrency', '4', ...fullExample()], {
      env: { PREFECT_API_URL: server.apiUrl, PREFECT_API_AUTH_STRING: AUTH, ...exampleEnv(SECRET_VALUES) },
    });
    expect(again.code, again.stdout).toBe(EXIT.ok);
    expect(again.stdout).toContain('secrets: 0 created, 6 updated, 0 unchanged, 0 failed');
    await expectFullExample(server.apiUrl, { headers: csrfHeaders(server.apiUrl, BASIC) });
  });
});

describe('CSRF tokens with --retries 0', () => {
  it('still fetches a new token when the server rejects an expired one: that is not a retry', async () => {
    proxy.reset();
    proxy.inject(STALE_TOKENS, { method: 'POST', path: '/variables/filter', fault: { kind: 'delay', ms: 2_500 } });
    const rotated = Object.fromEntries(Object.entries(SECRET_VALUES).map(([name, value]) => [name, `${value} (no retries)`]));
    const result = await runCli(['--log-level', 'trace', '--retries', '0', ...fullExample()], {
      logLevel: 'trace',
      env: { PREFECT_API_URL: proxy.apiUrl, PREFECT_API_AUTH_STRING: AUTH, ...exampleEnv(rotated) },
    });
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(EXIT.ok);
    expect(proxy.requests.filter((r) => r.upstreamStatus === 403).length).toBeGreaterThan(0);
    expect(result.logs).toContain('CSRF token rejected; fetching a new one');
    expect(result.stdout).toContain('secrets: 0 created, 6 updated, 0 unchanged, 0 failed');
    await expectFullExample(server.apiUrl, { headers: csrfHeaders(server.apiUrl, BASIC), secrets: rotated });
    expectNoCredentials(result.all, tokensSeen());
  });
});

describe('credentials refused in the middle of the run', () => {
  const NOT_DONE = 'not done: the run stopped when the server refused the credentials';
  const env = (secrets: Record<string, string>, url = proxy.apiUrl) => ({ PREFECT_API_URL: url, PREFECT_API_AUTH_STRING: AUTH, ...exampleEnv(secrets) });
  const rotated = Object.fromEntries(Object.entries(SECRET_VALUES).map(([name, value]) => [name, `${value} (mid-run)`]));

  /** The server holds the full example with the original secrets, whatever the tests before did. */
  async function converged(): Promise<void> {
    const result = await runCli(fullExample(), { env: env(SECRET_VALUES, server.apiUrl) });
    expect(result.code, result.stdout).toBe(EXIT.ok);
    proxy.reset();
  }

  it('stops at a 401 with exit 5, sends nothing after it, lists what was not done; the next run converges', async () => {
    await converged();
    proxy.inject({ method: 'PATCH', path: /^\/block_documents\/[0-9a-f-]{36}$/, fault: { kind: 'status', status: 401, body: { exception_message: 'Unauthorized' } } });
    const result = await runCli(fullExample(), { env: env(rotated) });
    expect(result.code, result.stdout).toBe(EXIT.unauthorized);
    const refusedAt = proxy.requests.findIndex((r) => r.fault === 'status');
    expect(proxy.requests[refusedAt]).toMatchObject({ method: 'PATCH', clientStatus: 401 });
    expect(proxy.requests.slice(refusedAt + 1)).toEqual([]);
    expect(result.stderr).toMatch(
      /^error: PATCH http:\/\/127\.0\.0\.1:\d+\/api\/block_documents\/[0-9a-f-]{36} answered 401: the credentials were refused mid-run \(the server had accepted them at the start/,
    );
    expect(result.stdout.split(NOT_DONE).length - 1).toBe(5);
    expect(result.stdout).toContain('variables: 0 created, 0 updated, 13 unchanged, 0 failed');
    expect(result.stdout).toContain('secrets: 0 created, 0 updated, 0 unchanged, 6 failed');
    expect(result.stdout).toContain('deployments: 0 created, 0 updated, 4 unchanged, 0 failed');
    // Nothing half written: every secret still has its old value.
    await expectFullExample(server.apiUrl, { headers: csrfHeaders(server.apiUrl, BASIC) });
    expectNoCredentials(result.all, tokensSeen());

    const again = await runCli(fullExample(), { env: env(rotated) });
    expect(again.code, again.stdout).toBe(EXIT.ok);
    expect(again.stdout).toContain('secrets: 0 created, 6 updated, 0 unchanged, 0 failed');
    await expectFullExample(server.apiUrl, { headers: csrfHeaders(server.apiUrl, BASIC), secrets: rotated });
  });

  it('tells a 403 from a proxy apart from a CSRF rejection, and reports it in the JSON document', async () => {
    await converged();
    proxy.inject({
      method: 'PATCH',
      path: /^\/variables\/name\//,
      fault: { kind: 'status', status: 403, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>403 Forbidden</h1></body></html>' },
    });
    const changed = { SCICAT_ENDPOINT: 'https://scicat-3.example.org', S3_ENDPOINT: 'http://minio-3:9000' };
    const result = await runCli(['--output', 'json', ...fullExample()], { env: { ...env(SECRET_VALUES), ...changed } });
    expect(result.code, result.stdout).toBe(EXIT.unauthorized);
    const report = JSON.parse(result.stdout) as JsonFailureReport;
    expect(report).toMatchObject({ ok: false, exitCode: EXIT.unauthorized, error: { reason: 'unauthorized' } });
    expect(report.error.message).toMatch(/^PATCH http:\/\/127\.0\.0\.1:\d+\/api\/variables\/name\/\w+ answered 403: the credentials were refused mid-run/);
    expect(report.summary.variable).toEqual({ created: 0, updated: 0, deleted: 0, unchanged: 11, failed: 2 });
    expect(report.summary.secret).toEqual({ created: 0, updated: 0, deleted: 0, unchanged: 6, failed: 0 });
    const failed = report.items.filter((item) => item.outcome === 'failed');
    expect(failed.map((item) => item.key).sort()).toEqual(['s3_endpoint', 'scicat_endpoint']);
    expect(failed.filter((item) => item.error === NOT_DONE)).toHaveLength(1);
    // One PATCH reached the proxy and was refused; the CSRF token was never fetched again.
    expect(proxy.requests.filter((r) => r.method === 'PATCH').map((r) => r.clientStatus)).toEqual([403]);
    expect(result.logs).not.toContain('CSRF token rejected');
    const state = await readEverything(server.apiUrl, csrfHeaders(server.apiUrl, BASIC));
    expect(state.variables).toHaveLength(13);
    expectNoCredentials(result.all, tokensSeen());
  });
});
