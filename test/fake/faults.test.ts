// What a real server will not do on demand: bursts of 503, resets, slow answers, refused
// credentials, a 422 or 500 on one object. Each run ends converged or with an exact per-object
// failure and the documented exit code, and a follow-up run converges.
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli, type CliResult, type JsonFailureReport } from '../helpers/cli.js';
import { EXAMPLE_ENV, OLD_COMMAND_LINE, SECRET_VALUES, writeSecretFiles } from '../shared/example-cases.js';
import { createPrefectFake } from './prefect-fake.js';

const fake = createPrefectFake();
const authFake = createPrefectFake({ baseUrl: 'http://auth.fake/api', authString: 'admin:pw' });
const csrfFake = createPrefectFake({ baseUrl: 'http://csrf.fake/api', authString: 'admin:pw', csrf: true });
const server = setupServer(...fake.handlers, ...authFake.handlers, ...csrfFake.handlers);
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
beforeEach(() => {
  fake.reset();
  authFake.reset();
  csrfFake.reset();
});
afterAll(() => server.close());

/** Secret blocks only: the fake also holds openem-config's ownership record. */
const secrets = () => [...fake.state.blockDocuments.values()].filter((doc) => fake.state.blockTypes.get(doc.block_type_id)?.slug === 'secret');

const run = (argv: string[] = OLD_COMMAND_LINE, env: Record<string, string> = {}) =>
  runCli(argv, { env: { PREFECT_API_URL: fake.baseUrl, ...writeSecretFiles(), ...EXAMPLE_ENV, ...env } });

describe('faults', () => {
  it('rides out a burst of 503 with Retry-After', async () => {
    fake.inject({ method: 'POST', path: '/variables/', times: 3, status: 503, headers: { 'retry-after': '0' } });
    const result = await run();
    expect(result.code).toBe(EXIT.ok);
    expect(result.logs.match(/"event":"http.retry"/g)).toHaveLength(3);
    expect(fake.state.variables.size).toBe(13);
  });

  it('retries 502 and 504 from a proxy, and a connection reset', async () => {
    fake.inject({ method: 'POST', path: '/variables/filter', status: 502 });
    fake.inject({ method: 'POST', path: '/block_documents/', status: 504 });
    fake.inject({ method: 'POST', path: '/concurrency_limits/', networkError: true });
    const result = await run();
    expect(result.code).toBe(EXIT.ok);
    expect(secrets().length).toBe(6);
    expect([...fake.state.concurrencyLimits.keys()].sort()).toEqual(['tag:read-from-lts-share', 'tag:write-to-lts-share']);
  });

  it('converges when two runs create the same objects at once (409 becomes re-read + update)', async () => {
    const [one, two] = await Promise.all([run(), run()]);
    expect([one.code, two.code]).toEqual([EXIT.ok, EXIT.ok]);
    const conflicts = [...one.requests, ...two.requests].filter((r) => r.status === 409);
    expect(conflicts.length).toBeGreaterThan(0);
    expect(fake.state.variables.size).toBe(13);
    expect(secrets().length).toBe(6);
    const third = await run();
    expect(third.writes).toEqual([]);
  });

  it('times out a response that never comes and retries it', async () => {
    fake.inject({ method: 'POST', path: '/variables/filter', delayMs: 5000 });
    const result = await run([...OLD_COMMAND_LINE, '--request-timeout', '0.2']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.logs).toContain('no response within');
  });

  it('gives up after the retries with the unreachable code and the last reason', async () => {
    fake.inject({ method: 'POST', path: '/variables/filter', times: 100, status: 503 });
    const result = await run([...OLD_COMMAND_LINE, '--retries', '2']);
    expect(result.code).toBe(EXIT.applyFailed);
    expect(result.stdout).toContain('variables could not be read');
    expect(result.stdout).toContain('HTTP 503');
    // The other kinds were still applied.
    expect(secrets().length).toBe(6);
  });

  it('reports a 500 on one object and applies the others; the next run converges', async () => {
    fake.inject({ method: 'POST', path: '/block_documents/', status: 500, body: { exception_message: 'Internal Server Error' } });
    const first = await run();
    expect(first.code).toBe(EXIT.applyFailed);
    expect(first.stdout).toMatch(/! secret github-password: POST \/block_documents\/ answered 500: Internal Server Error/);
    expect(first.stdout).toContain('secrets: 5 created, 0 updated, 0 unchanged, 1 failed');
    expect(first.stdout).toContain('variables: 13 created');
    const second = await run();
    expect(second.code).toBe(EXIT.ok);
    // The secret, then the ownership record that now lists it.
    expect(second.writes.map((w) => `${w.method} ${w.path}`)).toEqual(['POST /block_documents/', expect.stringMatching(/^PATCH \/block_documents\/[0-9a-f-]{36}$/)]);
    expect(secrets().length).toBe(6);
  });

  it('reports a 422 with the server detail and never the secret it refused', async () => {
    fake.inject({
      method: 'POST',
      path: '/block_documents/',
      status: 422,
      body: {
        exception_message: 'Invalid request received.',
        exception_detail: [{ loc: ['body', 'data'], msg: 'bad data', input: { value: SECRET_VALUES.GITHUB_PASSWORD_FILE } }],
        request_body: { data: { value: SECRET_VALUES.GITHUB_PASSWORD_FILE } },
      },
    });
    const result = await run(['--log-level', 'debug', ...OLD_COMMAND_LINE]);
    expect(result.code).toBe(EXIT.applyFailed);
    expect(result.stdout).toContain('answered 422: Invalid request received.; body.data: bad data');
    for (const value of Object.values(SECRET_VALUES)) expect(result.all).not.toContain(value);
  });

  it('stops with the unauthorized code on 401, before any write', async () => {
    const result = await runCli(OLD_COMMAND_LINE, {
      env: { PREFECT_API_URL: authFake.baseUrl, PREFECT_API_AUTH_STRING: 'admin:wrong', ...writeSecretFiles(), ...EXAMPLE_ENV },
    });
    expect(result.code).toBe(EXIT.unauthorized);
    expect(result.writes).toEqual([]);
    expect(result.all).not.toContain('admin:wrong');
  });
});

