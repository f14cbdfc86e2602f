// What a real server will not do on demand: bursts of 503, resets, slow answers, refused
// credentials, a 422 or 500 on one object. Each run ends converged or with an exact per-object
// failure and the documented exit code, and a follow-up run converges.
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLE_ENV, OLD_COMMAND_LINE, SECRET_VALUES, writeSecretFiles } from '../shared/example-cases.js';
import { createPrefectFake } from './prefect-fake.js';

const fake = createPrefectFake();
const authFake = createPrefectFake({ baseUrl: 'http://auth.fake/api', authString: 'admin:pw' });
const server = setupServer(...fake.handlers, ...authFake.handlers);
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
beforeEach(() => {
  fake.reset();
  authFake.reset();
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
