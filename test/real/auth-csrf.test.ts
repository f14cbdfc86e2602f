// Servers with basic auth and with CSRF protection on: each gets its own real Prefect server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrefectServer, type PrefectServer } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLE_ENV, OLD_COMMAND_LINE, writeSecretFiles } from '../shared/example-cases.js';

describe('a server with basic auth', () => {
  let server: PrefectServer;
  const auth = 'admin:s3cret-auth-pass';
  beforeAll(async () => {
    server = await startPrefectServer({ env: { PREFECT_SERVER_API_AUTH_STRING: auth } });
  });
  afterAll(async () => server?.stop());

  it('works with PREFECT_API_AUTH_STRING and is idempotent', async () => {
    const env = { PREFECT_API_URL: server.apiUrl, PREFECT_API_AUTH_STRING: auth, ...writeSecretFiles(), ...EXAMPLE_ENV };
    const first = await runCli(OLD_COMMAND_LINE, { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(EXIT.ok);
    const second = await runCli(OLD_COMMAND_LINE, { env });
    expect(second.code).toBe(EXIT.ok);
    expect(second.writes).toEqual([]);
    expect(first.all + second.all).not.toContain(auth);
    expect(first.all).not.toContain(Buffer.from(auth).toString('base64'));
  });

  it('reads the credential from PREFECT_API_AUTH_STRING_FILE', async () => {
    const files = writeSecretFiles({ AUTH_FILE: auth });
    const env = { PREFECT_API_URL: server.apiUrl, PREFECT_API_AUTH_STRING_FILE: files.AUTH_FILE!, ...writeSecretFiles(), ...EXAMPLE_ENV };
    const result = await runCli(['plan', ...OLD_COMMAND_LINE], { env });
    expect(result.code).toBe(EXIT.ok);
  });

  it('fails with a clear message and the unauthorized code without credentials', async () => {
    const env = { PREFECT_API_URL: server.apiUrl, ...writeSecretFiles(), ...EXAMPLE_ENV };
    const result = await runCli(OLD_COMMAND_LINE, { env });
    expect(result.code).toBe(EXIT.unauthorized);
    expect(result.stderr).toContain('PREFECT_API_AUTH_STRING');
    expect(result.writes).toEqual([]);
  });

  it('fails the same way with wrong credentials', async () => {
    const env = { PREFECT_API_URL: server.apiUrl, PREFECT_API_AUTH_STRING: 'admin:wrong', ...writeSecretFiles(), ...EXAMPLE_ENV };
    const result = await runCli(OLD_COMMAND_LINE, { env });
    expect(result.code).toBe(EXIT.unauthorized);
    expect(result.stderr).toContain('refused');
    expect(result.all).not.toContain('admin:wrong');
  });
});

describe('a server with CSRF protection on', () => {
  let server: PrefectServer;
  beforeAll(async () => {
    server = await startPrefectServer({ env: { PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED: 'true' } });
  });
  afterAll(async () => server?.stop());

  it('obtains a token, applies, and converges', async () => {
    const env = { PREFECT_API_URL: server.apiUrl, ...writeSecretFiles(), ...EXAMPLE_ENV };
    const first = await runCli(OLD_COMMAND_LINE, { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(EXIT.ok);
    expect(first.requests.some((r) => r.path === '/csrf-token' && r.status === 200)).toBe(true);
    // 13 variables, 6 secrets, 2 tag limits, and the ownership record (its block type, schema, document).
    expect(first.writes.length).toBe(24);
    expect(first.writes.every((w) => w.status === 201 || w.status === 200)).toBe(true);
    const second = await runCli(OLD_COMMAND_LINE, { env });
    expect(second.writes).toEqual([]);
  });
});