describe('a conflict on create with nothing to find', () => {
  it('creates the secret again (Prefect on PostgreSQL answers concurrent creates of other names with 409)', async () => {
    fake.inject({ method: 'POST', path: '/block_documents/', status: 409, body: { detail: 'Data integrity conflict.' } });
    const result = await run();
    expect(result.code).toBe(EXIT.ok);
    expect(secrets()).toHaveLength(6);
  });

  it('gives up after three conflicts, reporting that object only', async () => {
    fake.inject({ method: 'POST', path: '/block_documents/', times: 3, status: 409, body: { detail: 'Data integrity conflict.' } });
    const result = await run();
    expect(result.code).toBe(EXIT.applyFailed);
    expect(result.stdout).toContain('a conflict three times, yet no such document');
    expect(result.stdout).toContain('secrets: 5 created, 0 updated, 0 unchanged, 1 failed');
  });
});

describe('a conflict on creating a variable with nothing to find', () => {
  const variablePosts = (result: CliResult) => result.requests.filter((r) => r.method === 'POST' && r.path === '/variables/');
  const nameOf = (request: { body: string }) => (JSON.parse(request.body) as { name: string }).name;

  it('creates the variable again (as for secret blocks) and converges', async () => {
    fake.inject({ method: 'POST', path: '/variables/', status: 409, body: { detail: 'Data integrity conflict.' } });
    const result = await run();
    expect(result.code, result.stdout).toBe(EXIT.ok);
    const first = nameOf(variablePosts(result)[0]!);
    expect(variablePosts(result).filter((r) => nameOf(r) === first).map((r) => r.status)).toEqual([409, 201]);
    // The read-back between the two creates found nothing.
    expect(result.requests.filter((r) => r.path === `/variables/name/${first}`).map((r) => `${r.method} ${r.status}`)).toEqual(['GET 404']);
    expect(result.stdout).toContain('variables: 13 created, 0 updated, 0 unchanged, 0 failed');
    expect(fake.state.variables.size).toBe(13);
    expect(fake.state.variables.get(first)?.tags).toEqual(['openem-config']);
  });

  it('gives up after three conflicts, reporting that variable only', async () => {
    fake.inject({ method: 'POST', path: '/variables/', times: 3, status: 409, body: { detail: 'Data integrity conflict.' } });
    const result = await run();
    expect(result.code).toBe(EXIT.applyFailed);
    const first = nameOf(variablePosts(result)[0]!);
    expect(variablePosts(result).filter((r) => nameOf(r) === first).map((r) => r.status)).toEqual([409, 409, 409]);
    expect(result.stdout).toContain(`! variable ${first}: POST /variables/ answered 409: a conflict three times, yet no such variable`);
    expect(result.stdout).toContain('variables: 12 created, 0 updated, 0 unchanged, 1 failed');
    expect(result.stdout).toContain('secrets: 6 created');
    expect(fake.state.variables.has(first)).toBe(false);
    expect(fake.state.variables.size).toBe(12);
  });
});

describe('credentials refused in the middle of a run', () => {
  const NOT_DONE = 'not done: the run stopped when the server refused the credentials';
  const count = (text: string, part: string) => text.split(part).length - 1;

  it('stops at a 401 on a write with exit 5, sends nothing more, lists what was not done; the next run converges', async () => {
    fake.inject({ method: 'POST', path: '/block_documents/', status: 401 });
    const result = await run();
    expect(result.code, result.stdout).toBe(EXIT.unauthorized);
    const refusedAt = result.requests.findIndex((r) => r.status === 401);
    expect(result.requests[refusedAt]).toMatchObject({ method: 'POST', path: '/block_documents/' });
    // Not retried, and nothing after it: not the other secrets, the tag limits or the ownership record.
    expect(result.requests.slice(refusedAt + 1)).toEqual([]);
    expect(result.stderr).toMatch(
      /^error: POST http:\/\/prefect\.fake\/api\/block_documents\/ answered 401: the credentials were refused mid-run \(.*\)\. The run stopped there; every object not done is listed\./,
    );
    expect(result.stdout).toMatch(/^! secret github-password: POST http:\/\/prefect\.fake\/api\/block_documents\/ answered 401: the credentials were refused mid-run/m);
    expect(count(result.stdout, NOT_DONE)).toBe(7);
    expect(result.stdout).toContain(`! secret s3-user: ${NOT_DONE}`);
    expect(result.stdout).toContain(`! tag-limit write-to-lts-share: ${NOT_DONE}`);
    expect(result.stdout).toContain('variables: 13 created, 0 updated, 0 unchanged, 0 failed');
    expect(result.stdout).toContain('secrets: 0 created, 0 updated, 0 unchanged, 6 failed');
    expect(result.stdout).toContain('tag-limits: 0 created, 0 updated, 0 unchanged, 2 failed');
    expect(fake.state.variables.size).toBe(13);
    expect(secrets()).toEqual([]);

    const second = await run();
    expect(second.code, second.stdout).toBe(EXIT.ok);
    expect(second.stdout).toContain('variables: 0 created, 0 updated, 13 unchanged, 0 failed');
    expect(second.stdout).toContain('secrets: 6 created, 0 updated, 0 unchanged, 0 failed');
    expect(second.stdout).toContain('tag-limits: 2 created, 0 updated, 0 unchanged, 0 failed');
  });

  it('reports it in the JSON document, for a 403 from a proxy, with the summary of what was done', async () => {
    fake.inject({ method: 'POST', path: '/concurrency_limits/', status: 403, body: { message: 'Forbidden by policy' } });
    const result = await run(['--output', 'json', ...OLD_COMMAND_LINE]);
    expect(result.code).toBe(EXIT.unauthorized);
    const report = JSON.parse(result.stdout) as JsonFailureReport;
    expect(report).toMatchObject({ ok: false, exitCode: EXIT.unauthorized, error: { reason: 'unauthorized' } });
    expect(report.error.message).toMatch(/^POST http:\/\/prefect\.fake\/api\/concurrency_limits\/ answered 403: the credentials were refused mid-run/);
    expect(result.stderr).toBe(`error: ${report.error.message}\n`);
    expect(report.summary).toEqual({
      variable: { created: 13, updated: 0, deleted: 0, unchanged: 0, failed: 0 },
      secret: { created: 6, updated: 0, deleted: 0, unchanged: 0, failed: 0 },
      'tag-limit': { created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 2 },
    });
    const limits = report.items.filter((item) => item.kind === 'tag-limit');
    expect(limits.map((item) => item.outcome)).toEqual(['failed', 'failed']);
    expect(limits.filter((item) => item.error === NOT_DONE)).toHaveLength(1);
    expect(limits.filter((item) => item.error?.includes('answered 403: the credentials were refused mid-run'))).toHaveLength(1);
    expect(fake.state.concurrencyLimits.size).toBe(0);
    expect(result.writes.filter((w) => w.path === '/concurrency_limits/')).toHaveLength(1);
  });

  it('stops at a 401 on a read while planning: nothing is written and every object of the other kinds is not done', async () => {
    fake.inject({ method: 'POST', path: '/block_documents/filter', status: 401 });
    const result = await run();
    expect(result.code, result.stdout).toBe(EXIT.unauthorized);
    expect(result.writes).toEqual([]);
    // The kinds are read at once: the other reads were sent with it, and nothing after the refusal.
    expect(result.requests.filter((r) => r.status === 401).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /block_documents/filter']);
    expect(result.requests.filter((r) => r.path.endsWith('/filter')).map((r) => r.path).sort()).toEqual([
      '/block_documents/filter',
      '/v2/concurrency_limits/filter',
      '/variables/filter',
    ]);
    expect(result.stdout).toMatch(/^! secrets could not be read: POST http:\/\/prefect\.fake\/api\/block_documents\/filter answered 401: the credentials were refused mid-run/m);
    expect(count(result.stdout, NOT_DONE), result.stdout).toBe(15);
    expect(result.stdout).toContain('variables: 0 created, 0 updated, 0 unchanged, 13 failed');
    expect(result.stdout).toContain('tag-limits: 0 created, 0 updated, 0 unchanged, 2 failed');
    expect(result.stderr).toContain('the credentials were refused mid-run');

    fake.inject({ method: 'POST', path: '/block_documents/filter', status: 401 });
    const plan = await run(['plan', ...OLD_COMMAND_LINE]);
    expect(plan.code).toBe(EXIT.unauthorized);
    expect(plan.writes).toEqual([]);
    expect(plan.stdout).toMatch(/^! secrets could not be read: POST .* answered 401: the credentials were refused mid-run/m);
  });

  it('still fetches a new CSRF token on a 403 about the token, also with --retries 0, and converges', async () => {
    csrfFake.inject({ method: 'POST', path: '/variables/', status: 403, body: { detail: 'Invalid CSRF token or client identifier.' } });
    const result = await runCli([...OLD_COMMAND_LINE, '--retries', '0'], {
      env: { PREFECT_API_URL: csrfFake.baseUrl, PREFECT_API_AUTH_STRING: 'admin:pw', ...writeSecretFiles(), ...EXAMPLE_ENV },
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(EXIT.ok);
    expect(result.requests.filter((r) => r.path === '/csrf-token').map((r) => r.status)).toEqual([200, 200]);
    const posts = result.requests.filter((r) => r.method === 'POST' && r.path === '/variables/');
    expect(posts.slice(0, 2).map((r) => r.status)).toEqual([403, 201]);
    expect(posts[1]!.body).toBe(posts[0]!.body);
    expect(result.logs).toContain('CSRF token rejected; fetching a new one');
    expect(csrfFake.state.variables.size).toBe(13);
  });
});

describe('a server gone in the middle of a run', () => {
  const NOT_DONE = 'not done: the run stopped when the server stopped answering';

  it('stops after one request found no server for its whole retry budget: exit 4, applied, failed and not done listed', async () => {
    fake.inject({ method: 'POST', path: '/block_documents/', times: 1000, networkError: true });
    const result = await run(['--output', 'json', '--retries', '2', ...OLD_COMMAND_LINE]);
    expect(result.code, result.stdout).toBe(EXIT.unreachable);
    // Three attempts of the first secret, then nothing: not the other secrets, the tag limits or the ownership record.
    const first = result.requests.findIndex((r) => r.method === 'POST' && r.path === '/block_documents/');
    expect(result.requests.slice(first).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(Array(3).fill('POST /block_documents/ error'));
    const report = JSON.parse(result.stdout) as JsonFailureReport & { stopped: Record<string, number> };
    expect(report).toMatchObject({ ok: false, exitCode: EXIT.unreachable, error: { reason: 'unreachable' } });
    expect(report.error.message).toMatch(
      /^the server stopped answering mid-run: POST http:\/\/prefect\.fake\/api\/block_documents\/ failed after 3 attempts: .*\. The run stopped there; every object not done is listed\. Run it again once the server is back\.$/,
    );
    expect(report.stopped).toEqual({ applied: 13, failed: 1, notDone: 7 });
    const failed = report.items.filter((item) => item.outcome === 'failed');
    expect(failed.filter((item) => item.error !== NOT_DONE).map((item) => `${item.kind} ${item.key}`)).toEqual(['secret github-password']);
    expect(failed.filter((item) => item.error === NOT_DONE).map((item) => item.key)).toEqual([
      'github-user',
      's3-password',
      's3-user',
      'scicat-password',
      'scicat-user',
      'read-from-lts-share',
      'write-to-lts-share',
    ]);
    expect(result.stderr).toBe(`error: ${report.error.message}\n`);

    const text = await run(['--retries', '1', ...OLD_COMMAND_LINE]);
    expect(text.code).toBe(EXIT.unreachable);
    expect(text.stdout).toContain('secrets: 0 created, 0 updated, 0 unchanged, 6 failed (5 not done)');
    expect(text.stdout).toContain(`! tag-limit write-to-lts-share: ${NOT_DONE}`);
    expect(text.stdout.trim().split('\n').at(-1)).toBe('Stopped before the end: 0 applied, 1 failed, 7 not done.');
  });

  it.each([
    ['502 from a proxy', { status: 502, text: '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>' }],
    ['504 from a proxy', { status: 504, text: '' }],
    ["503 page that is not Prefect's", { status: 503, text: '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>' }],
  ])('stops the same way when a proxy answers for the server for a whole retry budget: %s', async (_name, answer) => {
    fake.inject({ method: 'POST', path: '/block_documents/', times: 1000, ...answer });
    const result = await run(['--output', 'json', '--retries', '2', ...OLD_COMMAND_LINE]);
    expect(result.code, result.stdout).toBe(EXIT.unreachable);
    // Three attempts of the first secret, then nothing: 21 objects, 3 requests where 7 x 3 would have been sent.
    const first = result.requests.findIndex((r) => r.method === 'POST' && r.path === '/block_documents/');
    expect(result.requests.slice(first).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(Array(3).fill(`POST /block_documents/ ${answer.status}`));
    const report = JSON.parse(result.stdout) as JsonFailureReport & { stopped: Record<string, number> };
    expect(report).toMatchObject({ ok: false, exitCode: EXIT.unreachable, error: { reason: 'unreachable' } });
    expect(report.error.message).toBe(
      `the server stopped answering mid-run: POST http://prefect.fake/api/block_documents/ failed after 3 attempts: HTTP ${answer.status} ` +
        '(answered by a proxy or load balancer, not by Prefect: the server behind it is not answering). ' +
        'The run stopped there; every object not done is listed. Run it again once the server is back.',
    );
    expect(report.stopped).toEqual({ applied: 13, failed: 1, notDone: 7 });
    expect(report.items.filter((item) => item.error === NOT_DONE)).toHaveLength(7);
    expect(result.stderr).toBe(`error: ${report.error.message}\n`);
  });

  it('does not stop for a server that answers 503 on one object past --retries: that object fails, exit 1', async () => {
    fake.inject({ method: 'POST', path: '/block_documents/', times: 3, status: 503 });
    const result = await run(['--retries', '2', ...OLD_COMMAND_LINE]);
    expect(result.code, result.stdout).toBe(EXIT.applyFailed);
    expect(result.stdout).toContain('secrets: 5 created, 0 updated, 0 unchanged, 1 failed');
    expect(result.stdout).toContain('tag-limits: 2 created');
  });
});

describe('objects another run created since this one read the server', () => {
  it('are reported as found (unchanged, or updated where they differed), not as created by this run', async () => {
    expect((await run()).code).toBe(EXIT.ok);
    // This run reads an empty server (as if it read just before another run created everything).
    fake.inject({ method: 'POST', path: '/variables/filter', status: 200, body: [] });
    fake.inject({ method: 'POST', path: '/v2/concurrency_limits/filter', status: 200, body: [] });
    const result = await run(['--output', 'json', ...OLD_COMMAND_LINE], { SCICAT_ENDPOINT: 'https://scicat-other.example.org' });
    expect(result.code, result.stdout).toBe(EXIT.ok);
    const report = JSON.parse(result.stdout) as { items: Array<{ kind: string; key: string; action: string; outcome: string; note?: string }>; summary: Record<string, Record<string, number>> };
    expect(report.summary.variable).toEqual({ created: 0, updated: 1, deleted: 0, unchanged: 12, failed: 0 });
    // Tag limits are upserts: the answer 200 (not 201) says the limit existed.
    expect(report.summary['tag-limit']).toEqual({ created: 0, updated: 2, deleted: 0, unchanged: 0, failed: 0 });
    const endpoint = report.items.find((item) => item.key === 'scicat_endpoint');
    expect(endpoint).toMatchObject({ action: 'create', outcome: 'updated', note: 'created meanwhile by someone else (another run?); found and updated to the declared state' });
    const region = report.items.find((item) => item.key === 's3_region');
    expect(region).toMatchObject({ action: 'create', outcome: 'unchanged', note: 'created meanwhile by someone else (another run?); found as declared' });
    expect(fake.state.variables.get('scicat_endpoint')?.value).toBe('https://scicat-other.example.org');

    fake.inject({ method: 'POST', path: '/variables/filter', status: 200, body: [] });
    const text = await run();
    expect(text.stdout).toContain('= variable s3_region: created meanwhile by someone else (another run?); found as declared');
    expect(text.stdout).toContain('~ variable scicat_endpoint: created meanwhile by someone else (another run?); found and updated to the declared state');
    expect(text.stdout).toContain('variables: 0 created, 1 updated, 12 unchanged, 0 failed');
  });
});
